//! One epoch of training steps: for each batch of the epoch's plan, the forward pass (in the
//! configured precision), the loss, the backward pass and the SGD update, with the running
//! loss and accuracy kept on the device. The host reads them back only to report progress and,
//! on the CPU, after every step to stop at the first non-finite loss; on a GPU the steps queue
//! up without waiting and are read once at the end of the epoch.

use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::dataset::{DeviceData, EpochPlan};
use super::losses::Loss;
use super::models::Model;
use super::optim::Sgd;
use super::progress::Reporter;

/// What one epoch of training steps did.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochStats {
    /// Mean training loss over the epoch's batches (not finite when training diverged).
    pub loss: f64,
    /// Fraction of the epoch's samples the network got right in train mode, as it saw them.
    pub accuracy: f64,
    /// The step (from 1) after which the running loss was seen not to be finite.
    pub diverged_at_step: Option<usize>,
    /// A stop was asked for (`nclab_runs::interrupt`) before the epoch's last step.
    pub interrupted: bool,
    /// Seconds spent making batches on the host (on a GPU only their queueing: the gathers
    /// run on the device and count in `train_s`).
    pub data_s: f64,
    /// Seconds of the training steps, from the first to the epoch's last result.
    pub train_s: f64,
}

/// The parts of a training step.
pub struct Stepper<'a> {
    pub model: &'a Model,
    pub loss: &'a Loss,
    pub sgd: &'a mut Sgd,
    /// `Kind::Float` or `Kind::BFloat16` (the forward pass, see `Model::forward_train`).
    pub precision: Kind,
}

impl Stepper<'_> {
    /// Trains on every batch of `plan` at learning rate `lr`, reporting progress every 10
    /// steps unless the reporter is quiet.
    pub fn epoch(
        &mut self,
        data: &DeviceData,
        plan: &EpochPlan,
        lr: f64,
        reporter: &Reporter,
    ) -> EpochStats {
        let (steps, batch) = (plan.steps(), plan.batch());
        let device = data.train.y.device();
        let mut loss_sum = Tensor::zeros([], (Kind::Double, device));
        let mut correct = Tensor::zeros([], (Kind::Int64, device));
        let mut diverged_at_step = None;
        let mut interrupted = false;
        let mut data_s = 0.0;
        let start = Instant::now();
        for s in 0..steps {
            if nclab_runs::interrupt::requested().is_some() {
                interrupted = true;
                break;
            }
            let t_batch = Instant::now();
            let (x, y) = data.train_batch(plan, s);
            data_s += t_batch.elapsed().as_secs_f64();
            let logits = self.model.forward_train(&x, self.precision);
            let l = self.loss.forward(&logits, &y);
            self.sgd.backward_step(&l, lr);
            tch::no_grad(|| {
                loss_sum += l.detach().to_kind(Kind::Double);
                correct += logits.argmax(1, false).eq_tensor(&y).sum(Kind::Int64);
            });
            let report = !reporter.is_quiet() && (s % 10 == 9 || s + 1 == steps);
            if report || device == Device::Cpu {
                let total = loss_sum.double_value(&[]);
                if !total.is_finite() {
                    diverged_at_step = Some(s + 1);
                    break;
                }
                if report {
                    let seen = ((s + 1) * batch) as f64;
                    reporter.step(
                        (s + 1) as u64,
                        ((s + 1) * batch) as u64,
                        total / (s + 1) as f64,
                        correct.int64_value(&[]) as f64 / seen,
                    );
                }
            }
        }
        // Reading the sums waits for the last step.
        let loss = loss_sum.double_value(&[]) / steps as f64;
        let accuracy = correct.int64_value(&[]) as f64 / (steps * batch) as f64;
        EpochStats {
            loss,
            accuracy,
            diverged_at_step,
            interrupted,
            data_s,
            train_s: (start.elapsed().as_secs_f64() - data_s).max(0.0),
        }
    }
}
