//! SGD with momentum and weight decay, exactly as `torch.optim.SGD` (dampening 0, not
//! Nesterov), and the learning-rate schedules of training.md.

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
///
/// All parameters live in one flat buffer (each parameter becomes a view of it, in its own
/// memory order, channels-last included), and so do the momentum buffers: a step whose
/// parameters all have gradients is a handful of kernels over the whole model, as PyTorch's
/// multi-tensor (`foreach`) SGD is, instead of four per parameter. The arithmetic per element
/// is the same either way.
#[derive(Debug)]
pub struct Sgd {
    params: Vec<Tensor>,
    /// Where each parameter lies in `flat`.
    slots: Vec<Slot>,
    /// Every parameter's values, back to back.
    flat: Tensor,
    momentum: f64,
    weight_decay: f64,
    /// The momentum buffers, laid out as `flat` (absent without momentum).
    buf: Option<Tensor>,
    /// Whether parameter `i` has had its first step (its buffer holds a value).
    has_buf: Vec<bool>,
    scalars: Scalars,
}

/// A parameter's place in the flat buffer: `numel` values from `offset`, in the order of the
/// dimensions `order` (its dimensions sorted from the largest stride to the smallest).
#[derive(Debug, Clone)]
struct Slot {
    offset: i64,
    numel: i64,
    size: Vec<i64>,
    order: Vec<i64>,
}

impl Slot {
    /// The view of `flat` that is this parameter, with the parameter's shape and strides.
    fn view(&self, flat: &Tensor) -> Tensor {
        let stored: Vec<i64> = self.order.iter().map(|&d| self.size[d as usize]).collect();
        let mut inverse = vec![0i64; self.order.len()];
        for (i, &d) in self.order.iter().enumerate() {
            inverse[d as usize] = i as i64;
        }
        flat.narrow(0, self.offset, self.numel)
            .view(stored.as_slice())
            .permute(inverse.as_slice())
    }

    /// `t` (shaped like the parameter, any layout) as a flat vector in this slot's order.
    fn flatten(&self, t: &Tensor) -> Tensor {
        t.permute(self.order.as_slice()).reshape([-1])
    }
}

impl Sgd {
    /// An optimiser over `params` (e.g. `VarStore::trainable_variables()`), with no momentum
    /// buffers yet. The parameters are moved into one flat buffer (their values, shapes and
    /// strides unchanged; every handle to them sees the move). Panics if they differ in
    /// device or kind.
    pub fn new(params: Vec<Tensor>, momentum: f64, weight_decay: f64) -> Self {
        let (device, kind) = params
            .first()
            .map_or((Device::Cpu, Kind::Float), |p| (p.device(), p.kind()));
        let mut slots = Vec::with_capacity(params.len());
        let mut offset = 0i64;
        for p in &params {
            assert!(
                p.device() == device && p.kind() == kind,
                "Sgd: every parameter must be on {device:?} in {kind:?}, one is on {:?} in {:?}",
                p.device(),
                p.kind()
            );
            let strides = p.stride();
            let mut order: Vec<i64> = (0..p.dim() as i64).collect();
            order.sort_by_key(|&d| std::cmp::Reverse(strides[d as usize]));
            let numel = p.numel() as i64;
            slots.push(Slot {
                offset,
                numel,
                size: p.size(),
                order,
            });
            offset += numel;
        }
        let flat = Tensor::zeros([offset], (kind, device));
        tch::no_grad(|| {
            for (p, slot) in params.iter().zip(&slots) {
                let mut view = slot.view(&flat);
                view.copy_(p);
                let mut p = p.shallow_clone();
                p.set_data(&view);
            }
        });
        let buf = (momentum != 0.0).then(|| flat.zeros_like());
        Sgd {
            has_buf: vec![false; params.len()],
            params,
            slots,
            flat,
            momentum,
            weight_decay,
            buf,
            scalars: Scalars::default(),
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
        self.update(grads, lr);
    }

    /// Backward pass of `loss` and one update, at learning rate `lr`: the same result as
    /// `zero_grad(); loss.backward(); step(lr)`, but the gradients are returned by autograd
    /// as fresh tensors instead of being accumulated into `.grad`, which saves zeroing and
    /// accumulating them (PyTorch's `zero_grad(set_to_none=True)`). `.grad` is not written.
    /// Every parameter must take part in `loss`.
    pub fn backward_step(&mut self, loss: &Tensor, lr: f64) {
        let grads = Tensor::run_backward(&[loss], &self.params, false, false);
        self.update(grads.into_iter().map(Some).collect(), lr);
    }

    /// The update rule of the type's doc: over the flat buffers when every parameter has a
    /// gradient and all or none have buffers, else parameter by parameter.
    fn update(&mut self, grads: Vec<Option<Tensor>>, lr: f64) {
        let _guard = tch::no_grad_guard();
        let all_grads = grads.iter().all(Option::is_some);
        let uniform = self.has_buf.iter().all(|&b| b) || self.has_buf.iter().all(|&b| !b);
        if all_grads && uniform {
            let flat_g: Vec<Tensor> = grads
                .iter()
                .zip(&self.slots)
                .map(|(g, slot)| slot.flatten(g.as_ref().expect("checked above")))
                .collect();
            let g = Tensor::cat(&flat_g, 0);
            let first = !self.has_buf.first().copied().unwrap_or(true);
            let (flat, buf) = (
                self.flat.shallow_clone(),
                self.buf.as_ref().map(|b| b.shallow_clone()),
            );
            self.apply(&flat, g, buf, first, lr);
            self.has_buf.iter_mut().for_each(|b| *b = true);
            return;
        }
        for (i, g) in grads.into_iter().enumerate() {
            let Some(g) = g else { continue };
            let slot = self.slots[i].clone();
            let p = slot.view(&self.flat);
            let buf = self.buf.as_ref().map(|b| slot.view(b));
            // `g` may be `.grad` itself, which must not be overwritten.
            let g = g.copy();
            self.apply(&p, g, buf, !self.has_buf[i], lr);
            self.has_buf[i] = true;
        }
    }

    /// `p -= lr * (momentum buffer or d_p)` with `d_p = g + weight_decay * p`, for `p`, `g`
    /// and `buf` of one shape; `g` is overwritten; `first`: the buffer gets `d_p` itself.
    fn apply(&mut self, p: &Tensor, mut g: Tensor, buf: Option<Tensor>, first: bool, lr: f64) {
        if self.weight_decay != 0.0 {
            let wd = self.scalars.get(self.weight_decay, p);
            let _ = g.addcmul_(p, &wd);
        }
        let step = match buf {
            Some(mut b) => {
                if first {
                    b.copy_(&g);
                } else {
                    let _ = b.g_mul_scalar_(self.momentum).g_add_(&g);
                }
                b
            }
            None => g,
        };
        let neg_lr = self.scalars.get(-lr, p);
        let mut p = p.shallow_clone();
        let _ = p.addcmul_(&step, &neg_lr);
    }

    /// The momentum buffers that exist, named `optim.buf.{i}` with `i` the parameter's index
    /// (a parameter that never received a gradient has none).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let Some(buf) = &self.buf else {
            return Vec::new();
        };
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, _)| self.has_buf[*i])
            .map(|(i, slot)| (format!("optim.buf.{i}"), slot.view(buf).detach().copy()))
            .collect()
    }

    /// Replaces the momentum buffers by `state` (as written by [`Sgd::state`]; the buffers it
    /// does not name are cleared). Errors name the entry: an unknown name, an index past the
    /// parameters, a duplicate, a shape that differs from its parameter's. Nothing is changed
    /// on error.
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> anyhow::Result<()> {
        let mut given: Vec<Option<&Tensor>> = vec![None; self.params.len()];
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
                given[index].is_none(),
                "optimizer state: {name:?} appears twice"
            );
            ensure!(
                t.size() == p.size(),
                "optimizer state: {name:?} has shape {:?}, its parameter has shape {:?}",
                t.size(),
                p.size()
            );
            ensure!(
                self.buf.is_some(),
                "optimizer state: {name:?} is a momentum buffer, but the momentum is 0"
            );
            given[index] = Some(t);
        }
        if let Some(buf) = &self.buf {
            tch::no_grad(|| {
                for (i, slot) in self.slots.iter().enumerate() {
                    let mut view = slot.view(buf);
                    match given[i] {
                        Some(t) => view.copy_(&t.to_device(view.device()).to_kind(view.kind())),
                        None => {
                            let _ = view.zero_();
                        }
                    }
                }
            });
        }
        self.has_buf = given.iter().map(Option::is_some).collect();
        Ok(())
    }
}

/// 0-dim tensors holding the step's scalar factors, made once per (value, device, kind).
#[derive(Debug, Default)]
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

/// The learning rate of epoch `epoch` (counted from 0) of a run of `epochs` epochs: see
/// [`Schedule::learning_rate`].
pub fn learning_rate(schedule: Schedule, base_lr: f64, epoch: usize, epochs: usize) -> f64 {
    schedule.learning_rate(base_lr, epoch, epochs)
}

pub use nclab_runs::config::Schedule;
