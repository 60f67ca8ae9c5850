//! The norm of the loss gradient at initialisation, for a config's loss and for CE on the same
//! network and batches: the factor by which a hierarchical loss changes the size of SGD's
//! first steps, to scale a control condition's learning rate by (issue: "an HXE control whose
//! learning rate is scaled so its gradient norm at initialisation matches CE's").
//!
//! Usage: `grad_norm CONFIG [--set KEY=VALUE ...] [--batches N]`. The network is the config's
//! initial one (its seed), the batches the first N (default 20) of its first epoch. Prints,
//! per loss, the mean over the batches of `||grad_theta L||_2` (all parameters), and the ratio
//! CE / this loss: the learning-rate factor that gives this loss CE's initial step size.

use anyhow::{bail, Context};
use nclab_core::rng::Rng;
use nclab_runs::config::Config;
use nclab_train::dataset;
use nclab_train::losses::{Loss, LossSpec, LossTree};
use nclab_train::models::Model;
use nclab_train::trainer::model_spec;
use tch::{nn::VarStore, Device, Kind, Tensor};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .context("usage: grad_norm CONFIG [--set K=V ...] [--batches N]")?;
    let (mut sets, mut batches) = (Vec::new(), 20usize);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--set" => sets.push(value),
            "--batches" => batches = value.parse()?,
            _ => bail!("unknown option {flag}"),
        }
    }
    let config = Config::load(std::path::Path::new(&path), &sets)?;
    let k = config.num_classes();
    let (hierarchy, own) = config.hierarchies()?;
    let tree = LossTree::from_hierarchy(own.as_ref().unwrap_or(&hierarchy));
    tch::manual_seed(config.seed as i64);
    let data = dataset::load(&config, Device::Cpu, false)?;
    let vs = VarStore::new(Device::Cpu);
    let model = Model::try_new(
        &vs.root(),
        &model_spec(&config),
        &data.input_shape,
        k as i64,
    )?;
    let params = vs.trainable_variables();
    let steps = (data.num_train() / config.optim.batch_size).min(batches);
    let plan = data.plan_epoch(&mut Rng::new(config.seed), config.optim.batch_size, steps);
    let norm_of = |spec: &LossSpec| -> anyhow::Result<f64> {
        let loss = Loss::from_tree(spec, &tree, Device::Cpu)?;
        let mut total = 0.0;
        for s in 0..steps {
            let (x, y) = data.train_batch(&plan, s);
            let l = loss.forward(&model.forward_train(&x, Kind::Float), &y);
            let grads = Tensor::run_backward(&[l], &params, false, false);
            let sq: f64 = grads
                .iter()
                .map(|g| g.square().sum(Kind::Double).double_value(&[]))
                .sum();
            total += sq.sqrt();
        }
        Ok(total / steps as f64)
    };
    let spec = config.loss_spec();
    let (ce, this) = (norm_of(&LossSpec::Ce)?, norm_of(&spec)?);
    println!("config {path} {}", sets.join(" "));
    println!("mean gradient norm at initialisation over {steps} batches:");
    println!("  ce           {ce:.6}");
    println!("  {:<12} {this:.6}", config.loss.kind);
    println!(
        "learning-rate factor ce / {} = {:.4}",
        config.loss.kind,
        ce / this
    );
    Ok(())
}
