//! What is measured at an analysis epoch: the network in eval mode over the whole training and
//! test sets, giving features and logits; from them the loss and accuracy of both sets, every
//! neural-collapse metric of docs/metrics.md on the *training* features (with the hierarchy's
//! ones, and the MSE decomposition for MSE runs), and the mistake metrics of docs/losses-and-hierarchies.md
//! on the *test* logits.

use anyhow::Context;
use nclab_core::hierarchy::Hierarchy;
use nclab_core::metrics::mistakes::{MistakeEvaluator, Ranking, ScoreKind};
use nclab_core::metrics::{self, CollapseInput, TreeMatrices};
use nclab_core::tensor::MatrixView;
use tch::{Kind, Tensor};

use super::dataset::DeviceSplit;
use super::losses::Loss;
use super::models::Model;
use nclab_runs::predictions::TestPredictions;
use nclab_runs::run_dir::{LayerRow, Row};

/// Features and logits of one set, on the host, with the labels.
#[derive(Debug, Clone)]
pub struct Outputs {
    /// `N x d`, row-major.
    pub features: Vec<f32>,
    /// `N x K`, row-major.
    pub logits: Vec<f32>,
    pub labels: Vec<u32>,
    pub n: usize,
    pub d: usize,
    pub k: usize,
    /// Mean training loss over the set.
    pub loss: f64,
    /// Fraction of samples whose largest logit is their label.
    pub accuracy: f64,
}

/// The network's outputs over a whole set in eval mode, `batch` samples at a time, computed
/// on the set's device; the features and logits come to the host once, at the end.
pub fn evaluate(model: &Model, loss: &Loss, set: &DeviceSplit, batch: usize) -> Outputs {
    evaluate_with_layers(model, loss, set, batch, &[]).0
}

/// [`evaluate`], also returning, in the same forward passes, the outputs (`N x width`, f32,
/// row-major) of the layers at positions `layers` of `Model::layer_names`.
pub fn evaluate_with_layers(
    model: &Model,
    loss: &Loss,
    set: &DeviceSplit,
    batch: usize,
    layers: &[usize],
) -> (Outputs, Vec<Vec<f32>>) {
    let (n, y) = (set.len(), &set.y);
    let (f, l, tapped) = forward_eval(model, set, batch, layers);
    let (loss_value, accuracy) = tch::no_grad(|| {
        let lv = loss.forward(&l, y).to_kind(Kind::Double).double_value(&[]);
        (lv, accuracy_of(&l, y))
    });
    let (d, k) = (f.size()[1] as usize, l.size()[1] as usize);
    let outputs = Outputs {
        features: to_vec_f32(&f),
        logits: to_vec_f32(&l),
        labels: Vec::<i64>::try_from(y.to_device(tch::Device::Cpu))
            .expect("labels are int64")
            .into_iter()
            .map(|v| v as u32)
            .collect(),
        n,
        d,
        k,
        loss: loss_value,
        accuracy,
    };
    (outputs, tapped.iter().map(to_vec_f32).collect())
}

/// Features, logits and the tapped layers' outputs of a whole set in eval mode without
/// gradients, `batch` samples at a time (the batch size does not change the values).
fn forward_eval(
    model: &Model,
    set: &DeviceSplit,
    batch: usize,
    layers: &[usize],
) -> (Tensor, Tensor, Vec<Tensor>) {
    let n = set.len();
    let (mut feats, mut logits) = (Vec::new(), Vec::new());
    let mut tapped: Vec<Vec<Tensor>> = layers.iter().map(|_| Vec::new()).collect();
    tch::no_grad(|| {
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let (f, l, t) = model.forward_layers(&set.inputs(start, len), layers);
            feats.push(f);
            logits.push(l);
            for (all, part) in tapped.iter_mut().zip(t) {
                all.push(part);
            }
            start += len;
        }
    });
    let tapped = tapped.iter().map(|parts| Tensor::cat(parts, 0)).collect();
    (Tensor::cat(&feats, 0), Tensor::cat(&logits, 0), tapped)
}

/// The metrics of `metrics_layers.csv` for each tapped layer's outputs on the training set
/// (`train` gives the labels): NC1, CDNV and NCC accuracy, computed as for the penultimate
/// features (`docs/metrics.md`).
pub fn layer_rows(
    features: &[Vec<f32>],
    layers: &[usize],
    names: &[String],
    train: &Outputs,
) -> anyhow::Result<Vec<LayerRow>> {
    features
        .iter()
        .zip(layers)
        .map(|(f, &depth)| {
            let d = f.len() / train.n.max(1);
            let m = metrics::measure(&CollapseInput {
                features: MatrixView::f32(f, train.n, d),
                labels: &train.labels,
                num_classes: train.k,
                weights: None,
                bias: None,
                predictions: None,
            })
            .with_context(|| format!("collapse of layer {}", names[depth]))?;
            Ok(LayerRow {
                layer: names[depth].clone(),
                depth,
                metrics: vec![
                    ("nc1".into(), Some(m.nc1)),
                    ("cdnv".into(), Some(m.cdnv)),
                    ("ncc_accuracy".into(), Some(m.ncc_accuracy)),
                ],
            })
        })
        .collect()
}

/// Top-1 accuracy: the fraction of rows of `logits` whose largest entry is at the label.
fn accuracy_of(logits: &Tensor, y: &Tensor) -> f64 {
    logits
        .argmax(1, false)
        .eq_tensor(y)
        .to_kind(Kind::Double)
        .mean(Kind::Double)
        .double_value(&[])
}

/// Whether the network in eval mode classifies every sample of a set correctly (the training
/// error is 0), looked at `batch` samples at a time and stopping at the first batch with a
/// mistake: a set that still has errors usually costs a few batches, not a whole pass.
pub fn all_correct(model: &Model, set: &DeviceSplit, batch: usize) -> bool {
    let n = set.len();
    tch::no_grad(|| {
        let mut start = 0;
        while start < n {
            let len = batch.min(n - start);
            let (_, logits) = model.forward_t(&set.inputs(start, len), false);
            let right = logits
                .argmax(1, false)
                .eq_tensor(&set.y.narrow(0, start as i64, len as i64))
                .all()
                .int64_value(&[]);
            if right == 0 {
                return false;
            }
            start += len;
        }
        true
    })
}

/// A tensor's values as a flat f32 vector on the host.
pub fn to_vec_f32(t: &Tensor) -> Vec<f32> {
    let t = t
        .detach()
        .to_device(tch::Device::Cpu)
        .to_kind(Kind::Float)
        .contiguous()
        .view(-1);
    Vec::<f32>::try_from(&t).expect("a float tensor converts to Vec<f32>")
}

/// What the collapse metrics need besides the features: the classifier and the hierarchy.
pub struct MetricContext<'a> {
    pub weights: &'a [f32],
    pub bias: &'a [f64],
    pub tree: &'a TreeMatrices,
    /// `Some(weight_decay)` for MSE runs: adds `lnc1, lnc23, lperp`.
    pub mse_weight_decay: Option<f64>,
}

/// The NC metric columns on `train` (collapse, then tree metrics), then the held-out ones of
/// `test` against the training class means; names fixed whatever the values.
pub fn collapse_columns(
    train: &Outputs,
    test: &Outputs,
    ctx: &MetricContext<'_>,
) -> anyhow::Result<Row> {
    let features = MatrixView::f32(&train.features, train.n, train.d);
    let weights = Some(MatrixView::f32(ctx.weights, train.k, train.d));
    let input = CollapseInput {
        features,
        labels: &train.labels,
        num_classes: train.k,
        weights,
        bias: Some(ctx.bias),
        predictions: None,
    };
    let (columns, stats) = metrics::neural_collapse_with_statistics(&input, Some(ctx.tree))
        .context("collapse metrics of the training features")?;
    let heldout = metrics::heldout::heldout(
        &stats,
        &CollapseInput {
            features: MatrixView::f32(&test.features, test.n, test.d),
            labels: &test.labels,
            ..input
        },
    )
    .context("held-out collapse metrics of the test features")?;
    let mut row: Row = columns
        .into_iter()
        .chain(heldout.entries())
        // An undefined value (e.g. a rank correlation against the constant distances of a
        // flat tree) is "not computed": an empty cell, not NaN.
        .map(|(k, v)| (k.to_string(), v.filter(|x| x.is_finite())))
        .collect();
    if let Some(wd) = ctx.mse_weight_decay {
        let w: Vec<f64> = ctx.weights.iter().map(|&v| v as f64).collect();
        let dec = metrics::mse_decomposition::mse_decomposition(
            features,
            &train.labels,
            &stats,
            &w,
            ctx.bias,
            wd,
        )
        .context("MSE decomposition of the training features")?;
        row.push(("lnc1".into(), Some(dec.lnc1)));
        row.push(("lnc23".into(), Some(dec.lnc23)));
        row.push(("lperp".into(), Some(dec.lperp)));
    }
    Ok(row)
}

/// The mistake-metric cut-offs of a run ([`MistakeEvaluator::top1_top5`]).
pub fn mistake_evaluator(hierarchy: &Hierarchy) -> anyhow::Result<MistakeEvaluator> {
    Ok(MistakeEvaluator::top1_top5(hierarchy)?)
}

/// The run's `test_predictions.csv` ([`TestPredictions`]): the per-image rankings and
/// distances behind [`mistake_columns`], ranked the same way.
pub fn test_predictions(
    test: &Outputs,
    evaluator: &MistakeEvaluator,
) -> anyhow::Result<TestPredictions> {
    let labels: Vec<usize> = test.labels.iter().map(|&c| c as usize).collect();
    TestPredictions::of_logits(
        evaluator,
        MatrixView::f32(&test.logits, test.n, test.k),
        &labels,
    )
    .context("ranking the test logits")
}

/// The mistake metric columns on the test logits, ranked by score
/// ([`MistakeMetrics::run_columns`](nclab_core::metrics::mistakes::MistakeMetrics::run_columns)).
pub fn mistake_columns(test: &Outputs, evaluator: &MistakeEvaluator) -> anyhow::Result<Row> {
    let labels: Vec<usize> = test.labels.iter().map(|&c| c as usize).collect();
    let m = evaluator
        .evaluate(
            MatrixView::f32(&test.logits, test.n, test.k),
            ScoreKind::Logits,
            &labels,
            Ranking::Scores,
        )
        .context("mistake metrics of the test logits")?;
    Ok(m.run_columns())
}
