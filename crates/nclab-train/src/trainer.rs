//! The training loop of docs/protocol.md: SGD over shuffled batches (the last incomplete batch
//! dropped), the learning-rate schedule, an analysis at each analysis epoch, a checkpoint after
//! each epoch, and at the end `summary.json` and `final.safetensors`.
//!
//! On the CPU a run is a deterministic function of its config: libtorch's generator is seeded
//! with `seed` (it only initialises the model, always on the CPU, so every device starts from
//! the same network) and the shuffles and augmentations come from nclab's own generator,
//! seeded with `seed` as well and saved in the checkpoint, so a resumed run continues the
//! same stream of batches. On a GPU the same run differs only by floating-point rounding
//! (and, with `cudnn_benchmark`, by cuDNN's choice of algorithms).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use nclab_core::metrics::TreeMatrices;
use nclab_core::rng::Rng;
use tch::{nn::VarStore, Device, Kind, Tensor};

use nclab_core::metrics::mistakes::MistakeEvaluator;

use super::analysis::{self, MetricContext, Outputs};
use super::checkpoint::{self, Progress};
use super::dataset::{self, DeviceData};
use super::epoch::Stepper;
use super::losses::{Loss, LossTree};
use super::models::{convert_to_channels_last, Model, ModelSpec};
use super::optim::{learning_rate, Schedule, Sgd};
use super::progress::{Banner, Reporter};
use nclab_runs::config::{Config, DeviceChoice, LossKind, Precision};
use nclab_runs::predictions;
use nclab_runs::run_dir::{self, Row, RunDir, Status, Summary};

/// How `train` runs, besides the config.
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// The run directory.
    pub out: PathBuf,
    /// Continue the run in `out` from its checkpoint.
    pub resume: bool,
    /// No progress bars; only the one-line rows of the analysis epochs.
    pub quiet: bool,
    /// Every column in the table of the analysis epochs, not only those that fit 80 columns.
    pub wide: bool,
    /// Stop (as if killed) after this epoch, leaving a resumable run. For tests.
    pub stop_after_epoch: Option<usize>,
}

/// The result of a run: its summary (its [`Status`] says how it ended) and directory.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub summary: Summary,
    pub dir: PathBuf,
}

/// The device a config asks for: `auto` takes CUDA when libtorch sees a GPU.
pub fn resolve_device(choice: DeviceChoice) -> anyhow::Result<Device> {
    Ok(match choice {
        DeviceChoice::Cpu => Device::Cpu,
        DeviceChoice::Cuda => {
            if !tch::Cuda::is_available() {
                bail!("key `device`: \"cuda\" was asked for but libtorch sees no CUDA device");
            }
            Device::Cuda(0)
        }
        DeviceChoice::Auto => Device::cuda_if_available(),
    })
}

/// The model of the config.
pub fn model_spec(config: &Config) -> ModelSpec {
    ModelSpec {
        kind: config.model.kind,
        widths: config.model.widths.clone(),
        width: config.model.width,
    }
}

/// Runs (or resumes) a training run as configured, writing the run directory `opts.out`.
///
/// libtorch's generator and thread count are process-wide: two runs in one process must not
/// overlap, or the same seed no longer gives the same run.
pub fn train(config: &Config, opts: &TrainOptions) -> anyhow::Result<Outcome> {
    let wall_start = Instant::now();
    // Everything that can be checked without data is checked before the directory is touched.
    let fixed = Fixed::new(config)?;
    let (dir, lock) = RunDir::lock(&opts.out, opts.resume, run_dir::NCLAB_TRAIN)?;
    if opts.resume {
        check_same_config(config, &dir.path)?;
        if let Some(done) = already_finished(&dir)? {
            nclab_runs::errln!(
                "{}: the run had already finished; nothing to do",
                dir.path.display()
            );
            return Ok(done);
        }
    }
    let run = match Run::set_up(config, opts, fixed, dir, wall_start) {
        Ok(run) => run,
        Err(err) => {
            if !opts.resume {
                // Nothing of a new run was written yet: leave no directory behind.
                lock.abandon();
            }
            return Err(err);
        }
    };
    let outcome = run.train();
    drop(lock);
    outcome
}

/// A finished run (its summary says so and `final.safetensors` is there) as it stands: resuming
/// it changes nothing, not even the timings. `None` for a run that can go on.
fn already_finished(dir: &RunDir) -> anyhow::Result<Option<Outcome>> {
    if !dir.file(run_dir::FINAL).exists() {
        return Ok(None);
    }
    let Some(value) = run_dir::read_summary(&dir.path)? else {
        return Ok(None);
    };
    let summary: run_dir::Summary = serde_json::from_value(value).with_context(|| {
        format!(
            "{}: not a run summary",
            dir.file(run_dir::SUMMARY).display()
        )
    })?;
    Ok((summary.status == Status::Finished).then(|| Outcome {
        summary,
        dir: dir.path.clone(),
    }))
}

/// What the config fixes before any data is read.
struct Fixed {
    k: usize,
    /// The loss's tree: `loss.hierarchy` when set, else `hierarchy`.
    loss_tree: LossTree,
    tree: TreeMatrices,
    mistakes: MistakeEvaluator,
    analysis_epochs: Vec<usize>,
    device: Device,
}

impl Fixed {
    fn new(config: &Config) -> anyhow::Result<Fixed> {
        let k = config.num_classes();
        let (hierarchy, own) = config.hierarchies()?;
        Ok(Fixed {
            k,
            loss_tree: LossTree::from_hierarchy(own.as_ref().unwrap_or(&hierarchy)),
            tree: TreeMatrices::from_hierarchy(&hierarchy, config.analysis.coarse_depth),
            mistakes: analysis::mistake_evaluator(&hierarchy)?,
            analysis_epochs: config.analysis_epochs()?,
            device: resolve_device(config.device)?,
        })
    }
}

/// A run in progress: its data, network, optimiser, progress and outputs.
struct Run<'a> {
    config: &'a Config,
    opts: &'a TrainOptions,
    fixed: Fixed,
    dir: RunDir,
    data: DeviceData,
    loss: Loss,
    vs: VarStore,
    model: Model,
    sgd: Sgd,
    precision: Kind,
    /// Positions in `model.layer_names()` of the layers of `analysis.layers`.
    layers: Vec<usize>,
    progress: Progress,
    rng: Rng,
    reporter: Reporter,
    checkpoints: checkpoint::Writer,
    /// The outputs and the row of the last analysis epoch.
    last: Option<Measured>,
    last_row: Option<Row>,
    wall_start: Instant,
    elapsed_before: f64,
    steps: usize,
}

/// The train and test outputs of an analysis, with the classifier.
struct Measured {
    train: Outputs,
    test: Outputs,
    weights: Vec<f32>,
    bias: Vec<f64>,
}

/// How an epoch ended.
enum EpochEnd {
    Continue,
    /// Diverged or stopped as asked: the run ends with this outcome.
    Stop(Box<Outcome>),
}

impl<'a> Run<'a> {
    /// Loads the data, builds the network and the optimiser (from the checkpoint when
    /// resuming), and writes `config.toml` for a new run.
    fn set_up(
        config: &'a Config,
        opts: &'a TrainOptions,
        fixed: Fixed,
        dir: RunDir,
        wall_start: Instant,
    ) -> anyhow::Result<Run<'a>> {
        if config.threads > 0 {
            tch::set_num_threads(config.threads as i32);
        }
        tch::manual_seed(config.seed as i64);
        let (k, device) = (fixed.k, fixed.device);
        let (data, steps) = load_data(config, k, device)?;
        let loss = Loss::from_tree(&config.loss_spec(), &fixed.loss_tree, device)
            .with_context(|| format!("loss.kind = {:?}", config.loss.kind.as_str()))?;
        let Network {
            mut vs,
            model,
            layers,
        } = Network::build(config, &data, k, device)?;
        let precision = match config.precision {
            Precision::F32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
        };
        let mut sgd = Sgd::new(
            vs.trainable_variables(),
            config.optim.momentum,
            config.optim.weight_decay,
        );
        let reporter = Reporter::new(opts.quiet, opts.wide);
        let progress = start_progress(config, opts, &dir, &reporter, &mut vs, &mut sgd)?;
        Ok(Run {
            config,
            opts,
            fixed,
            dir,
            data,
            loss,
            vs,
            model,
            sgd,
            precision,
            layers,
            rng: Rng::from_state(progress.rng),
            elapsed_before: progress.elapsed_s,
            progress,
            reporter,
            checkpoints: checkpoint::Writer::default(),
            last: None,
            last_row: None,
            wall_start,
            steps,
        })
    }

    /// Prints the banner: run directory, device, data sizes, model size, schedule and
    /// analysis epochs.
    fn banner(&self) {
        let (w, _) = self.model.classifier();
        let banner = Banner {
            dir: &self.dir.path,
            resumed_after: self.progress.epoch,
            device: device_name(self.fixed.device),
            threads: tch::get_num_threads() as i64,
            n_train: self.data.num_train(),
            n_test: self.data.num_test(),
            d: w.size()[1] as usize,
            k: self.fixed.k,
            parameters: self
                .vs
                .trainable_variables()
                .iter()
                .map(|t| t.numel() as i64)
                .sum(),
            config: self.config,
            analysis_epochs: &self.fixed.analysis_epochs,
        };
        for line in banner.lines() {
            self.reporter.line(&line);
        }
    }

    /// The banner, every remaining epoch, then the final outputs and the summary.
    fn train(mut self) -> anyhow::Result<Outcome> {
        self.banner();
        for epoch in self.progress.epoch + 1..=self.config.optim.epochs {
            if let EpochEnd::Stop(outcome) = self.epoch(epoch)? {
                return Ok(*outcome);
            }
        }
        self.finish()
    }

    /// One epoch: the training steps, then the analysis (or the TPT check), the checkpoint.
    fn epoch(&mut self, epoch: usize) -> anyhow::Result<EpochEnd> {
        let (config, epochs) = (self.config, self.config.optim.epochs);
        let lr = learning_rate(config.optim.schedule, config.optim.lr, epoch - 1, epochs);
        let batch = config.optim.batch_size;
        let t_data = Instant::now();
        let plan = self.data.plan_epoch(&mut self.rng, batch, self.steps);
        self.progress.data_s += t_data.elapsed().as_secs_f64();
        self.reporter.start_epoch(epoch, epochs, self.steps as u64);
        let mut stepper = Stepper {
            model: &self.model,
            loss: &self.loss,
            sgd: &mut self.sgd,
            precision: self.precision,
        };
        let stats = stepper.epoch(&self.data, &plan, lr, &self.reporter);
        self.reporter.finish_epoch();
        self.progress.data_s += stats.data_s;
        self.progress.train_s += stats.train_s;
        if let Some(sig) = nclab_runs::interrupt::requested() {
            // The epoch in flight is dropped: the checkpoint of the last whole one stays.
            let kept = match self.progress.epoch {
                0 => "no epoch was finished, so --resume starts from the beginning".to_string(),
                e => format!("the checkpoint of epoch {e} is kept"),
            };
            self.reporter.line(&format!(
                "stopped by {} in epoch {epoch}; {kept}",
                nclab_runs::interrupt::name(sig)
            ));
            return Ok(EpochEnd::Stop(Box::new(
                self.stop(Status::Interrupted, None)?,
            )));
        }
        if stats.diverged_at_step.is_some() || !stats.loss.is_finite() {
            let step = stats
                .diverged_at_step
                .map_or(String::new(), |s| format!(" at step {s}"));
            self.reporter.line(&format!(
                "training diverged in epoch {epoch}{step}: the loss is {} (not finite); \
                 keeping the checkpoint of epoch {}",
                stats.loss, self.progress.epoch
            ));
            return Ok(EpochEnd::Stop(Box::new(
                self.stop(Status::Diverged, Some(epoch))?,
            )));
        }
        self.progress.train_images += (self.steps * batch) as u64;
        if self.fixed.analysis_epochs.binary_search(&epoch).is_ok() {
            self.analyse(epoch, lr)?;
        } else if self.progress.tpt_epoch.is_none() && stats.accuracy >= config.analysis.tpt_check {
            self.check_tpt(epoch);
        }
        self.progress.epoch = epoch;
        self.progress.rng = self.rng.state();
        self.progress.elapsed_s = self.elapsed();
        let t_ckpt = Instant::now();
        let path = self.dir.file(run_dir::CHECKPOINT);
        self.checkpoints
            .save(&path, &self.vs, &self.sgd, &self.progress)?;
        self.progress.checkpoint_s += t_ckpt.elapsed().as_secs_f64();
        if self.opts.stop_after_epoch == Some(epoch) && epoch < epochs {
            return Ok(EpochEnd::Stop(Box::new(self.stop(Status::Running, None)?)));
        }
        Ok(EpochEnd::Continue)
    }

    /// An analysis epoch: the metrics row (and the layers' rows), and the TPT bookkeeping.
    fn analyse(&mut self, epoch: usize, lr: f64) -> anyhow::Result<()> {
        let t_analysis = Instant::now();
        let (m, layer_features) = measure_outputs(self, &self.layers);
        let mut row: Row = vec![
            ("epoch".into(), Some(epoch as f64)),
            ("lr".into(), Some(lr)),
            ("elapsed_s".into(), Some(self.elapsed())),
            ("train_loss".into(), Some(m.train.loss)),
            ("train_acc".into(), Some(m.train.accuracy)),
            ("test_loss".into(), Some(m.test.loss)),
            ("test_acc".into(), Some(m.test.accuracy)),
        ];
        let ctx = MetricContext {
            weights: &m.weights,
            bias: &m.bias,
            tree: &self.fixed.tree,
            mse_weight_decay: (self.config.loss.kind == LossKind::Mse)
                .then_some(self.config.optim.weight_decay),
        };
        row.extend(analysis::collapse_columns(&m.train, &m.test, &ctx)?);
        row.extend(analysis::mistake_columns(&m.test, &self.fixed.mistakes)?);
        self.dir.append_row(&row)?;
        if !layer_features.is_empty() {
            let names = self.model.layer_names();
            let rows = analysis::layer_rows(&layer_features, &self.layers, &names, &m.train)?;
            self.dir.append_layer_rows(epoch, &rows)?;
        }
        self.reporter.analysis_row(&row);
        self.record_check(epoch, m.train.accuracy == 1.0);
        self.last_row = Some(row);
        self.last = Some(m);
        self.progress.analysis_s += t_analysis.elapsed().as_secs_f64();
        Ok(())
    }

    /// Between analysis epochs, until TPT is found: is the training error (eval mode, whole
    /// set) 0 yet? In training-sized batches, so that a set with mistakes is rejected early.
    fn check_tpt(&mut self, epoch: usize) {
        let t_check = Instant::now();
        let b = self
            .config
            .optim
            .batch_size
            .min(self.config.analysis.batch_size);
        let zero_error = analysis::all_correct(&self.model, &self.data.train, b);
        self.record_check(epoch, zero_error);
        self.progress.analysis_s += t_check.elapsed().as_secs_f64();
    }

    /// A check of the training error at `epoch`: TPT is the first epoch with zero error, the
    /// stable TPT the first of the last streak of checks that all found zero error.
    fn record_check(&mut self, epoch: usize, zero_error: bool) {
        let p = &mut self.progress;
        if zero_error {
            p.tpt_epoch.get_or_insert(epoch);
            p.stable_tpt_epoch.get_or_insert(epoch);
        } else {
            p.stable_tpt_epoch = None;
        }
    }

    /// Ends the run early (diverged, or stopped as asked): waits for the checkpoint in
    /// flight, writes the summary.
    fn stop(&mut self, status: Status, diverged: Option<usize>) -> anyhow::Result<Outcome> {
        self.checkpoints.wait()?;
        self.progress.elapsed_s = self.elapsed();
        let summary = make_summary(
            self.config,
            self.fixed.device,
            status,
            diverged,
            &self.progress,
            &self.last_row,
        );
        self.dir.write_summary(&summary)?;
        Ok(Outcome {
            summary,
            dir: self.dir.path.clone(),
        })
    }

    /// After the last epoch: `final.safetensors` and the summary. The last epoch is always an
    /// analysis epoch; a finished run whose final.safetensors was removed re-measures it from
    /// the checkpoint when resumed.
    fn finish(mut self) -> anyhow::Result<Outcome> {
        let m = match self.last.take() {
            Some(m) => m,
            None => measure_outputs(&self, &[]).0,
        };
        if self.last_row.is_none() {
            self.last_row = last_row_from_csv(&self.dir)?;
        }
        write_final(&self.dir, &m.train, &m.test, &m.weights, &m.bias)?;
        analysis::test_predictions(&m.test, &self.fixed.mistakes)?
            .write(&self.dir.file(predictions::FILE))?;
        let t_ckpt = Instant::now();
        self.checkpoints.wait()?;
        self.progress.checkpoint_s += t_ckpt.elapsed().as_secs_f64();
        self.stop(Status::Finished, None)
    }

    /// Wall time of the whole run so far, resumed parts included.
    fn elapsed(&self) -> f64 {
        self.elapsed_before + self.wall_start.elapsed().as_secs_f64()
    }
}

/// Loads the data of the config onto `device`, and the number of SGD steps of an epoch,
/// `floor(n_train / batch_size)`. Errors: data with other than `k` classes, or a batch
/// larger than the training set (no complete batch).
fn load_data(config: &Config, k: usize, device: Device) -> anyhow::Result<(DeviceData, usize)> {
    let data = dataset::load(config, device, config.channels_last)?;
    if data.num_classes != k {
        bail!(
            "data.name = {:?}: the data has {} classes, expected {k}",
            config.data.name.as_str(),
            data.num_classes
        );
    }
    let steps = data.num_train() / config.optim.batch_size;
    if steps == 0 {
        bail!(
            "key `optim.batch_size`: {} is larger than the training set ({} samples), so \
             no batch would be complete",
            config.optim.batch_size,
            data.num_train()
        );
    }
    Ok((data, steps))
}

/// The network of a run: its variables, the model, and the positions in
/// `model.layer_names()` of the layers of `analysis.layers`.
struct Network {
    vs: VarStore,
    model: Model,
    layers: Vec<usize>,
}

impl Network {
    /// Builds the model of the config for `data` and `k` classes: initialised on the CPU from
    /// libtorch's CPU generator, then moved to `device` (so a seed gives the same initial
    /// network on every device), in channels-last layout when asked; on CUDA, cuDNN's
    /// benchmark mode is set as configured.
    fn build(
        config: &Config,
        data: &DeviceData,
        k: usize,
        device: Device,
    ) -> anyhow::Result<Network> {
        // Reuse freed activation blocks instead of fresh zeroed pages (see train::malloc).
        super::malloc::tune_malloc_for_training();
        let mut vs = VarStore::new(Device::Cpu);
        let model = Model::try_new(&vs.root(), &model_spec(config), &data.input_shape, k as i64)
            .context("[model]")?;
        let layers = resolve_layers(&config.analysis.layers, &model.layer_names())?;
        vs.set_device(device);
        if config.channels_last {
            convert_to_channels_last(&vs);
        }
        if device.is_cuda() {
            tch::Cuda::cudnn_set_benchmark(config.cudnn_benchmark);
        }
        Ok(Network { vs, model, layers })
    }
}

/// Where the run starts: from the checkpoint when resuming one (the rows of `metrics.csv`
/// after its epoch are dropped, with a note), else from epoch 0 with the config's seed. A
/// resumed run killed before its first checkpoint starts over in the same directory (all rows
/// dropped); a new run writes `config.toml` first.
fn start_progress(
    config: &Config,
    opts: &TrainOptions,
    dir: &RunDir,
    reporter: &Reporter,
    vs: &mut VarStore,
    sgd: &mut Sgd,
) -> anyhow::Result<Progress> {
    let ckpt_path = dir.file(run_dir::CHECKPOINT);
    if opts.resume && ckpt_path.exists() {
        let p = checkpoint::load(&ckpt_path, vs, sgd)?;
        for note in dir.truncate_rows_after(p.epoch)? {
            reporter.line(&note);
        }
        return Ok(p);
    }
    if opts.resume {
        // Killed before its first checkpoint: start over in the same directory.
        for note in dir.truncate_rows_after(0)? {
            reporter.line(&note);
        }
    } else {
        dir.write_atomic(run_dir::CONFIG, config.to_toml_string().as_bytes())?;
    }
    Ok(Progress::start(config.seed))
}

/// The positions in `names` of the layers of `analysis.layers` (`["all"]`: every one); an
/// unknown name is an error naming the model's layers.
fn resolve_layers(wanted: &[String], names: &[String]) -> anyhow::Result<Vec<usize>> {
    if wanted.iter().any(|w| w == "all") {
        return Ok((0..names.len()).collect());
    }
    wanted
        .iter()
        .map(|w| {
            names.iter().position(|n| n == w).with_context(|| {
                format!(
                    "key `analysis.layers`: this model has no layer {w:?} (its layers: {}, or \
                     \"all\")",
                    names.join(", ")
                )
            })
        })
        .collect()
}

/// Train and test outputs in eval mode, the classifier's weights (`K x d`) and bias, and the
/// training set's outputs of the layers at positions `layers`.
fn measure_outputs(run: &Run<'_>, layers: &[usize]) -> (Measured, Vec<Vec<f32>>) {
    let b = run.config.analysis.batch_size;
    let (train, layer_features) =
        analysis::evaluate_with_layers(&run.model, &run.loss, &run.data.train, b, layers);
    let test = analysis::evaluate(&run.model, &run.loss, &run.data.test, b);
    let (w, bias) = run.model.classifier();
    let weights = analysis::to_vec_f32(&w);
    let bias: Vec<f64> = analysis::to_vec_f32(&bias)
        .into_iter()
        .map(|v| v as f64)
        .collect();
    let m = Measured {
        train,
        test,
        weights,
        bias,
    };
    (m, layer_features)
}

/// Writes `final.safetensors`: features, labels and logits of both sets, and the classifier.
fn write_final(
    dir: &RunDir,
    train: &Outputs,
    test: &Outputs,
    weights: &[f32],
    bias: &[f64],
) -> anyhow::Result<()> {
    let labels = |o: &Outputs| {
        let v: Vec<i64> = o.labels.iter().map(|&c| c as i64).collect();
        Tensor::from_slice(&v)
    };
    let mat = |v: &[f32], r: usize, c: usize| Tensor::from_slice(v).reshape([r as i64, c as i64]);
    let bias32: Vec<f32> = bias.iter().map(|&b| b as f32).collect();
    let entries: Vec<(&str, Tensor)> = vec![
        ("train.features", mat(&train.features, train.n, train.d)),
        ("train.labels", labels(train)),
        ("train.logits", mat(&train.logits, train.n, train.k)),
        ("test.features", mat(&test.features, test.n, test.d)),
        ("test.labels", labels(test)),
        ("test.logits", mat(&test.logits, test.n, test.k)),
        ("weights", mat(weights, train.k, train.d)),
        ("bias", Tensor::from_slice(&bias32)),
    ];
    checkpoint::write_safetensors_atomic(&dir.file(run_dir::FINAL), &entries)
}

fn make_summary(
    config: &Config,
    device: Device,
    status: Status,
    diverged_at_epoch: Option<usize>,
    progress: &Progress,
    last_row: &Option<Row>,
) -> Summary {
    let first_decay = match config.optim.schedule {
        Schedule::Step => config.optim.epochs / 3,
        Schedule::Cosine | Schedule::Constant => config.optim.epochs,
    };
    let mut fin = serde_json::Map::new();
    if let Some(row) = last_row {
        for (k, v) in row {
            fin.insert(k.clone(), nclab_runs::numbers::json(*v));
        }
    }
    Summary {
        name: config.name.clone(),
        seed: config.seed,
        dataset: config.data.name.as_str().into(),
        model: config.model.kind.as_str().into(),
        loss: config.loss.kind.as_str().into(),
        hierarchy: config.hierarchy.clone(),
        loss_hierarchy: config.loss.hierarchy.clone(),
        status,
        diverged_at_epoch,
        epochs: config.optim.epochs,
        tpt_epoch: progress.tpt_epoch,
        stable_tpt_epoch: progress.stable_tpt_epoch,
        reached_tpt_before_first_decay: progress.tpt_epoch.is_some_and(|e| e <= first_decay),
        wall_time_s: progress.elapsed_s,
        train_images_per_s: if progress.train_s > 0.0 {
            progress.train_images as f64 / progress.train_s
        } else {
            0.0
        },
        overhead_share: if progress.elapsed_s > 0.0 {
            (1.0 - progress.train_s / progress.elapsed_s).max(0.0)
        } else {
            0.0
        },
        train_steps_s: progress.train_s,
        data_s: progress.data_s,
        analysis_s: progress.analysis_s,
        checkpoint_s: progress.checkpoint_s,
        device: device_name(device),
        r#final: fin,
    }
}

/// `cpu`, `cuda:0`, ...: the device as `summary.json` and the banner name it.
fn device_name(device: Device) -> String {
    match device {
        Device::Cpu => "cpu".into(),
        Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// The last row of `metrics.csv` (for a resumed run that had already trained every epoch).
fn last_row_from_csv(dir: &RunDir) -> anyhow::Result<Option<Row>> {
    let path = dir.file(run_dir::METRICS_JSONL);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(None);
    };
    let Some(line) = text.lines().last() else {
        return Ok(None);
    };
    let obj: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
        .with_context(|| format!("{}: last line is not a JSON object", path.display()))?;
    Ok(Some(
        obj.into_iter().map(|(k, v)| (k, v.as_f64())).collect(),
    ))
}

/// A resumed run must use the config it started with; the error names the keys that differ.
fn check_same_config(config: &Config, dir: &Path) -> anyhow::Result<()> {
    let old = Config::of_run(dir)?;
    if &old == config {
        return Ok(());
    }
    bail!(
        "cannot resume {}: the config differs from the run's in {}",
        dir.display(),
        config.differences(&old).join(", ")
    )
}
