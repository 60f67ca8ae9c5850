//! The networks of the training protocol (training.md): `mlp` and the CIFAR `resnet18`.
//!
//! Both return the penultimate features (the input of the final linear classifier) together
//! with the logits. Parameters are initialised exactly as PyTorch's defaults do, so that a run
//! here and the same model in PyTorch start from the same distribution:
//! * `Linear(in, out)`: weight and bias `U(-1/sqrt(in), 1/sqrt(in))` (kaiming-uniform with
//!   `a = sqrt(5)`, whose bound `sqrt(6 / ((1 + a^2) in))` is `1/sqrt(in)`);
//! * `Conv2d(c, o, k)` (no bias): weight `U(-1/sqrt(c k k), 1/sqrt(c k k))`, same rule;
//! * `BatchNorm`: weight 1, bias 0, running mean 0, running variance 1, momentum 0.1, eps 1e-5.
//!
//! Variable names follow PyTorch's `state_dict` convention (`stem.conv.weight`,
//! `layer2.0.shortcut.bn.running_var`, `hidden.0.linear.weight`, `classifier.bias`, ...).
//!
//! Training steps may run their forward pass in bfloat16 ([`Model::forward_train`]): every
//! convolution and linear layer multiplies bf16 copies of its input and of the f32 weights,
//! BatchNorm normalises the bf16 activations with its f32 parameters and statistics, and the
//! logits are handed to the loss in f32. This is what `torch.autocast(dtype=torch.bfloat16)`
//! does for these layers; the gradients reach the f32 weights through the casts.

use anyhow::{bail, ensure, Context};
use tch::nn::{self, Init};
use tch::{Kind, Tensor};

pub use nclab_runs::config::ModelKind;

/// A model description: the kind plus the knobs of that kind (the other one is ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub kind: ModelKind,
    /// `mlp`: the hidden widths, one Linear -> BatchNorm1d -> ReLU block each (default 3 x 1024).
    pub widths: Vec<i64>,
    /// `resnet18`: the base width `w`; the four stages have `w, 2w, 4w, 8w` channels
    /// (64 is the standard network, 16 a CPU-sized one).
    pub width: i64,
}

impl ModelSpec {
    /// An `mlp` with the given hidden widths.
    pub fn mlp(widths: &[i64]) -> Self {
        ModelSpec {
            kind: ModelKind::Mlp,
            widths: widths.to_vec(),
            width: 64,
        }
    }

    /// A `resnet18` with base width `width`.
    pub fn resnet18(width: i64) -> Self {
        ModelSpec {
            kind: ModelKind::Resnet18,
            widths: vec![1024, 1024, 1024],
            width,
        }
    }
}

impl Default for ModelSpec {
    /// The `mlp` of training.md: hidden widths `[1024, 1024, 1024]`.
    fn default() -> Self {
        ModelSpec::mlp(&[1024, 1024, 1024])
    }
}

/// A network built on a `tch` variable store: a body producing the penultimate features and a
/// linear classifier producing the logits.
#[derive(Debug)]
pub struct Model {
    body: Body,
    classifier: nn::Linear,
    feature_dim: i64,
}

#[derive(Debug)]
enum Body {
    Mlp(Mlp),
    Resnet18(Box<Resnet18>),
}

impl Model {
    /// Builds the network under `vs`. `input_shape` is the shape of one sample: `[784]` or
    /// `[1, 28, 28]` for `mlp` (flattened to its product), `[C, H, W]` for `resnet18`.
    /// Panics on an invalid spec; [`Model::try_new`] returns the error instead.
    pub fn new(vs: &nn::Path, spec: &ModelSpec, input_shape: &[i64], num_classes: i64) -> Self {
        match Self::try_new(vs, spec, input_shape, num_classes) {
            Ok(model) => model,
            Err(err) => panic!("invalid model: {err:#}"),
        }
    }

    /// Like [`Model::new`], but returns an error that names the bad value (a non-positive
    /// width, an empty `mlp` width list, an input shape that is not `[C, H, W]` for `resnet18`,
    /// fewer than 2 classes).
    pub fn try_new(
        vs: &nn::Path,
        spec: &ModelSpec,
        input_shape: &[i64],
        num_classes: i64,
    ) -> anyhow::Result<Self> {
        ensure!(
            num_classes >= 2,
            "model: num_classes must be at least 2, got {num_classes}"
        );
        ensure!(
            !input_shape.is_empty() && input_shape.iter().all(|&d| d > 0),
            "model: input shape {input_shape:?} must be non-empty with positive sizes"
        );
        let (body, feature_dim) = match spec.kind {
            ModelKind::Mlp => {
                let mlp = Mlp::new(&(vs / "hidden"), &spec.widths, input_shape.iter().product())
                    .context("model.widths")?;
                let dim = mlp.out_dim;
                (Body::Mlp(mlp), dim)
            }
            ModelKind::Resnet18 => {
                ensure!(
                    input_shape.len() == 3,
                    "resnet18 needs a [C, H, W] input shape, got {input_shape:?}"
                );
                ensure!(
                    spec.width > 0,
                    "model.width must be positive, got {}",
                    spec.width
                );
                let net = Resnet18::new(vs, input_shape[0], spec.width);
                (Body::Resnet18(Box::new(net)), 8 * spec.width)
            }
        };
        let classifier = linear(&(vs / "classifier"), feature_dim, num_classes);
        Ok(Model {
            body,
            classifier,
            feature_dim,
        })
    }

    /// Returns `(features, logits)`: the penultimate features `N x d` (the classifier's input)
    /// and the logits `N x K = features W^T + b`, in f32. `train` selects BatchNorm's mode
    /// (batch statistics and running-average updates when true, running statistics when
    /// false).
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> (Tensor, Tensor) {
        self.forward_in(xs, train, Kind::Float)
    }

    /// The logits of a training step (BatchNorm in training mode) with the matrix products
    /// in `precision` (`Kind::Float` or `Kind::BFloat16`, see the module doc), returned in
    /// f32 for the loss.
    pub fn forward_train(&self, xs: &Tensor, precision: Kind) -> Tensor {
        let (_, logits) = self.forward_in(xs, true, precision);
        logits.to_kind(Kind::Float)
    }

    fn forward_in(&self, xs: &Tensor, train: bool, k: Kind) -> (Tensor, Tensor) {
        let (features, logits, _) = self.forward_tapped(xs, train, k, &[]);
        (features, logits)
    }

    /// The names of the layers whose outputs [`Model::forward_layers`] can return, from the
    /// input up: `mlp`: `hidden.0`, `hidden.1`, ... (each Linear -> BatchNorm -> ReLU block);
    /// `resnet18`: `stem`, `layer1` ... `layer4` (each residual stage), globally average-pooled.
    /// The last one is the penultimate layer, the features of the other metrics.
    pub fn layer_names(&self) -> Vec<String> {
        match &self.body {
            Body::Mlp(mlp) => (0..mlp.blocks.len())
                .map(|i| format!("hidden.{i}"))
                .collect(),
            Body::Resnet18(_) => ["stem", "layer1", "layer2", "layer3", "layer4"]
                .map(String::from)
                .to_vec(),
        }
    }

    /// Eval-mode `(features, logits)` and the outputs (`N x width`, f32) of the layers at
    /// positions `taps` of [`Model::layer_names`].
    pub fn forward_layers(&self, xs: &Tensor, taps: &[usize]) -> (Tensor, Tensor, Vec<Tensor>) {
        self.forward_tapped(xs, false, Kind::Float, taps)
    }

    fn forward_tapped(
        &self,
        xs: &Tensor,
        train: bool,
        k: Kind,
        taps: &[usize],
    ) -> (Tensor, Tensor, Vec<Tensor>) {
        let mut tapped = Vec::with_capacity(taps.len());
        let mut tap = |i: usize, h: &Tensor, pool: bool| {
            if taps.contains(&i) {
                tapped.push(if pool {
                    h.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
                } else {
                    h.shallow_clone()
                });
            }
        };
        let features = match &self.body {
            Body::Mlp(mlp) => mlp.forward_t(&cast(xs, k), train, k, &mut tap),
            Body::Resnet18(net) => net.forward_t(&cast(xs, k), train, k, &mut tap),
        };
        let logits = apply_linear(&self.classifier, &features, k);
        (features, logits, tapped)
    }

    /// `d`, the dimension of the penultimate features (last `mlp` width, or `8 * width`).
    pub fn feature_dim(&self) -> i64 {
        self.feature_dim
    }

    /// The last linear layer: weights `K x d` and bias `K`, detached from the graph (they share
    /// storage with the parameters, so they show the current values).
    pub fn classifier(&self) -> (Tensor, Tensor) {
        let bias = self
            .classifier
            .bs
            .as_ref()
            .expect("the classifier always has a bias");
        (self.classifier.ws.detach(), bias.detach())
    }
}

/// `t` in kind `k` (the same tensor when it already is).
fn cast(t: &Tensor, k: Kind) -> Tensor {
    if t.kind() == k {
        t.shallow_clone()
    } else {
        t.to_kind(k)
    }
}

/// `x W^T + b` with `x`, `W` and `b` in kind `k`.
fn apply_linear(l: &nn::Linear, x: &Tensor, k: Kind) -> Tensor {
    let b = l.bs.as_ref().map(|b| cast(b, k));
    x.linear(&cast(&l.ws, k), b.as_ref())
}

/// A bias-free square convolution: its weight variable, stride and padding.
#[derive(Debug)]
struct Conv {
    ws: Tensor,
    stride: i64,
    padding: i64,
}

/// The convolution `c` of `x`, with its weights in kind `k`.
fn apply_conv(c: &Conv, x: &Tensor, k: Kind) -> Tensor {
    x.conv2d(
        &cast(&c.ws, k),
        None::<&Tensor>,
        [c.stride; 2],
        [c.padding; 2],
        [1, 1],
        1,
    )
}

/// Stores every 4-d variable of `vs` (the convolution weights) in channels-last memory format
/// (NHWC strides); values and shapes do not change.
pub fn convert_to_channels_last(vs: &nn::VarStore) {
    tch::no_grad(|| {
        for (_, mut v) in vs.variables() {
            if v.dim() == 4 {
                let nhwc = super::dataset::to_channels_last(&v);
                v.set_data(&nhwc);
            }
        }
    });
}

/// `nn.Linear(in_dim, out_dim)` with PyTorch's default initialisation.
fn linear(vs: &nn::Path, in_dim: i64, out_dim: i64) -> nn::Linear {
    let bound = 1.0 / (in_dim as f64).sqrt();
    let init = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    nn::linear(
        vs,
        in_dim,
        out_dim,
        nn::LinearConfig {
            ws_init: init,
            bs_init: Some(init),
            bias: true,
        },
    )
}

/// `nn.Conv2d(in_c, out_c, k, stride, padding=k/2, bias=False)` with PyTorch's default
/// initialisation.
fn conv(vs: &nn::Path, in_c: i64, out_c: i64, k: i64, stride: i64) -> Conv {
    let bound = 1.0 / ((in_c * k * k) as f64).sqrt();
    let config = nn::ConvConfig {
        stride,
        padding: k / 2,
        bias: false,
        ws_init: Init::Uniform {
            lo: -bound,
            up: bound,
        },
        ..Default::default()
    };
    Conv {
        ws: nn::conv2d(vs, in_c, out_c, k, config).ws,
        stride,
        padding: k / 2,
    }
}

/// `nn.BatchNorm1d/2d(dim)` with PyTorch's defaults (weight 1, bias 0, momentum 0.1, eps 1e-5).
fn batch_norm(vs: &nn::Path, dim: i64, nd: usize) -> nn::BatchNorm {
    let config = nn::BatchNormConfig {
        ws_init: Init::Const(1.0),
        bs_init: Init::Const(0.0),
        ..Default::default()
    };
    if nd == 1 {
        nn::batch_norm1d(vs, dim, config)
    } else {
        nn::batch_norm2d(vs, dim, config)
    }
}

/// `relu(bn(linear(x)))` blocks; the input is flattened to `N x in_dim` first.
#[derive(Debug)]
struct Mlp {
    blocks: Vec<(nn::Linear, nn::BatchNorm)>,
    in_dim: i64,
    out_dim: i64,
}

impl Mlp {
    fn new(vs: &nn::Path, widths: &[i64], in_dim: i64) -> anyhow::Result<Self> {
        ensure!(!widths.is_empty(), "mlp needs at least one hidden width");
        if let Some(bad) = widths.iter().find(|&&w| w <= 0) {
            bail!("mlp widths must be positive, got {bad} in {widths:?}");
        }
        let mut blocks = Vec::with_capacity(widths.len());
        let mut dim = in_dim;
        for (i, &w) in widths.iter().enumerate() {
            let block = vs / i;
            blocks.push((
                linear(&(&block / "linear"), dim, w),
                batch_norm(&(&block / "bn"), w, 1),
            ));
            dim = w;
        }
        Ok(Mlp {
            blocks,
            in_dim,
            out_dim: dim,
        })
    }

    /// The features; `tap(i, h, pooled)` sees the output of block `i`.
    fn forward_t(
        &self,
        xs: &Tensor,
        train: bool,
        k: Kind,
        tap: &mut impl FnMut(usize, &Tensor, bool),
    ) -> Tensor {
        let mut h = xs.reshape([-1, self.in_dim]);
        for (i, (lin, bn)) in self.blocks.iter().enumerate() {
            h = apply_linear(lin, &h, k).apply_t(bn, train).relu();
            tap(i, &h, false);
        }
        h
    }
}

/// A BasicBlock: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`, the shortcut being the
/// identity, or a strided 1x1 conv + BN when the shape changes.
#[derive(Debug)]
struct BasicBlock {
    conv1: Conv,
    bn1: nn::BatchNorm,
    conv2: Conv,
    bn2: nn::BatchNorm,
    shortcut: Option<(Conv, nn::BatchNorm)>,
}

impl BasicBlock {
    fn new(vs: &nn::Path, in_c: i64, out_c: i64, stride: i64) -> Self {
        let shortcut = (stride != 1 || in_c != out_c).then(|| {
            let sc = vs / "shortcut";
            (
                conv(&(&sc / "conv"), in_c, out_c, 1, stride),
                batch_norm(&(&sc / "bn"), out_c, 2),
            )
        });
        BasicBlock {
            conv1: conv(&(vs / "conv1"), in_c, out_c, 3, stride),
            bn1: batch_norm(&(vs / "bn1"), out_c, 2),
            conv2: conv(&(vs / "conv2"), out_c, out_c, 3, 1),
            bn2: batch_norm(&(vs / "bn2"), out_c, 2),
            shortcut,
        }
    }

    fn forward_t(&self, xs: &Tensor, train: bool, k: Kind) -> Tensor {
        let out = apply_conv(&self.conv1, xs, k)
            .apply_t(&self.bn1, train)
            .relu();
        let out = apply_conv(&self.conv2, &out, k).apply_t(&self.bn2, train);
        let short = match &self.shortcut {
            Some((c, bn)) => apply_conv(c, xs, k).apply_t(bn, train),
            None => xs.shallow_clone(),
        };
        (out + short).relu()
    }
}

/// CIFAR ResNet-18: 3x3 stride-1 stem conv + BN + ReLU (no max-pool), four stages of two
/// BasicBlocks with `w, 2w, 4w, 8w` channels and strides 1, 2, 2, 2, global average pooling.
#[derive(Debug)]
struct Resnet18 {
    stem_conv: Conv,
    stem_bn: nn::BatchNorm,
    blocks: Vec<BasicBlock>,
}

impl Resnet18 {
    fn new(vs: &nn::Path, in_channels: i64, width: i64) -> Self {
        let stem = vs / "stem";
        let mut blocks = Vec::with_capacity(8);
        let mut in_c = width;
        for (stage, (mult, stride)) in [(1, 1), (2, 2), (4, 2), (8, 2)].into_iter().enumerate() {
            let layer = vs / format!("layer{}", stage + 1);
            let out_c = mult * width;
            blocks.push(BasicBlock::new(&(&layer / 0), in_c, out_c, stride));
            blocks.push(BasicBlock::new(&(&layer / 1), out_c, out_c, 1));
            in_c = out_c;
        }
        Resnet18 {
            stem_conv: conv(&(&stem / "conv"), in_channels, width, 3, 1),
            stem_bn: batch_norm(&(&stem / "bn"), width, 2),
            blocks,
        }
    }

    /// The features; `tap(i, h, pooled)` sees the stem's output (`i = 0`) and each stage's
    /// (`i = 1..=4`), to be average-pooled.
    fn forward_t(
        &self,
        xs: &Tensor,
        train: bool,
        k: Kind,
        tap: &mut impl FnMut(usize, &Tensor, bool),
    ) -> Tensor {
        let mut h = apply_conv(&self.stem_conv, xs, k)
            .apply_t(&self.stem_bn, train)
            .relu();
        tap(0, &h, true);
        for (b, block) in self.blocks.iter().enumerate() {
            h = block.forward_t(&h, train, k);
            if b % 2 == 1 {
                tap(1 + b / 2, &h, true);
            }
        }
        h.adaptive_avg_pool2d([1, 1]).flatten(1, -1)
    }
}
