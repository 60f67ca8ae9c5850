//! `checkpoint.safetensors`: everything a killed run needs to continue exactly where it was.
//!
//! Entries:
//! * `model.<var>`: every variable of the model's `VarStore`, trainable or not (so BatchNorm's
//!   running mean and variance are included);
//! * `optim.buf.<i>`: SGD's momentum buffers (see `Sgd::state`);
//! * `meta.epoch` (i64): the last completed epoch;
//! * `meta.rng` (4 x i64): the state of nclab's shuffling generator, bits as stored;
//! * `meta.tpt_epoch` (i64, -1 = not reached), `meta.elapsed_s`, `meta.train_s` (f64), and
//!   `meta.train_images` (i64): the running totals that summary.json reports.
//!
//! libtorch's own generator is used only to initialise the model, so its state is not needed:
//! a resumed run loads the variables instead.
//!
//! The file is written to a temporary sibling and renamed, so a kill during the write leaves
//! the previous checkpoint intact.

use std::path::Path;

use anyhow::{bail, Context};
use tch::{nn::VarStore, Kind, Tensor};

use super::optim::Sgd;
use super::run_dir::temp_sibling;

/// The training state besides the model and the optimiser.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub epoch: usize,
    pub rng: [u64; 4],
    pub tpt_epoch: Option<usize>,
    pub elapsed_s: f64,
    pub train_s: f64,
    pub train_images: u64,
}

/// Writes the checkpoint atomically.
pub fn save(path: &Path, vs: &VarStore, sgd: &Sgd, progress: &Progress) -> anyhow::Result<()> {
    let mut entries: Vec<(String, Tensor)> = Vec::new();
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, t) in vars {
        entries.push((
            format!("model.{name}"),
            t.detach().to_device(tch::Device::Cpu),
        ));
    }
    for (name, t) in sgd.state() {
        entries.push((name, t.to_device(tch::Device::Cpu)));
    }
    let rng: Vec<i64> = progress.rng.iter().map(|&s| s as i64).collect();
    entries.push(("meta.epoch".into(), Tensor::from(progress.epoch as i64)));
    entries.push(("meta.rng".into(), Tensor::from_slice(&rng)));
    entries.push((
        "meta.tpt_epoch".into(),
        Tensor::from(progress.tpt_epoch.map_or(-1, |e| e as i64)),
    ));
    entries.push(("meta.elapsed_s".into(), Tensor::from(progress.elapsed_s)));
    entries.push(("meta.train_s".into(), Tensor::from(progress.train_s)));
    entries.push((
        "meta.train_images".into(),
        Tensor::from(progress.train_images as i64),
    ));
    let tmp = temp_sibling(path);
    Tensor::write_safetensors(&entries, &tmp)
        .with_context(|| format!("cannot write checkpoint {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move checkpoint into place at {}", path.display()))?;
    Ok(())
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
        meta.get(key)
            .with_context(|| format!("{what}: no entry meta.{key}"))
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
    Ok(Progress {
        epoch: usize::try_from(int("epoch")?).context("meta.epoch is negative")?,
        rng: [
            rng_v[0] as u64,
            rng_v[1] as u64,
            rng_v[2] as u64,
            rng_v[3] as u64,
        ],
        tpt_epoch: (tpt >= 0).then_some(tpt as usize),
        elapsed_s: float("elapsed_s")?,
        train_s: float("train_s")?,
        train_images: int("train_images")? as u64,
    })
}
