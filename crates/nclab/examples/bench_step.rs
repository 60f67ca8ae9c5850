//! Times training steps (forward + CE loss + backward + SGD step) of the nclab models on a fixed
//! random batch, for `scripts/bench-train.sh`; `scripts/bench_train.py` does the same in PyTorch.
//!
//! Usage: `bench_step MODEL [--width W] [--batch B] [--steps N] [--warmup W] [--threads T]
//!         [--device cpu|cuda] [--mode fresh|accumulate] [--malloc tuned|default]`, MODEL = `mlp` (784 -> 3 x 1024 -> 10)
//! or `resnet18` (3 x 32 x 32 -> 10). Prints one line:
//! `nclab MODEL WIDTH median_ms=... mean_ms=... min_ms=... cpu_ms=... steps=N threads=T device=D`
//! (`cpu_ms`: process CPU time per measured step, which other jobs on the machine disturb far
//! less than wall time).
//! `--mode fresh` (default) uses `Sgd::backward_step` (gradients returned by autograd, like
//! PyTorch's `zero_grad(set_to_none=True)`), `accumulate` uses `zero_grad`, `backward`, `step`.
//! `--malloc tuned` (default) applies `nclab::train::malloc::tune_malloc_for_training` first.

use std::time::Instant;

use anyhow::{bail, Context};
use nclab::train::losses::{Loss, LossSpec};
use nclab::train::models::{Model, ModelSpec};
use nclab::train::optim::Sgd;
use nclab_core::hierarchy::Hierarchy;
use tch::{nn, Device, Kind, Tensor};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let model = args
        .next()
        .context("usage: bench_step mlp|resnet18 [options]")?;
    let (mut width, mut batch, mut steps, mut warmup, mut threads) =
        (64i64, 128i64, 20usize, 3usize, 2i32);
    let mut device = Device::Cpu;
    let mut accumulate = false;
    let mut tune_malloc = true;
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--width" => width = value.parse()?,
            "--batch" => batch = value.parse()?,
            "--steps" => steps = value.parse()?,
            "--warmup" => warmup = value.parse()?,
            "--threads" => threads = value.parse()?,
            "--device" => {
                device = match value.as_str() {
                    "cpu" => Device::Cpu,
                    "cuda" if tch::Cuda::is_available() => Device::Cuda(0),
                    "cuda" => bail!("--device cuda: tch sees no CUDA device"),
                    _ => bail!("--device must be cpu or cuda"),
                }
            }
            "--mode" => {
                accumulate = match value.as_str() {
                    "fresh" => false,
                    "accumulate" => true,
                    _ => bail!("--mode must be fresh or accumulate"),
                }
            }
            "--malloc" => {
                tune_malloc = match value.as_str() {
                    "tuned" => true,
                    "default" => false,
                    _ => bail!("--malloc must be tuned or default"),
                }
            }
            _ => bail!("unknown option {flag}"),
        }
    }
    if tune_malloc && !nclab::train::malloc::tune_malloc_for_training() {
        eprintln!("bench_step: could not tune malloc (not glibc?)");
    }
    tch::set_num_threads(threads);
    tch::manual_seed(0);
    let (spec, shape): (ModelSpec, Vec<i64>) = match model.as_str() {
        "mlp" => (ModelSpec::mlp(&[1024, 1024, 1024]), vec![784]),
        "resnet18" => (ModelSpec::resnet18(width), vec![3, 32, 32]),
        _ => bail!("unknown model {model}"),
    };
    let vs = nn::VarStore::new(device);
    let net = Model::try_new(&vs.root(), &spec, &shape, 10)?;
    let loss = Loss::new(&LossSpec::Ce, &Hierarchy::load("flat:10")?, device)?;
    let mut opt = Sgd::new(vs.trainable_variables(), 0.9, 5e-4);
    let mut dims = vec![batch];
    dims.extend(&shape);
    let xs = Tensor::randn(dims.as_slice(), (Kind::Float, device));
    let ys = Tensor::randint(10, [batch], (Kind::Int64, device));

    let mut times = Vec::with_capacity(steps);
    let mut cpu_start = 0.0;
    for i in 0..warmup + steps {
        if i == warmup {
            cpu_start = process_cpu_seconds()?;
        }
        let start = Instant::now();
        let (_, logits) = net.forward_t(&xs, true);
        let l = loss.forward(&logits, &ys);
        if accumulate {
            opt.zero_grad();
            l.backward();
            opt.step(0.0679);
        } else {
            opt.backward_step(&l, 0.0679);
        }
        if device.is_cuda() {
            tch::Cuda::synchronize(0);
        }
        if i >= warmup {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let cpu_ms = (process_cpu_seconds()? - cpu_start) * 1e3 / steps as f64;
    times.sort_by(f64::total_cmp);
    let median = if times.len() % 2 == 1 {
        times[times.len() / 2]
    } else {
        0.5 * (times[times.len() / 2 - 1] + times[times.len() / 2])
    };
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    println!(
        "nclab {model} {width} median_ms={median:.3} mean_ms={mean:.3} min_ms={:.3} cpu_ms={cpu_ms:.3} steps={steps} threads={threads} device={device:?}",
        times[0]
    );
    Ok(())
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
