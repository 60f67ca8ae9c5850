//! `checkpoint.safetensors`: everything a killed run needs to continue exactly where it was.
//!
//! Entries:
//! * `model.<var>`: every variable of the model's `VarStore`, trainable or not (so BatchNorm's
//!   running mean and variance are included);
//! * `optim.buf.<i>`: SGD's momentum buffers (see `Sgd::state`);
//! * `meta.epoch` (i64): the last completed epoch;
//! * `meta.rng` (4 x i64): the state of nclab's shuffling generator, bits as stored;
//! * `meta.tpt_epoch`, `meta.stable_tpt_epoch` (i64, -1 = not reached), `meta.elapsed_s`, `meta.train_s`,
//!   `meta.data_s`, `meta.analysis_s`, `meta.checkpoint_s` (f64), and `meta.train_images`
//!   (i64): the running totals that summary.json reports.
//!
//! libtorch's own generator is used only to initialise the model, so its state is not needed:
//! a resumed run loads the variables instead.
//!
//! The file is written to a temporary sibling and renamed, so a kill during the write leaves
//! the previous checkpoint intact. The write runs on a background thread ([`Writer`]) while
//! the next epoch trains; a run killed meanwhile resumes from the previous epoch's checkpoint
//! and drops the rows after it (`--resume` retrains that epoch, exactly as before).

use std::path::Path;

use anyhow::{bail, Context};
use tch::{nn::VarStore, Kind, Tensor};

use super::optim::Sgd;
use nclab_core::io::write_atomic_with;

/// The training state besides the model and the optimiser.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub epoch: usize,
    pub rng: [u64; 4],
    pub tpt_epoch: Option<usize>,
    /// The first check (a TPT check or an analysis epoch) of the current streak of checks
    /// that found zero training error: the stable TPT so far.
    pub stable_tpt_epoch: Option<usize>,
    /// Wall time of the run so far.
    pub elapsed_s: f64,
    /// Time in training steps (forward, backward, update) only.
    pub train_s: f64,
    /// Time shuffling and gathering batches.
    pub data_s: f64,
    /// Time in the analyses (evaluation passes, metrics, writing rows).
    pub analysis_s: f64,
    /// Time writing checkpoints.
    pub checkpoint_s: f64,
    pub train_images: u64,
}

impl Progress {
    /// The progress of a run that has not trained yet: its generator seeded with `seed`.
    pub fn start(seed: u64) -> Progress {
        Progress {
            epoch: 0,
            rng: nclab_core::rng::Rng::new(seed).state(),
            tpt_epoch: None,
            stable_tpt_epoch: None,
            elapsed_s: 0.0,
            train_s: 0.0,
            data_s: 0.0,
            analysis_s: 0.0,
            checkpoint_s: 0.0,
            train_images: 0,
        }
    }
}

/// Writes checkpoints on a background thread, so that training goes on while the file is
/// written. `save` copies the state first (the copy is what gets written, whatever the
/// training does next) and waits for the previous write, so at most one is in flight and
/// every file on disk is a complete checkpoint of one epoch; `wait` reports a failed write.
#[derive(Default)]
pub struct Writer {
    pending: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl Writer {
    /// Snapshots the model, the optimiser and `progress`, and writes them to `path` atomically
    /// in the background. Returns the error of the previous write, if it failed.
    pub fn save(
        &mut self,
        path: &Path,
        vs: &VarStore,
        sgd: &Sgd,
        progress: &Progress,
    ) -> anyhow::Result<()> {
        self.wait()?;
        let entries = snapshot(vs, sgd, progress);
        let path = path.to_path_buf();
        self.pending = Some(std::thread::spawn(move || write_atomic(&path, &entries)));
        Ok(())
    }

    /// Waits for the write in flight, if any, and returns its result.
    pub fn wait(&mut self) -> anyhow::Result<()> {
        match self.pending.take() {
            Some(handle) => handle
                .join()
                .map_err(|_| anyhow::anyhow!("the checkpoint writer thread panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // An error here has no one to go to; `wait` is called on every normal path.
        let _ = self.wait();
    }
}

/// A host copy of every checkpoint entry (never sharing storage with the live tensors).
fn snapshot(vs: &VarStore, sgd: &Sgd, progress: &Progress) -> Vec<(String, Tensor)> {
    // Contiguous, for the file (channels-last weights and their momentum are not).
    let host = |t: &Tensor| {
        let t = t.detach();
        let h = if t.device() == tch::Device::Cpu {
            t.copy()
        } else {
            t.to_device(tch::Device::Cpu)
        };
        if h.is_contiguous() {
            h
        } else {
            h.contiguous()
        }
    };
    let mut entries: Vec<(String, Tensor)> = Vec::new();
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, t) in vars {
        entries.push((format!("model.{name}"), host(&t)));
    }
    for (name, t) in sgd.state() {
        entries.push((name, host(&t)));
    }
    let rng: Vec<i64> = progress.rng.iter().map(|&s| s as i64).collect();
    entries.push(("meta.epoch".into(), Tensor::from(progress.epoch as i64)));
    entries.push(("meta.rng".into(), Tensor::from_slice(&rng)));
    entries.push((
        "meta.tpt_epoch".into(),
        Tensor::from(progress.tpt_epoch.map_or(-1, |e| e as i64)),
    ));
    entries.push((
        "meta.stable_tpt_epoch".into(),
        Tensor::from(progress.stable_tpt_epoch.map_or(-1, |e| e as i64)),
    ));
    entries.push(("meta.elapsed_s".into(), Tensor::from(progress.elapsed_s)));
    entries.push(("meta.train_s".into(), Tensor::from(progress.train_s)));
    entries.push(("meta.data_s".into(), Tensor::from(progress.data_s)));
    entries.push(("meta.analysis_s".into(), Tensor::from(progress.analysis_s)));
    entries.push((
        "meta.checkpoint_s".into(),
        Tensor::from(progress.checkpoint_s),
    ));
    entries.push((
        "meta.train_images".into(),
        Tensor::from(progress.train_images as i64),
    ));
    entries
}

fn write_atomic(path: &Path, entries: &[(String, Tensor)]) -> anyhow::Result<()> {
    write_safetensors_atomic(path, entries).context("cannot write the checkpoint")
}

/// Writes tensors as a safetensors file with `nclab_core::io::write_atomic_with` (a
/// temporary file of its own, flushed, renamed, the folder flushed; removed on error).
pub fn write_safetensors_atomic<S: AsRef<str>, T: AsRef<Tensor>>(
    path: &Path,
    entries: &[(S, T)],
) -> anyhow::Result<()> {
    Ok(write_atomic_with(path, |tmp| {
        Tensor::write_safetensors(entries, tmp.path()).map_err(std::io::Error::other)
    })?)
}

/// Loads a checkpoint into `vs` and `sgd` and returns the progress it recorded. Errors name the
/// file and the entry (missing, unexpected, or of the wrong shape).
pub fn load(path: &Path, vs: &mut VarStore, sgd: &mut Sgd) -> anyhow::Result<Progress> {
    let what = path.display().to_string();
    let entries =
        Tensor::read_safetensors(path).with_context(|| format!("cannot read checkpoint {what}"))?;
    let mut model = std::collections::HashMap::new();
    let mut optim = Vec::new();
    let mut meta = std::collections::HashMap::new();
    for (name, t) in entries {
        if let Some(var) = name.strip_prefix("model.") {
            model.insert(var.to_string(), t);
        } else if name.starts_with("optim.") {
            optim.push((name, t));
        } else if let Some(key) = name.strip_prefix("meta.") {
            meta.insert(key.to_string(), t);
        } else {
            bail!("{what}: unexpected entry {name:?}");
        }
    }
    let mut vars = vs.variables();
    for (name, var) in vars.iter_mut() {
        let src = model
            .remove(name)
            .with_context(|| format!("{what}: no entry for model variable model.{name}"))?;
        if src.size() != var.size() {
            bail!(
                "{what}: model.{name} has shape {:?}, the model expects {:?}",
                src.size(),
                var.size()
            );
        }
        tch::no_grad(|| var.copy_(&src.to_device(var.device()).to_kind(var.kind())));
    }
    if let Some(extra) = model.keys().next() {
        bail!("{what}: model.{extra} is not a variable of this model (another config?)");
    }
    sgd.load_state(&optim).with_context(|| what.clone())?;
    let get = |key: &str| -> anyhow::Result<&Tensor> {
        meta.get(key).with_context(|| {
            format!(
                "{what}: no entry meta.{key}: the checkpoint was written by another version of \
                 nclab (or is damaged); resume it with the nclab that started the run, or train \
                 again into a new directory"
            )
        })
    };
    let int =
        |key: &str| -> anyhow::Result<i64> { Ok(get(key)?.to_kind(Kind::Int64).int64_value(&[])) };
    let float = |key: &str| -> anyhow::Result<f64> {
        Ok(get(key)?.to_kind(Kind::Double).double_value(&[]))
    };
    let rng_t = get("rng")?;
    if rng_t.size() != [4] {
        bail!(
            "{what}: meta.rng must hold 4 values, has shape {:?}",
            rng_t.size()
        );
    }
    let rng_v = Vec::<i64>::try_from(rng_t.to_kind(Kind::Int64))?;
    let tpt = int("tpt_epoch")?;
    let stable = int("stable_tpt_epoch")?;
    Ok(Progress {
        epoch: usize::try_from(int("epoch")?).context("meta.epoch is negative")?,
        rng: [
            rng_v[0] as u64,
            rng_v[1] as u64,
            rng_v[2] as u64,
            rng_v[3] as u64,
        ],
        tpt_epoch: (tpt >= 0).then_some(tpt as usize),
        stable_tpt_epoch: (stable >= 0).then_some(stable as usize),
        elapsed_s: float("elapsed_s")?,
        train_s: float("train_s")?,
        data_s: float("data_s")?,
        analysis_s: float("analysis_s")?,
        checkpoint_s: float("checkpoint_s")?,
        train_images: int("train_images")? as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `Writer::save` writes is a copy of the state at the call, so the live tensors may
    /// change while the background write goes on; `load` gives it back.
    #[test]
    fn a_background_checkpoint_holds_the_state_at_the_call() {
        let dir = nclab_testkit::scratch("checkpoint-background");
        let path = dir.join("checkpoint.safetensors");
        let vs = VarStore::new(tch::Device::Cpu);
        let w = vs
            .root()
            .var_copy("w", &Tensor::from_slice(&[1.0f32, 2.0, 3.0]));
        let sgd = Sgd::new(vs.trainable_variables(), 0.9, 0.0);
        let progress = Progress {
            epoch: 7,
            rng: [1, 2, u64::MAX, 4],
            tpt_epoch: Some(5),
            stable_tpt_epoch: Some(6),
            elapsed_s: 1.5,
            train_s: 1.0,
            data_s: 0.25,
            analysis_s: 0.125,
            checkpoint_s: 0.0625,
            train_images: 640,
        };
        // The snapshot is a copy: changing the live variable leaves it alone.
        let snap = snapshot(&vs, &sgd, &progress);
        let change = || {
            tch::no_grad(|| {
                let mut w = w.shallow_clone();
                let _ = w.fill_(-9.0);
            })
        };
        change();
        assert_eq!(
            Vec::<f32>::try_from(&snap[0].1).unwrap(),
            vec![1.0, 2.0, 3.0]
        );
        tch::no_grad(|| {
            let mut w = w.shallow_clone();
            w.copy_(&snap[0].1);
        });

        let mut writer = Writer::default();
        writer.save(&path, &vs, &sgd, &progress).unwrap();
        change();
        writer.wait().unwrap();

        let mut vs2 = VarStore::new(tch::Device::Cpu);
        let w2 = vs2
            .root()
            .var_copy("w", &Tensor::from_slice(&[0.0f32, 0.0, 0.0]));
        let mut sgd2 = Sgd::new(vs2.trainable_variables(), 0.9, 0.0);
        let loaded = load(&path, &mut vs2, &mut sgd2).unwrap();
        assert_eq!(loaded, progress);
        assert_eq!(Vec::<f32>::try_from(&w2).unwrap(), vec![1.0, 2.0, 3.0]);
        // No temporary file is left beside it.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["checkpoint.safetensors"]);

        // A checkpoint of an older nclab, without meta.stable_tpt_epoch, is refused with a
        // message that names the entry and says what to do.
        let old: Vec<(String, Tensor)> = snapshot(&vs, &sgd, &progress)
            .into_iter()
            .filter(|(name, _)| name != "meta.stable_tpt_epoch")
            .collect();
        write_safetensors_atomic(&path, &old).unwrap();
        let err = format!("{:#}", load(&path, &mut vs2, &mut sgd2).unwrap_err());
        assert!(
            err.contains("no entry meta.stable_tpt_epoch")
                && err.contains("another version of nclab")
                && err.contains("resume it with the nclab that started the run"),
            "{err}"
        );
    }
}
