//! The training loop of spec/training.md: SGD over shuffled batches (the last incomplete batch
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
use nclab_core::hierarchy::Hierarchy;
use nclab_core::metrics::TreeMatrices;
use nclab_core::rng::Rng;
use tch::{nn::VarStore, Device, Kind, Tensor};

use super::analysis::{self, MetricContext, Outputs};
use super::checkpoint::{self, Progress};
use super::dataset::{self, DeviceData};
use super::epoch::Stepper;
use super::losses::{Loss, LossTree};
use super::models::{convert_to_channels_last, Model, ModelSpec};
use super::optim::{learning_rate, Schedule, Sgd};
use super::progress::Reporter;
use nclab_runs::config::{flatten, Config, DeviceChoice, LossKind, Precision};
use nclab_runs::run_dir::{self, Row, RunDir, Summary};

/// How `train` runs, besides the config.
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// The run directory.
    pub out: PathBuf,
    /// Continue the run in `out` from its checkpoint.
    pub resume: bool,
    /// No progress bars; only the one-line rows of the analysis epochs.
    pub quiet: bool,
    /// Stop (as if killed) after this epoch, leaving a resumable run. For tests.
    pub stop_after_epoch: Option<usize>,
}

/// The result of a run: its summary (status `finished`, `diverged` or `running` when stopped
/// early) and directory.
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

/// The hierarchy of the config for data with `k` classes; the error names the key.
pub fn resolve_hierarchy(config: &Config, k: usize) -> anyhow::Result<Hierarchy> {
    let h = Hierarchy::resolve(&config.hierarchy, Some(k))
        .with_context(|| format!("key `hierarchy` ({:?})", config.hierarchy))?;
    h.check_num_classes(k).with_context(|| {
        format!(
            "key `hierarchy` ({:?}) does not match data.name = {:?}",
            config.hierarchy,
            config.data.name.as_str()
        )
    })?;
    Ok(h)
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
    let k = config.num_classes();
    let hierarchy = resolve_hierarchy(config, k)?;
    let tree = TreeMatrices::from_hierarchy(&hierarchy, config.analysis.coarse_depth);
    let mistakes = analysis::mistake_evaluator(&hierarchy)?;
    let spec = config.loss_spec();
    let schedule = config.optim.schedule;
    let analysis_epochs = config.analysis_epochs()?;
    let device = resolve_device(config.device)?;

    let dir = if opts.resume {
        let dir = RunDir::open_existing(&opts.out)?;
        check_same_config(config, &dir.file(run_dir::CONFIG))?;
        dir
    } else {
        let dir = RunDir::create(&opts.out)?;
        dir.write_atomic(run_dir::CONFIG, config.to_toml_string().as_bytes())?;
        dir
    };
    if config.threads > 0 {
        tch::set_num_threads(config.threads as i32);
    }
    tch::manual_seed(config.seed as i64);

    let data = dataset::load(config, device, config.channels_last)?;
    if data.num_classes != k {
        bail!(
            "data.name = {:?}: the data has {} classes, expected {k}",
            config.data.name.as_str(),
            data.num_classes
        );
    }
    let loss = Loss::from_tree(&spec, &LossTree::from_hierarchy(&hierarchy), device)
        .with_context(|| format!("loss.kind = {:?}", config.loss.kind.as_str()))?;

    // Reuse freed activation blocks instead of fresh zeroed pages (see train::malloc).
    super::malloc::tune_malloc_for_training();
    // Initialised on the CPU from libtorch's CPU generator, then moved: a seed gives the same
    // initial network on every device.
    let mut vs = VarStore::new(Device::Cpu);
    let model = Model::try_new(&vs.root(), &model_spec(config), &data.input_shape, k as i64)
        .context("[model]")?;
    vs.set_device(device);
    if config.channels_last {
        convert_to_channels_last(&vs);
    }
    if device.is_cuda() {
        tch::Cuda::cudnn_set_benchmark(config.cudnn_benchmark);
    }
    let precision = match config.precision {
        Precision::F32 => Kind::Float,
        Precision::Bf16 => Kind::BFloat16,
    };
    let mut sgd = Sgd::new(
        vs.trainable_variables(),
        config.optim.momentum,
        config.optim.weight_decay,
    );

    let ckpt_path = dir.file(run_dir::CHECKPOINT);
    let mut progress = if opts.resume && ckpt_path.exists() {
        let p = checkpoint::load(&ckpt_path, &mut vs, &mut sgd)?;
        dir.truncate_rows_after(p.epoch)?;
        p
    } else {
        if opts.resume {
            // Killed before its first checkpoint: start over in the same directory.
            dir.truncate_rows_after(0)?;
        }
        Progress {
            epoch: 0,
            rng: Rng::new(config.seed).state(),
            tpt_epoch: None,
            elapsed_s: 0.0,
            train_s: 0.0,
            data_s: 0.0,
            analysis_s: 0.0,
            checkpoint_s: 0.0,
            train_images: 0,
        }
    };
    let elapsed_before = progress.elapsed_s;
    let mut ckpt_writer = checkpoint::Writer::default();
    let mut rng = Rng::from_state(progress.rng);
    let epochs = config.optim.epochs;
    let mut reporter = Reporter::new(opts.quiet);
    let mut last: Option<(Outputs, Outputs, Vec<f32>, Vec<f64>)> = None;
    let mut last_row: Option<Row> = None;
    let n = data.num_train();
    let batch = config.optim.batch_size;
    let steps = n / batch;
    if steps == 0 {
        bail!(
            "key `optim.batch_size`: {batch} is larger than the training set ({n} samples), \
             so no batch would be complete"
        );
    }
    let mut stepper = Stepper {
        model: &model,
        loss: &loss,
        sgd: &mut sgd,
        precision,
    };
    let summary_of =
        |status: &str, diverged: Option<usize>, progress: &Progress, last_row: &Option<Row>| {
            make_summary(config, device, status, diverged, progress, last_row)
        };

    for epoch in progress.epoch + 1..=epochs {
        let lr = learning_rate(schedule, config.optim.lr, epoch - 1, epochs);
        let t_data = Instant::now();
        let plan = data.plan_epoch(&mut rng, batch, steps);
        progress.data_s += t_data.elapsed().as_secs_f64();
        reporter.start_epoch(epoch, epochs, steps as u64);
        let stats = stepper.epoch(&data, &plan, lr, &reporter);
        reporter.finish_epoch();
        progress.data_s += stats.data_s;
        progress.train_s += stats.train_s;
        let (bad_step, epoch_loss) = (stats.diverged_at_step, stats.loss);
        if bad_step.is_some() || !epoch_loss.is_finite() {
            let step = bad_step.map_or("".to_string(), |s| format!(" at step {s}"));
            reporter.line(&format!(
                "training diverged in epoch {epoch}{step}: the loss is {epoch_loss} \
                 (not finite); keeping the checkpoint of epoch {}",
                progress.epoch
            ));
            ckpt_writer.wait()?;
            progress.elapsed_s = elapsed_before + wall_start.elapsed().as_secs_f64();
            let summary = summary_of("diverged", Some(epoch), &progress, &last_row);
            dir.write_summary(&summary)?;
            return Ok(Outcome {
                summary,
                dir: dir.path.clone(),
            });
        }
        progress.train_images += (steps * batch) as u64;

        let running_acc = stats.accuracy;
        if analysis_epochs.binary_search(&epoch).is_ok() {
            let t_analysis = Instant::now();
            let (train_out, test_out, weights, bias) =
                measure_outputs(config, &model, &loss, &data);
            let elapsed = elapsed_before + wall_start.elapsed().as_secs_f64();
            let mut row: Row = vec![
                ("epoch".into(), Some(epoch as f64)),
                ("lr".into(), Some(lr)),
                ("elapsed_s".into(), Some(elapsed)),
                ("train_loss".into(), Some(train_out.loss)),
                ("train_acc".into(), Some(train_out.accuracy)),
                ("test_loss".into(), Some(test_out.loss)),
                ("test_acc".into(), Some(test_out.accuracy)),
            ];
            let ctx = MetricContext {
                weights: &weights,
                bias: &bias,
                tree: &tree,
                mse_weight_decay: (config.loss.kind == LossKind::Mse)
                    .then_some(config.optim.weight_decay),
            };
            row.extend(analysis::collapse_columns(&train_out, &test_out, &ctx)?);
            row.extend(analysis::mistake_columns(&test_out, &mistakes)?);
            dir.append_row(&row)?;
            reporter.analysis_row(&row);
            if progress.tpt_epoch.is_none() && train_out.accuracy == 1.0 {
                progress.tpt_epoch = Some(epoch);
            }
            last_row = Some(row);
            last = Some((train_out, test_out, weights, bias));
            progress.analysis_s += t_analysis.elapsed().as_secs_f64();
        } else if progress.tpt_epoch.is_none() && running_acc >= config.analysis.tpt_check {
            // Between analysis epochs: is the training error (eval mode, whole set) 0 yet? In
            // training-sized batches, so that a set with mistakes is rejected early.
            let t_check = Instant::now();
            let b = config.optim.batch_size.min(config.analysis.batch_size);
            if analysis::all_correct(&model, &data.train, b) {
                progress.tpt_epoch = Some(epoch);
            }
            progress.analysis_s += t_check.elapsed().as_secs_f64();
        }

        progress.epoch = epoch;
        progress.rng = rng.state();
        progress.elapsed_s = elapsed_before + wall_start.elapsed().as_secs_f64();
        let t_ckpt = Instant::now();
        ckpt_writer.save(&ckpt_path, &vs, stepper.sgd, &progress)?;
        progress.checkpoint_s += t_ckpt.elapsed().as_secs_f64();
        if opts.stop_after_epoch == Some(epoch) && epoch < epochs {
            ckpt_writer.wait()?;
            let summary = summary_of("running", None, &progress, &last_row);
            dir.write_summary(&summary)?;
            return Ok(Outcome {
                summary,
                dir: dir.path.clone(),
            });
        }
    }

    // The last epoch is always an analysis epoch; a run resumed after it has finished
    // re-measures from the checkpoint.
    let (train_out, test_out, weights, bias) = match last {
        Some(v) => v,
        None => measure_outputs(config, &model, &loss, &data),
    };
    if last_row.is_none() {
        last_row = last_row_from_csv(&dir)?;
    }
    write_final(&dir, &train_out, &test_out, &weights, &bias)?;
    let t_ckpt = Instant::now();
    ckpt_writer.wait()?;
    progress.checkpoint_s += t_ckpt.elapsed().as_secs_f64();
    progress.elapsed_s = elapsed_before + wall_start.elapsed().as_secs_f64();
    let summary = summary_of("finished", None, &progress, &last_row);
    dir.write_summary(&summary)?;
    Ok(Outcome {
        summary,
        dir: dir.path.clone(),
    })
}

/// Train and test outputs in eval mode, and the classifier's weights (`K x d`) and bias.
fn measure_outputs(
    config: &Config,
    model: &Model,
    loss: &Loss,
    data: &DeviceData,
) -> (Outputs, Outputs, Vec<f32>, Vec<f64>) {
    let b = config.analysis.batch_size;
    let train_out = analysis::evaluate(model, loss, &data.train, b);
    let test_out = analysis::evaluate(model, loss, &data.test, b);
    let (w, bias) = model.classifier();
    let weights = analysis::to_vec_f32(&w);
    let bias: Vec<f64> = analysis::to_vec_f32(&bias)
        .into_iter()
        .map(|v| v as f64)
        .collect();
    (train_out, test_out, weights, bias)
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
    status: &str,
    diverged_at_epoch: Option<usize>,
    progress: &Progress,
    last_row: &Option<Row>,
) -> Summary {
    let first_decay = match config.optim.schedule {
        Schedule::Step => config.optim.epochs / 3,
        _ => config.optim.epochs,
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
        status: status.into(),
        diverged_at_epoch,
        epochs: config.optim.epochs,
        tpt_epoch: progress.tpt_epoch,
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
        device: match device {
            Device::Cpu => "cpu".into(),
            Device::Cuda(i) => format!("cuda:{i}"),
            other => format!("{other:?}").to_lowercase(),
        },
        r#final: fin,
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
fn check_same_config(config: &Config, saved: &Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(saved)
        .with_context(|| format!("cannot read {}", saved.display()))?;
    let old = Config::from_toml_str(&text, &[]).with_context(|| saved.display().to_string())?;
    if &old == config {
        return Ok(());
    }
    let flat = |c: &Config| flatten(&toml::from_str(&c.to_toml_string()).unwrap());
    let (a, b) = (flat(&old), flat(config));
    let differing: Vec<String> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| format!("{} ({} -> {})", x.0, x.1, y.1))
        .collect();
    bail!(
        "cannot resume {}: the config differs from the run's in {}",
        saved.parent().unwrap_or(saved).display(),
        differing.join(", ")
    )
}
