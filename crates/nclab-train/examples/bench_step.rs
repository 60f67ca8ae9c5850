//! Times training steps (forward + CE loss + backward + SGD step) of the nclab models, for
//! `scripts/bench-train.sh` and `scripts/gpu-bench.sh`; `scripts/bench_train.py` does the same
//! in PyTorch.
//!
//! Usage: `bench_step MODEL [--width W] [--batch B] [--steps N] [--warmup W] [--threads T]
//!         [--device cpu|cuda] [--precision f32|bf16] [--channels-last]
//!         [--epoch N [--epochs E] [--augment]] [--mode fresh|accumulate]
//!         [--malloc tuned|default]`,
//! MODEL = `mlp` (784 -> 3 x 1024 -> 10) or `resnet18` (3 x 32 x 32 -> 10).
//!
//! Two measurements:
//! * step mode (default): `steps` steps on one fixed random batch, after `warmup` steps. Prints
//!   `nclab MODEL WIDTH median_ms=... mean_ms=... min_ms=... cpu_ms=... steps=N threads=T
//!   device=D` (`cpu_ms`: process CPU time per measured step, which other jobs on the machine
//!   disturb far less than wall time).
//! * epoch mode (`--epoch N`): `E` epochs (default 3, the first a warm-up) over `N` random u8
//!   images resident on the device, through the trainer's own epoch (`nclab_train::epoch`:
//!   a shuffle per epoch, batches gathered and normalised on the device, crops and flips with
//!   `--augment`, the running loss and accuracy kept), the last incomplete batch dropped. Prints
//!   `nclab MODEL WIDTH epoch_s=... ms_per_step=... steps=S ... device=D` with the median of
//!   the timed epochs.
//!
//! `--mode fresh` (default) uses `Sgd::backward_step` (gradients returned by autograd, like
//! PyTorch's `zero_grad(set_to_none=True)`), `accumulate` uses `zero_grad`, `backward`, `step`.
//! `--malloc tuned` (default) applies `nclab_train::malloc::tune_malloc_for_training` first.

use std::time::Instant;

use anyhow::{bail, Context};
use nclab_core::data::{Dataset, Inputs, Split};
use nclab_core::hierarchy::Hierarchy;
use nclab_core::rng::Rng;
use nclab_train::dataset::{to_channels_last, DeviceData};
use nclab_train::epoch::Stepper;
use nclab_train::losses::{Loss, LossSpec};
use nclab_train::models::{convert_to_channels_last, Model, ModelSpec};
use nclab_train::optim::Sgd;
use nclab_train::progress::Reporter;
use tch::{nn, Device, Kind, Tensor};

struct Options {
    model: String,
    width: i64,
    batch: i64,
    steps: usize,
    warmup: usize,
    threads: i32,
    device: Device,
    precision: Kind,
    channels_last: bool,
    epoch: Option<usize>,
    epochs: usize,
    augment: bool,
    accumulate: bool,
    tune_malloc: bool,
}

fn parse() -> anyhow::Result<Options> {
    let mut args = std::env::args().skip(1);
    let model = args
        .next()
        .context("usage: bench_step mlp|resnet18 [options]")?;
    let mut o = Options {
        model,
        width: 64,
        batch: 128,
        steps: 20,
        warmup: 3,
        threads: 2,
        device: Device::Cpu,
        precision: Kind::Float,
        channels_last: false,
        epoch: None,
        epochs: 3,
        augment: false,
        accumulate: false,
        tune_malloc: true,
    };
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--channels-last" => {
                o.channels_last = true;
                continue;
            }
            "--augment" => {
                o.augment = true;
                continue;
            }
            _ => {}
        }
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--width" => o.width = value.parse()?,
            "--batch" => o.batch = value.parse()?,
            "--steps" => o.steps = value.parse()?,
            "--warmup" => o.warmup = value.parse()?,
            "--threads" => o.threads = value.parse()?,
            "--epoch" => o.epoch = Some(value.parse()?),
            "--epochs" => o.epochs = value.parse::<usize>()?.max(2),
            "--device" => {
                o.device = match value.as_str() {
                    "cpu" => Device::Cpu,
                    "cuda" if tch::Cuda::is_available() => Device::Cuda(0),
                    "cuda" => bail!("--device cuda: tch sees no CUDA device"),
                    _ => bail!("--device must be cpu or cuda"),
                }
            }
            "--precision" => {
                o.precision = match value.as_str() {
                    "f32" => Kind::Float,
                    "bf16" => Kind::BFloat16,
                    _ => bail!("--precision must be f32 or bf16"),
                }
            }
            "--mode" => {
                o.accumulate = match value.as_str() {
                    "fresh" => false,
                    "accumulate" => true,
                    _ => bail!("--mode must be fresh or accumulate"),
                }
            }
            "--malloc" => {
                o.tune_malloc = match value.as_str() {
                    "tuned" => true,
                    "default" => false,
                    _ => bail!("--malloc must be tuned or default"),
                }
            }
            _ => bail!("unknown option {flag}"),
        }
    }
    Ok(o)
}

fn main() -> anyhow::Result<()> {
    let o = parse()?;
    if o.tune_malloc && !nclab_train::malloc::tune_malloc_for_training() {
        eprintln!("bench_step: could not tune malloc (not glibc?)");
    }
    tch::set_num_threads(o.threads);
    tch::manual_seed(0);
    if o.device.is_cuda() {
        tch::Cuda::cudnn_set_benchmark(true);
    }
    let (spec, shape): (ModelSpec, Vec<i64>) = match o.model.as_str() {
        "mlp" => (ModelSpec::mlp(&[1024, 1024, 1024]), vec![1, 28, 28]),
        "resnet18" => (ModelSpec::resnet18(o.width), vec![3, 32, 32]),
        m => bail!("unknown model {m}"),
    };
    let vs = nn::VarStore::new(o.device);
    let net = Model::try_new(&vs.root(), &spec, &shape, 10)?;
    if o.channels_last {
        convert_to_channels_last(&vs);
    }
    let loss = Loss::new(&LossSpec::Ce, &Hierarchy::load("flat:10")?, o.device)?;
    let mut opt = Sgd::new(vs.trainable_variables(), 0.9, 5e-4);
    let sync = || {
        if o.device.is_cuda() {
            tch::Cuda::synchronize(0);
        }
    };
    let head = format!("nclab {} {}", o.model, o.width);
    let tail = format!(
        "threads={} device={:?} precision={} channels_last={}",
        o.threads,
        o.device,
        if o.precision == Kind::Float {
            "f32"
        } else {
            "bf16"
        },
        o.channels_last
    );

    if let Some(n) = o.epoch {
        let train = random_images(n, &shape);
        let test = random_images(10, &shape);
        let data = DeviceData::new(&train, &test, o.device, o.augment, o.channels_last);
        let (batch, steps) = (o.batch as usize, n / o.batch as usize);
        let mut rng = Rng::new(0);
        let mut times = Vec::new();
        let mut stepper = Stepper {
            model: &net,
            loss: &loss,
            sgd: &mut opt,
            precision: o.precision,
        };
        let quiet = Reporter::new(true, false);
        for e in 0..o.epochs {
            sync();
            let start = Instant::now();
            let plan = data.plan_epoch(&mut rng, batch, steps);
            stepper.epoch(&data, &plan, 0.0679, &quiet);
            sync();
            if e > 0 {
                times.push(start.elapsed().as_secs_f64());
            }
        }
        let epoch_s = median(&mut times);
        println!(
            "{head} epoch_s={epoch_s:.3} ms_per_step={:.3} steps={steps} images={n} augment={} {tail}",
            1e3 * epoch_s / steps as f64,
            o.augment
        );
        return Ok(());
    }

    let mut step = |x: &Tensor, y: &Tensor| {
        let l = loss.forward(&net.forward_train(x, o.precision), y);
        if o.accumulate {
            opt.zero_grad();
            l.backward();
            opt.step(0.0679);
        } else {
            opt.backward_step(&l, 0.0679);
        }
    };
    let mut dims = vec![o.batch];
    dims.extend(&shape);
    let xs = Tensor::randn(dims.as_slice(), (Kind::Float, o.device));
    let xs = if o.channels_last && shape.len() == 3 {
        to_channels_last(&xs)
    } else {
        xs
    };
    let ys = Tensor::randint(10, [o.batch], (Kind::Int64, o.device));
    let mut times = Vec::with_capacity(o.steps);
    let mut cpu_start = 0.0;
    for i in 0..o.warmup + o.steps {
        if i == o.warmup {
            cpu_start = process_cpu_seconds()?;
        }
        let start = Instant::now();
        step(&xs, &ys);
        sync();
        if i >= o.warmup {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let cpu_ms = (process_cpu_seconds()? - cpu_start) * 1e3 / o.steps as f64;
    let med = median(&mut times);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "{head} median_ms={med:.3} mean_ms={mean:.3} min_ms={:.3} cpu_ms={cpu_ms:.3} steps={} {tail}",
        times[0], o.steps
    );
    Ok(())
}

/// `n` random u8 images of `shape` (`[C, H, W]`) with random labels of 10 classes.
fn random_images(n: usize, shape: &[i64]) -> Dataset {
    let len: usize = shape.iter().product::<i64>() as usize;
    let mut rng = Rng::new(1);
    Dataset {
        name: "random".into(),
        split: Split::Train,
        inputs: Inputs::Images {
            data: (0..n * len).map(|_| rng.below(256) as u8).collect(),
            channels: shape[0] as usize,
            height: shape[1] as usize,
            width: shape[2] as usize,
        },
        labels: (0..n).map(|_| rng.below(10) as u32).collect(),
        class_names: (0..10).map(|c| format!("c{c}")).collect(),
        coarse_labels: None,
        coarse_names: None,
    }
}

/// The median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        0.5 * (v[m - 1] + v[m])
    }
}

/// CPU time (user + system) of this process so far, in seconds, from `/proc/self/stat`
/// (fields 14 and 15, in clock ticks of 1/100 s): unlike wall time it does not count the time
/// spent waiting for a core that other jobs hold.
fn process_cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    let rest = stat.rsplit_once(')').context("/proc/self/stat: no ')'")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3, so fields 14 and 15 are at indices 11 and 12.
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    Ok(ticks / 100.0)
}
