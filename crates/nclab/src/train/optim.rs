//! SGD with momentum and weight decay, exactly as `torch.optim.SGD` (dampening 0, not
//! Nesterov), and the learning-rate schedules of training.md.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, ensure, Context};
use tch::{Device, Kind, Tensor};

/// Stochastic gradient descent with heavy-ball momentum and L2 weight decay.
///
/// For each parameter `p` with gradient `g`, at learning rate `lr`:
/// ```text
/// d_p = g + weight_decay * p
/// buf = d_p                          (first step of this parameter)
/// buf = momentum * buf + d_p         (later steps)
/// p   = p - lr * buf                 (p - lr * d_p when momentum = 0)
/// ```
/// which is `torch.optim.SGD(params, lr, momentum, dampening=0, weight_decay,
/// nesterov=False)`. Parameters without a gradient are skipped and keep their buffer, as in
/// PyTorch. The results equal PyTorch's up to float rounding (PyTorch fuses `a + alpha * b`
/// into one rounding where this computes the product and the sum separately).
#[derive(Debug)]
pub struct Sgd {
    params: Vec<Tensor>,
    momentum: f64,
    weight_decay: f64,
    bufs: Vec<Option<Tensor>>,
}

impl Sgd {
    /// An optimiser over `params` (e.g. `VarStore::trainable_variables()`), with no momentum
    /// buffers yet.
    pub fn new(params: Vec<Tensor>, momentum: f64, weight_decay: f64) -> Self {
        let bufs = params.iter().map(|_| None).collect();
        Sgd {
            params,
            momentum,
            weight_decay,
            bufs,
        }
    }

    /// The parameters, in the order of the momentum buffers.
    pub fn params(&self) -> &[Tensor] {
        &self.params
    }

    /// Sets every existing parameter gradient to zero (`.grad` keeps its storage).
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            p.zero_grad();
        }
    }

    /// One update from the gradients accumulated in the parameters' `.grad` (after
    /// `loss.backward()`), at learning rate `lr`. The gradients are left untouched.
    pub fn step(&mut self, lr: f64) {
        let grads: Vec<Option<Tensor>> = self
            .params
            .iter()
            .map(|p| {
                let g = p.grad();
                g.defined().then_some(g)
            })
            .collect();
        self.update(grads, false, lr);
    }

    /// Backward pass of `loss` and one update, at learning rate `lr`: the same result as
    /// `zero_grad(); loss.backward(); step(lr)`, but the gradients are returned by autograd
    /// as fresh tensors instead of being accumulated into `.grad`, which saves zeroing and
    /// accumulating them (PyTorch's `zero_grad(set_to_none=True)`). `.grad` is not written.
    /// Every parameter must take part in `loss`.
    pub fn backward_step(&mut self, loss: &Tensor, lr: f64) {
        let grads = Tensor::run_backward(&[loss], &self.params, false, false);
        self.update(grads.into_iter().map(Some).collect(), true, lr);
    }

    /// The update rule of the type's doc. `owned`: the gradients are ours to overwrite.
    fn update(&mut self, grads: Vec<Option<Tensor>>, owned: bool, lr: f64) {
        let _guard = tch::no_grad_guard();
        let mut scalars = Scalars::default();
        for ((p, buf), g) in self.params.iter_mut().zip(self.bufs.iter_mut()).zip(grads) {
            let Some(mut g) = g else { continue };
            // d_p = g + weight_decay * p
            let mut d_p = if self.weight_decay != 0.0 {
                let wd = scalars.get(self.weight_decay, p);
                if owned {
                    let _ = g.addcmul_(p, &wd);
                    g
                } else {
                    g.addcmul(p, &wd)
                }
            } else {
                g
            };
            if self.momentum != 0.0 {
                match buf {
                    Some(b) => {
                        let _ = b.g_mul_scalar_(self.momentum).g_add_(&d_p);
                    }
                    // The first buffer is a copy of d_p; d_p is `.grad` itself when it was
                    // not rewritten above, so it must be copied then.
                    None => {
                        *buf = Some(if owned || self.weight_decay != 0.0 {
                            d_p
                        } else {
                            d_p.copy()
                        })
                    }
                }
                d_p = buf.as_ref().expect("set above").shallow_clone();
            }
            let neg_lr = scalars.get(-lr, p);
            let _ = p.addcmul_(&d_p, &neg_lr);
        }
    }

    /// The momentum buffers that exist, named `optim.buf.{i}` with `i` the parameter's index
    /// (a parameter that never received a gradient has none).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.bufs
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.as_ref()
                    .map(|b| (format!("optim.buf.{i}"), b.detach().copy()))
            })
            .collect()
    }

    /// Replaces the momentum buffers by `state` (as written by [`Sgd::state`]; the buffers it
    /// does not name are cleared). Errors name the entry: an unknown name, an index past the
    /// parameters, a duplicate, a shape that differs from its parameter's. Nothing is changed
    /// on error.
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> anyhow::Result<()> {
        let mut bufs: Vec<Option<Tensor>> = self.params.iter().map(|_| None).collect();
        for (name, t) in state {
            let index: usize = name
                .strip_prefix("optim.buf.")
                .and_then(|i| i.parse().ok())
                .with_context(|| {
                    format!("optimizer state: unknown entry {name:?} (expected optim.buf.<index>)")
                })?;
            let Some(p) = self.params.get(index) else {
                bail!(
                    "optimizer state: {name:?} names parameter {index}, but there are only {}",
                    self.params.len()
                );
            };
            ensure!(
                bufs[index].is_none(),
                "optimizer state: {name:?} appears twice"
            );
            ensure!(
                t.size() == p.size(),
                "optimizer state: {name:?} has shape {:?}, its parameter has shape {:?}",
                t.size(),
                p.size()
            );
            bufs[index] = Some(t.to_device(p.device()).to_kind(p.kind()).detach().copy());
        }
        self.bufs = bufs;
        Ok(())
    }
}

/// 0-dim tensors holding the step's scalar factors, made once per (value, device, kind).
#[derive(Default)]
struct Scalars(Vec<(u64, Device, Kind, Tensor)>);

impl Scalars {
    fn get(&mut self, value: f64, like: &Tensor) -> Tensor {
        let (device, kind) = (like.device(), like.kind());
        let key = value.to_bits();
        if let Some((.., t)) = self
            .0
            .iter()
            .find(|(v, d, k, _)| *v == key && *d == device && *k == kind)
        {
            return t.shallow_clone();
        }
        let t = Tensor::from(value).to_kind(kind).to_device(device);
        self.0.push((key, device, kind, t.shallow_clone()));
        t
    }
}

/// How the learning rate changes with the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// `x0.1` at epoch `floor(E/3)` and again at `floor(2E/3)`.
    Step,
    /// Cosine annealing from the base rate towards 0.
    Cosine,
    /// The base rate throughout.
    Constant,
}

impl FromStr for Schedule {
    type Err = anyhow::Error;

    /// `"step"`, `"cosine"` or `"constant"`.
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s {
            "step" => Ok(Schedule::Step),
            "cosine" => Ok(Schedule::Cosine),
            "constant" => Ok(Schedule::Constant),
            _ => bail!("unknown schedule {s:?} (expected \"step\", \"cosine\" or \"constant\")"),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Schedule::Step => "step",
            Schedule::Cosine => "cosine",
            Schedule::Constant => "constant",
        })
    }
}

/// The learning rate of epoch `epoch` (counted from 0) of a run of `epochs` epochs:
/// * `Step`: `base_lr * 0.1^m`, `m` = how many of the milestones `floor(E/3)` and
///   `floor(2E/3)` are `<= epoch` (E = 350: epochs 0..=115 at `base_lr`, 116..=232 at
///   `base_lr/10`, 233.. at `base_lr/100`);
/// * `Cosine`: `base_lr * (1 + cos(pi * epoch / E)) / 2` (`base_lr` at epoch 0);
/// * `Constant`: `base_lr`.
pub fn learning_rate(schedule: Schedule, base_lr: f64, epoch: usize, epochs: usize) -> f64 {
    match schedule {
        Schedule::Step => {
            let decays = [epochs / 3, 2 * epochs / 3]
                .iter()
                .filter(|&&m| epoch >= m)
                .count();
            base_lr * 0.1f64.powi(decays as i32)
        }
        Schedule::Cosine => {
            if epochs == 0 {
                return base_lr;
            }
            let t = epoch as f64 / epochs as f64;
            base_lr * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
        }
        Schedule::Constant => base_lr,
    }
}
