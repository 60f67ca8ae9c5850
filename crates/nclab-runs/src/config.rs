//! The training config: a TOML file in which every key has a default, `--set key=value`
//! overrides on the command line, and the fully resolved form that is written back beside the
//! results as `config.toml`.
//!
//! Errors name the key at fault (`optim.lr`, `loss.kind`, `hierarchy`, ...), so that a user
//! knows what to fix.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use nclab_core::data::MAX_SYNTHETIC_VALUES;
use nclab_core::hierarchy::Hierarchy;
use nclab_core::losses::{HxeNormalize, LossSpec};
use nclab_core::metrics::check_coarse_depth;
use serde::{Deserialize, Serialize};

/// A whole training run, as read from TOML.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Name of the run; the default run directory is `runs/<name>`.
    pub name: String,
    /// Seeds libtorch's initialisation and nclab's shuffling generator.
    pub seed: u64,
    /// `auto` (CUDA when libtorch sees a GPU, else CPU), `cpu` or `cuda`.
    pub device: DeviceChoice,
    /// Class hierarchy used by the losses and the metrics: `flat`, a built-in name
    /// (`cifar10`, `cifar100`, `fashion-mnist`, `flat:K`) or a file (edge list or JSON).
    pub hierarchy: String,
    /// Intra-op threads of libtorch; 0 keeps libtorch's default.
    pub threads: usize,
    /// Precision of the training steps' forward pass: `f32`, or `bf16` (convolutions and
    /// linear layers in bfloat16 from f32 master weights, as autocast does; the loss, the
    /// optimiser and every analysis stay in f32/f64).
    pub precision: Precision,
    /// ResNet inputs and convolution weights in channels-last (NHWC) memory format, the fast
    /// layout of cuDNN's tensor-core kernels. Values are the same either way.
    pub channels_last: bool,
    /// On CUDA, let cuDNN time its convolution algorithms at the first step and keep the
    /// fastest (`torch.backends.cudnn.benchmark`); results may then differ between runs in the
    /// last bits.
    pub cudnn_benchmark: bool,
    pub data: DataConfig,
    pub model: ModelConfig,
    pub loss: LossConfig,
    pub optim: OptimConfig,
    pub analysis: AnalysisConfig,
}

nclab_core::named_enum! {
    /// The training device (key `device`).
    pub enum DeviceChoice {
        /// CUDA when libtorch sees a GPU, else the CPU.
        Auto = "auto",
        Cpu = "cpu",
        Cuda = "cuda",
    }
}

nclab_core::named_enum! {
    /// The dataset (key `data.name`); the word is the name `nclab_core::data::load` takes.
    pub enum DatasetName {
        Mnist = "mnist",
        FashionMnist = "fashion-mnist",
        Cifar10 = "cifar10",
        Cifar100 = "cifar100",
        Synthetic = "synthetic",
    }
}

impl DatasetName {
    /// The number of classes of a named dataset; `None` for `synthetic`, whose number is key
    /// `data.classes`.
    pub fn num_classes(self) -> Option<usize> {
        match self {
            DatasetName::Cifar100 => Some(100),
            DatasetName::Synthetic => None,
            DatasetName::Mnist | DatasetName::FashionMnist | DatasetName::Cifar10 => Some(10),
        }
    }
}

nclab_core::named_enum! {
    /// The network (key `model.kind`).
    pub enum ModelKind {
        /// Linear -> BatchNorm1d -> ReLU blocks, then the linear classifier.
        Mlp = "mlp",
        /// The CIFAR variant of ResNet-18 with a width multiplier.
        Resnet18 = "resnet18",
    }
}

nclab_core::named_enum! {
    /// The training loss (key `loss.kind`); its parameters are the other `loss.*` keys.
    pub enum LossKind {
        Ce = "ce",
        Mse = "mse",
        Soft = "soft",
        Hxe = "hxe",
    }
}

nclab_core::named_enum! {
    /// How the learning rate changes with the epoch (key `optim.schedule`).
    pub enum Schedule {
        /// `x0.1` at epoch `floor(E/3)` and again at `floor(2E/3)`.
        Step = "step",
        /// Cosine annealing from the base rate towards 0.
        Cosine = "cosine",
        /// The base rate throughout.
        Constant = "constant",
    }
}

impl Schedule {
    /// The epochs (counted from 1) whose learning rate is the first one decayed: `floor(E/3)
    /// + 1` and `floor(2E/3) + 1` for `Step` (E = 350: 117 and 234), none otherwise.
    pub fn decay_epochs(self, epochs: usize) -> Vec<usize> {
        match self {
            Schedule::Step => {
                let mut d: Vec<usize> = [epochs / 3, 2 * epochs / 3]
                    .into_iter()
                    .filter(|&m| m < epochs)
                    .map(|m| m + 1)
                    .collect();
                d.dedup();
                d
            }
            Schedule::Cosine | Schedule::Constant => Vec::new(),
        }
    }

    /// The learning rate of epoch `epoch` (counted from 0) of a run of `epochs` epochs:
    /// * `Step`: `base_lr * 0.1^m`, `m` = how many of the milestones `floor(E/3)` and
    ///   `floor(2E/3)` are `<= epoch` (E = 350: epochs 0..=115 at `base_lr`, 116..=232 at
    ///   `base_lr/10`, 233.. at `base_lr/100`);
    /// * `Cosine`: `base_lr * (1 + cos(pi * epoch / E)) / 2` (`base_lr` at epoch 0);
    /// * `Constant`: `base_lr`.
    pub fn learning_rate(self, base_lr: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
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
}

nclab_core::named_enum! {
    /// Precision of the training forward pass (key `precision`).
    pub enum Precision {
        F32 = "f32",
        Bf16 = "bf16",
    }
}

/// `[data]`: which dataset, how much of it, and its preprocessing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// `mnist`, `fashion-mnist`, `cifar10`, `cifar100` or `synthetic`.
    pub name: DatasetName,
    /// Folder holding the datasets (default: `$NCLAB_DATA`, else `data`).
    pub root: String,
    /// Balanced subset of the training set: this many images per class (0 = all).
    pub per_class: usize,
    /// Balanced subset of the test set used for the analysis (0 = all).
    pub test_per_class: usize,
    /// Random crops (padding 4) and horizontal flips of the training images, drawn from the
    /// run's generator (off in the reference protocol).
    pub augment: bool,
    /// Zero-pad images to `pad_to x pad_to` (32: MNIST's 28x28 to 32x32); 0 = no padding.
    pub pad_to: usize,
    /// `synthetic` only: number of classes of the Gaussian mixture.
    pub classes: usize,
    /// `synthetic` only: dimension of its samples.
    pub dim: usize,
    /// `synthetic` only: norm of every class mean (the noise is standard normal).
    pub separation: f64,
}

/// `[model]`: the network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `mlp` or `resnet18`.
    pub kind: ModelKind,
    /// `mlp`: widths of the hidden Linear -> BatchNorm1d -> ReLU blocks.
    pub widths: Vec<i64>,
    /// `resnet18`: channels of the first stage (64 = the standard network).
    pub width: i64,
}

/// `[loss]`: the training loss and its parameters (each used only by its loss).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LossConfig {
    /// `ce`, `mse`, `soft` or `hxe`.
    pub kind: LossKind,
    /// `mse`: value of the target entry, `|| z - kappa onehot(t) ||^2 / K`.
    pub kappa: f64,
    /// `mse`: weight of the true class's term, `(weight (z_t - kappa)^2 + sum_{a != t}
    /// z_a^2) / K` (Hui and Belkin's rescaling for many classes; 1 = plain MSE).
    pub weight: f64,
    /// `soft`: sharpness of the soft labels `q_a ~ exp(-beta dn(a, t))`.
    pub beta: f64,
    /// `hxe`: the edge weights `lambda(C) = exp(-alpha depth(C))`.
    pub alpha: f64,
    /// `hxe`: `none` (alpha = 0 is CE) or `nodes` (weights divided by their sum over nodes).
    pub normalize: HxeNormalize,
    /// `soft`, `hxe`: a tree for the loss alone (same forms as `hierarchy`); unset, the loss
    /// uses `hierarchy`. `flat` makes `soft` label smoothing while the tree metrics and the
    /// mistake metrics keep `hierarchy`: the control that separates the tree from soft targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hierarchy: Option<String>,
}

/// `[optim]`: SGD and its learning-rate schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OptimConfig {
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub batch_size: usize,
    pub epochs: usize,
    /// `step` (x0.1 at E/3 and 2E/3), `cosine` or `constant`.
    pub schedule: Schedule,
}

/// `[analysis]`: when and how the collapse metrics are measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisConfig {
    /// `"log:N"` (about N log-spaced epochs), `"all"`, or a list of epochs; the first and the
    /// last epoch are always included.
    pub epochs: AnalysisEpochs,
    /// Depth of the ancestors whose labels `nc1_coarse` uses (1 = children of the root).
    pub coarse_depth: usize,
    /// Batch size of the evaluation passes (does not change any result).
    pub batch_size: usize,
    /// Until the terminal phase is found, an epoch whose running training accuracy (train mode,
    /// over its own batches) is at least this is followed by one eval-mode pass over the
    /// training set to see whether the training error is 0, so `tpt_epoch` does not wait for
    /// the next analysis epoch. 0 checks every epoch, above 1 only the analysis epochs.
    pub tpt_check: f64,
    /// Layers whose collapse (NC1, CDNV, NCC accuracy of the training set) is recorded at
    /// every analysis epoch in `metrics_layers.csv`: `[]` (none), `["all"]`, or layer names
    /// (`hidden.0`, ... for the MLP; `stem`, `layer1` ... `layer4` for the ResNet18).
    pub layers: Vec<String>,
}

/// The most epochs a run may have (`optim.epochs`), and the largest N of `"log:N"`.
pub const MAX_EPOCHS: usize = 1_000_000;

/// The analysis epochs as written in the config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AnalysisEpochs {
    Spec(String),
    List(Vec<usize>),
}

impl AnalysisEpochs {
    /// The sorted, distinct analysis epochs in `1..=last`, always with 1 and `last`.
    ///
    /// `log:N`: `round(E^(j/(N-1)))` for `j = 0..N-1` (N log-spaced points from 1 to E),
    /// duplicates removed, so short runs get fewer than N epochs (N may exceed E: `log:50` over
    /// 30 epochs is valid; N is bounded by 1,000,000, the most epochs a run may have). `all`:
    /// every epoch.
    pub fn resolve(&self, last: usize) -> anyhow::Result<Vec<usize>> {
        let mut epochs: Vec<usize> = match self {
            AnalysisEpochs::List(list) => {
                if let Some(&bad) = list.iter().find(|&&e| e == 0 || e > last) {
                    bail!("epoch {bad} is outside the run's epochs, 1 to {last}");
                }
                list.clone()
            }
            AnalysisEpochs::Spec(s) if s == "all" => (1..=last).collect(),
            AnalysisEpochs::Spec(s) => {
                let n: usize = s
                    .strip_prefix("log:")
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| (2..=MAX_EPOCHS).contains(&n))
                    .ok_or_else(|| {
                        anyhow!(
                            "expected \"log:N\" (2 <= N <= {MAX_EPOCHS}), \"all\" or a list \
                             of epochs, got {s:?}"
                        )
                    })?;
                (0..n)
                    .map(|j| {
                        let t = j as f64 / (n - 1) as f64;
                        ((last as f64).powf(t).round() as usize).clamp(1, last)
                    })
                    .collect()
            }
        };
        epochs.push(1);
        epochs.push(last);
        epochs.sort_unstable();
        epochs.dedup();
        Ok(epochs)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "run".into(),
            seed: 0,
            device: DeviceChoice::Auto,
            hierarchy: "flat".into(),
            threads: 0,
            precision: Precision::F32,
            channels_last: false,
            cudnn_benchmark: true,
            data: DataConfig::default(),
            model: ModelConfig::default(),
            loss: LossConfig::default(),
            optim: OptimConfig::default(),
            analysis: AnalysisConfig::default(),
        }
    }
}

impl Default for DataConfig {
    fn default() -> Self {
        DataConfig {
            name: DatasetName::Mnist,
            root: std::env::var("NCLAB_DATA").unwrap_or_else(|_| "data".into()),
            per_class: 0,
            test_per_class: 0,
            augment: false,
            pad_to: 0,
            classes: 10,
            dim: 32,
            separation: 4.0,
        }
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            kind: ModelKind::Mlp,
            widths: vec![1024, 1024, 1024],
            width: 64,
        }
    }
}

impl Default for LossConfig {
    fn default() -> Self {
        LossConfig {
            kind: LossKind::Ce,
            kappa: 1.0,
            weight: 1.0,
            beta: 10.0,
            alpha: 0.1,
            normalize: HxeNormalize::None,
            hierarchy: None,
        }
    }
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            lr: 0.0679,
            momentum: 0.9,
            weight_decay: 5e-4,
            batch_size: 128,
            epochs: 350,
            schedule: Schedule::Step,
        }
    }
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            epochs: AnalysisEpochs::Spec("log:50".into()),
            coarse_depth: 1,
            batch_size: 1000,
            tpt_check: 0.99,
            layers: Vec::new(),
        }
    }
}

/// The most samples per class any dataset has (MNIST's largest class: 6,742).
const MAX_PER_CLASS: usize = 10_000_000;
/// The most parameters an MLP may have (4 GB of f32).
const MAX_PARAMETERS: u128 = 1_000_000_000;

/// `value` must be positive and finite; the error names `key`.
fn positive(key: &str, value: f64) -> anyhow::Result<()> {
    if !(value.is_finite() && value > 0.0) {
        bail!("key `{key}`: must be a positive number, got {value}");
    }
    Ok(())
}

/// `value <= max`; the error names `key`.
fn at_most(key: &str, value: usize, max: usize) -> anyhow::Result<()> {
    if value > max {
        bail!("key `{key}`: {value} is more than the largest value accepted, {max}");
    }
    Ok(())
}

/// The leaves of a table as `(dotted key, value)`; sub-tables are walked, lists are leaves.
/// A quoted dotted key (`"loss.kind" = ...`) and a nested one (`loss.kind = ...`) are the same.
pub fn flatten(table: &toml::Table) -> Vec<(String, toml::Value)> {
    fn walk(prefix: &str, t: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
        for (k, v) in t {
            let key = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            match v {
                toml::Value::Table(sub) => walk(&key, sub, out),
                other => out.push((key, other.clone())),
            }
        }
    }
    let mut out = Vec::new();
    walk("", table, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

impl Config {
    /// The keys whose unset value a written config leaves out (so that configs written before
    /// they existed read back the same).
    pub const OPTIONAL_KEYS: &'static [&'static str] = &["loss.hierarchy"];

    /// Reads a config file and applies `key=value` overrides (dotted keys, TOML values; a value
    /// that is not valid TOML is taken as a string, so `--set data.name=cifar10` works).
    ///
    /// An error is attributed to where it comes from: a key or type error of the file to
    /// `config PATH`, one that a `--set` brought in to that `--set KEY=VALUE`, and a value out
    /// of range to the `--set` of its key, else to the file (with the `--set`s in effect).
    pub fn load(path: &Path, overrides: &[String]) -> anyhow::Result<Config> {
        let file = || format!("config {}", path.display());
        let text = nclab_core::io::read_text(path).context("cannot read the config")?;
        let mut table: toml::Table = text
            .parse()
            .map_err(|e| anyhow!("{e}"))
            .with_context(file)?;
        let mut config = deserialize(&table).with_context(file)?;
        for o in overrides {
            apply_override(&mut table, o)?;
            config = deserialize(&table).with_context(|| format!("--set {o}"))?;
        }
        // The hierarchies are read here too, so that a name or file that does not resolve, or a
        // tree that does not fit the dataset, is reported against the config.
        let checked = config.validate().and_then(|()| config.check_hierarchies());
        checked.map_err(|e| {
            let message = format!("{e:#}");
            let culprit = overrides.iter().rev().find(|o| {
                let key = o.split_once('=').map_or(o.as_str(), |(k, _)| k).trim();
                message.contains(&format!("`{key}`"))
            });
            match culprit {
                Some(o) => e.context(format!("--set {o}")),
                None if overrides.is_empty() => e.context(file()),
                None => e.context(format!(
                    "{} (with --set {})",
                    file(),
                    overrides.join(", --set ")
                )),
            }
        })?;
        Ok(config)
    }

    /// The config the earlier run in `dir` was started with, from its `config.toml`
    /// ([`crate::run_dir::read_config`]: a file that sets nothing is refused); errors name the
    /// file.
    pub fn of_run(dir: &Path) -> anyhow::Result<Config> {
        let table = crate::run_dir::read_config(dir)?;
        let config = deserialize(&table).and_then(|c| c.validate().map(|()| c));
        config.with_context(|| dir.join(crate::run_dir::CONFIG).display().to_string())
    }

    /// Parses a config from TOML text and applies `key=value` overrides.
    pub fn from_toml_str(text: &str, overrides: &[String]) -> anyhow::Result<Config> {
        let mut table: toml::Table = text.parse().map_err(|e| anyhow!("{e}"))?;
        for o in overrides {
            apply_override(&mut table, o)?;
        }
        let config = deserialize(&table)?;
        config.validate()?;
        Ok(config)
    }

    /// The fully resolved config as TOML (every key, defaults included, but for the
    /// [`OPTIONAL_KEYS`](Self::OPTIONAL_KEYS) left unset).
    pub fn to_toml_string(&self) -> String {
        toml::to_string(self).expect("a Config always serialises to TOML")
    }

    /// The dotted keys whose values differ from `old`'s, as `optim.lr (0.1 -> 0.2)`, sorted by
    /// key; a key that one of the two leaves unset shows as `unset` on that side.
    pub fn differences(&self, old: &Config) -> Vec<String> {
        let leaves = |c: &Config| -> BTreeMap<String, toml::Value> {
            let table: toml::Table = c.to_toml_string().parse().expect("a config parses");
            flatten(&table).into_iter().collect()
        };
        let (a, b) = (leaves(old), leaves(self));
        let shown = |v: Option<&toml::Value>| v.map_or("unset".to_string(), |v| v.to_string());
        let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        keys.into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| format!("{k} ({} -> {})", shown(a.get(k)), shown(b.get(k))))
            .collect()
    }

    /// Checks values that the types alone do not: positive sizes, ranges, and bounds that keep
    /// a typo (`1e12` for `1e2`) from reaching an allocation. Each error names its key.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.validate_run()?;
        self.validate_data()?;
        self.validate_model()?;
        self.validate_loss()?;
        self.validate_optim()?;
        self.validate_analysis()?;
        Ok(())
    }

    fn validate_run(&self) -> anyhow::Result<()> {
        // `name` names the default run directory runs/<name>: it must stay inside runs/.
        let path = Path::new(&self.name);
        let inside = !self.name.is_empty()
            && path
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside || self.name.chars().any(char::is_control) {
            bail!(
                "key `name`: {:?} must be a relative path without `..` (the run directory is \
                 runs/<name>)",
                self.name
            );
        }
        if self.threads > 4096 {
            bail!("key `threads`: too large ({})", self.threads);
        }
        Ok(())
    }

    fn validate_data(&self) -> anyhow::Result<()> {
        let d = &self.data;
        at_most("data.per_class", d.per_class, MAX_PER_CLASS)?;
        at_most("data.test_per_class", d.test_per_class, MAX_PER_CLASS)?;
        if d.name == DatasetName::Synthetic {
            if d.classes < 2 {
                bail!(
                    "key `data.classes`: need at least 2 classes, got {}",
                    d.classes
                );
            }
            at_most("data.classes", d.classes, 100_000)?;
            positive("data.dim", d.dim as f64)?;
            at_most("data.dim", d.dim, 100_000)?;
            let per = d.per_class.max(d.test_per_class).max(1);
            let values = (per as u128) * (d.classes as u128) * (d.dim as u128);
            if values > MAX_SYNTHETIC_VALUES {
                bail!(
                    "key `data.per_class`: {per} samples of {} classes in {} dimensions are \
                     {values} values, more than {MAX_SYNTHETIC_VALUES}",
                    d.classes,
                    d.dim
                );
            }
            if !(d.separation >= 0.0 && d.separation.is_finite()) {
                bail!("key `data.separation`: must be >= 0, got {}", d.separation);
            }
        }
        if d.pad_to > 4096 {
            bail!("key `data.pad_to`: too large ({})", d.pad_to);
        }
        Ok(())
    }

    fn validate_model(&self) -> anyhow::Result<()> {
        let m = &self.model;
        match m.kind {
            ModelKind::Mlp => {
                if m.widths.iter().any(|&w| w <= 0) {
                    bail!(
                        "key `model.widths`: every width must be positive, got {:?}",
                        m.widths
                    );
                }
                // The largest inputs nclab's datasets have: CIFAR's 3 x 32 x 32.
                let mut params: u128 = 0;
                let mut prev: u128 = 3 * 32 * 32;
                for &w in &m.widths {
                    params += prev * w as u128 + w as u128;
                    prev = w as u128;
                }
                if params > MAX_PARAMETERS {
                    bail!(
                        "key `model.widths`: {:?} make about {params} parameters, more than \
                         {MAX_PARAMETERS}",
                        m.widths
                    );
                }
            }
            ModelKind::Resnet18 => {
                if self.data.name == DatasetName::Synthetic {
                    bail!(
                        "key `model.kind`: resnet18 needs images (channels x height x width), \
                         and data.name = \"synthetic\" gives vectors of data.dim values; use \
                         model.kind = \"mlp\""
                    );
                }
                if !(1..=1024).contains(&m.width) {
                    bail!("key `model.width`: must lie in 1..=1024, got {}", m.width);
                }
            }
        }
        Ok(())
    }

    fn validate_loss(&self) -> anyhow::Result<()> {
        let l = &self.loss;
        match l.kind {
            LossKind::Mse => {
                positive("loss.kappa", l.kappa)?;
                positive("loss.weight", l.weight)?;
            }
            LossKind::Soft => positive("loss.beta", l.beta)?,
            LossKind::Hxe if !(l.alpha >= 0.0 && l.alpha.is_finite()) => {
                bail!("key `loss.alpha`: must be >= 0, got {}", l.alpha);
            }
            _ => {}
        }
        Ok(())
    }

    fn validate_optim(&self) -> anyhow::Result<()> {
        let o = &self.optim;
        positive("optim.lr", o.lr)?;
        positive("optim.batch_size", o.batch_size as f64)?;
        positive("optim.epochs", o.epochs as f64)?;
        at_most("optim.epochs", o.epochs, MAX_EPOCHS)?;
        if !(0.0..1.0).contains(&o.momentum) {
            bail!(
                "key `optim.momentum`: must lie in [0, 1), got {}",
                o.momentum
            );
        }
        if !(o.weight_decay >= 0.0 && o.weight_decay.is_finite()) {
            bail!(
                "key `optim.weight_decay`: must be >= 0, got {}",
                o.weight_decay
            );
        }
        Ok(())
    }

    fn validate_analysis(&self) -> anyhow::Result<()> {
        let a = &self.analysis;
        self.analysis_epochs()?;
        check_coarse_depth(a.coarse_depth)
            .map_err(|e| anyhow!("key `analysis.coarse_depth`: {e}"))?;
        positive("analysis.batch_size", a.batch_size as f64)?;
        if !(a.tpt_check.is_finite() && a.tpt_check >= 0.0) {
            bail!(
                "key `analysis.tpt_check`: must be a number >= 0, got {}",
                a.tpt_check
            );
        }
        Ok(())
    }

    /// Number of classes of the configured dataset.
    pub fn num_classes(&self) -> usize {
        self.data.name.num_classes().unwrap_or(self.data.classes)
    }

    /// The loss of `[loss]`: its kind with the parameters that kind uses.
    pub fn loss_spec(&self) -> LossSpec {
        let l = &self.loss;
        match l.kind {
            LossKind::Ce => LossSpec::Ce,
            LossKind::Mse => LossSpec::Mse {
                kappa: l.kappa,
                weight: l.weight,
            },
            LossKind::Soft => LossSpec::Soft { beta: l.beta },
            LossKind::Hxe => LossSpec::Hxe {
                alpha: l.alpha,
                normalize: l.normalize,
            },
        }
    }

    /// The class hierarchy of key `hierarchy`, resolved for the dataset's classes (`flat` gets
    /// one leaf per class); the error names the key and, for a class count that does not
    /// match, the dataset.
    pub fn hierarchy(&self) -> anyhow::Result<Hierarchy> {
        self.resolve_tree("hierarchy", &self.hierarchy)
    }

    /// Both trees of a run, each resolved once: the run's (`hierarchy`) and the loss's own
    /// (`loss.hierarchy`, `None` when unset: the loss then uses the run's).
    pub fn hierarchies(&self) -> anyhow::Result<(Hierarchy, Option<Hierarchy>)> {
        let run_tree = self.hierarchy()?;
        let own = self.loss_hierarchy(&run_tree)?;
        Ok((run_tree, own))
    }

    /// The loss's own tree, key `loss.hierarchy`, resolved like `hierarchy`; `None` when the key
    /// is unset. A tree with the same class names as the run's tree (`run_tree`, resolved from
    /// `hierarchy`) in another order is an error: the loss and the metrics would mean different
    /// classes by one index.
    fn loss_hierarchy(&self, run_tree: &Hierarchy) -> anyhow::Result<Option<Hierarchy>> {
        let Some(spec) = self.loss.hierarchy.as_deref() else {
            return Ok(None);
        };
        let own = self.resolve_tree("loss.hierarchy", spec)?;
        let (ours, theirs) = (own.class_names(), run_tree.class_names());
        let same_set = || {
            let sorted = |v: &[String]| {
                let mut v = v.to_vec();
                v.sort();
                v
            };
            sorted(&ours) == sorted(&theirs)
        };
        if ours != theirs && same_set() {
            let c = (0..ours.len()).find(|&c| ours[c] != theirs[c]).unwrap_or(0);
            bail!(
                "key `loss.hierarchy` ({spec:?}): its classes are those of `hierarchy` ({:?}) in \
                 another order (class {c} is {:?} there, {:?} here), so the loss and the metrics \
                 would mean different classes by one number; list the classes in the order of \
                 `hierarchy`",
                self.hierarchy,
                theirs[c],
                ours[c]
            );
        }
        Ok(Some(own))
    }

    /// Resolves `hierarchy` and `loss.hierarchy`, for the errors alone.
    pub fn check_hierarchies(&self) -> anyhow::Result<()> {
        self.hierarchies().map(drop)
    }

    fn resolve_tree(&self, key: &str, spec: &str) -> anyhow::Result<Hierarchy> {
        let k = self.num_classes();
        let h =
            Hierarchy::resolve(spec, Some(k)).with_context(|| format!("key `{key}` ({spec:?})"))?;
        h.check_num_classes(k).with_context(|| {
            format!(
                "key `{key}` ({spec:?}) does not match data.name = {:?}",
                self.data.name.as_str()
            )
        })?;
        Ok(h)
    }

    /// Settings that are valid but are probably not what was meant, one message each: a
    /// hierarchical loss on a tree of depth 1 (every class one edge below the root; soft labels
    /// on a flat `loss.hierarchy`, label smoothing by choice, excepted), a `loss.hierarchy` that
    /// the loss does not read, and the step schedule on a run too short to train at
    /// `optim.lr` at all.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        // The loss's tree: `loss.hierarchy` when set, else `hierarchy`.
        let (key, tree) = match &self.loss.hierarchy {
            Some(t) => ("loss.hierarchy", t.as_str()),
            None => ("hierarchy", self.hierarchy.as_str()),
        };
        let flat = || {
            self.hierarchies()
                .is_ok_and(|(run_tree, own)| own.unwrap_or(run_tree).max_depth() <= 1)
        };
        let what = match self.loss.kind {
            LossKind::Hxe => Some(
                "HXE is then cross-entropy times a constant (the weight of the one edge above \
                 each class)",
            ),
            // Soft labels on a flat tree set on purpose (`loss.hierarchy = "flat"`) are label
            // smoothing by choice, not by slip.
            LossKind::Soft if self.loss.hierarchy.is_some() => None,
            LossKind::Soft => Some(
                "every wrong class is then equally far from the true one, so the soft labels \
                 are plain label smoothing",
            ),
            LossKind::Ce | LossKind::Mse => None,
        };
        if let Some(what) = what.filter(|_| flat()) {
            out.push(format!(
                "loss.kind = {:?} with {key} = {tree:?}, a tree of depth 1: {what}, not a \
                 hierarchical loss; set `{key}` to a tree with levels between the root and \
                 the classes (cifar10, cifar100, fashion-mnist or a file)",
                self.loss.kind.as_str(),
            ));
        }
        let uses_tree = matches!(self.loss.kind, LossKind::Soft | LossKind::Hxe);
        if let (false, Some(tree)) = (uses_tree, &self.loss.hierarchy) {
            out.push(format!(
                "loss.hierarchy = {tree:?} with loss.kind = {:?}: only the soft and hxe losses \
                 use a tree, so this one ignores it",
                self.loss.kind.as_str()
            ));
        }
        let e = self.optim.epochs;
        if self.optim.schedule == Schedule::Step && e < 3 {
            let rates: Vec<String> = (0..e)
                .map(|i| {
                    let factor = 1.0 / Schedule::Step.learning_rate(1.0, i, e);
                    format!("epoch {} at lr/{}", i + 1, factor.round())
                })
                .collect();
            out.push(format!(
                "optim.epochs = {e} with optim.schedule = \"step\": the decays at epochs \
                 floor(E/3) and floor(2E/3) (counted from 0) leave no epoch at optim.lr ({}); \
                 use optim.schedule = \"constant\" for a run this short",
                rates.join(", ")
            ));
        }
        out
    }

    /// The sorted, distinct analysis epochs in `1..=optim.epochs` ([`AnalysisEpochs::resolve`]).
    pub fn analysis_epochs(&self) -> anyhow::Result<Vec<usize>> {
        self.analysis
            .epochs
            .resolve(self.optim.epochs)
            .map_err(|e| anyhow!("key `analysis.epochs`: {e}"))
    }
}

/// A config from a TOML table, types and keys checked (values are not: see
/// [`Config::validate`]); the error names the key at fault.
fn deserialize(table: &toml::Table) -> anyhow::Result<Config> {
    serde_path_to_error::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
        let path = e.path().to_string();
        // toml's messages end with an "in `key`" line; the path is given here instead.
        let inner = e.into_inner().to_string();
        let inner = inner.lines().next().unwrap_or("").trim_end().to_string();
        if path == "." || path.is_empty() {
            anyhow!("{inner}")
        } else if let Some(rest) = inner.strip_prefix("unknown field ") {
            let expected = rest.split_once(", ").map_or("", |(_, e)| e);
            anyhow!("unknown key `{path}` ({expected})")
        } else {
            anyhow!("key `{path}`: {inner}")
        }
    })
}

/// Sets `key=value` in a TOML table; the key is a dotted path (`optim.lr`), the value TOML
/// (`0.1`, `[512, 512]`, `"cifar10"`) or, when it does not parse as TOML, a bare string.
pub fn apply_override(table: &mut toml::Table, assignment: &str) -> anyhow::Result<()> {
    let (key, raw) = assignment
        .split_once('=')
        .ok_or_else(|| anyhow!("--set {assignment:?}: expected key=value"))?;
    let key = key.trim();
    let raw = raw.trim();
    let value: toml::Value = match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t.remove("v").expect("the table has the key v"),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        bail!("--set {assignment:?}: empty part in key {key:?}");
    }
    let mut cur = table;
    for (i, part) in parts[..parts.len() - 1].iter().enumerate() {
        let entry = cur
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry.as_table_mut().ok_or_else(|| {
            anyhow!(
                "--set {assignment:?}: `{}` is not a table",
                parts[..=i].join(".")
            )
        })?;
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_protocol_default_and_round_trips() {
        let c = Config::from_toml_str("", &[]).unwrap();
        assert_eq!(c.optim.lr, 0.0679);
        assert_eq!(c.optim.epochs, 350);
        assert_eq!(c.model.widths, vec![1024, 1024, 1024]);
        let back = Config::from_toml_str(&c.to_toml_string(), &[]).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn overrides_reach_nested_keys_and_parse_toml_values() {
        let c = Config::from_toml_str(
            "[optim]\nlr = 0.5\n",
            &[
                "optim.epochs=30".into(),
                "model.widths=[8, 4]".into(),
                "data.name=cifar10".into(),
            ],
        )
        .unwrap();
        assert_eq!(c.optim.lr, 0.5);
        assert_eq!(c.optim.epochs, 30);
        assert_eq!(c.model.widths, vec![8, 4]);
        assert_eq!(c.data.name, DatasetName::Cifar10);
    }

    #[test]
    fn log_epochs_include_first_and_last() {
        // log:5 over 16 epochs: 16^(j/4) = 1, 2, 4, 8, 16.
        let c = Config::from_toml_str(
            "[optim]\nepochs = 16\n[analysis]\nepochs = \"log:5\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.analysis_epochs().unwrap(), vec![1, 2, 4, 8, 16]);
        // A list gets 1 and the last added.
        let c = Config::from_toml_str("[optim]\nepochs = 10\n[analysis]\nepochs = [3, 5]\n", &[])
            .unwrap();
        assert_eq!(c.analysis_epochs().unwrap(), vec![1, 3, 5, 10]);
        // More points than epochs (the default log:50 on a short run): 4^(j/5) for j = 0..5
        // is 1, 1.32, 1.74, 2.30, 3.03, 4, which round to 1, 1, 2, 2, 3, 4.
        let spec = AnalysisEpochs::Spec("log:6".into());
        assert_eq!(spec.resolve(4).unwrap(), vec![1, 2, 3, 4]);
    }

    #[test]
    fn errors_name_the_set_or_the_file_they_come_from() {
        let dir = nclab_testkit::scratch("config-attribution");
        let path = dir.join("c.toml");
        let err = |file: &str, sets: &[&str]| {
            std::fs::write(&path, file).unwrap();
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            format!("{:#}", Config::load(&path, &sets).unwrap_err())
        };
        let file = format!("config {}", path.display());
        // A named pipe is refused at once (reading it would wait for a writer for ever).
        let fifo = dir.join("pipe.toml");
        nclab_testkit::fifo(&fifo);
        let e = format!("{:#}", Config::load(&fifo, &[]).unwrap_err());
        assert!(
            e.starts_with("cannot read the config: ")
                && e.contains("pipe.toml: not a regular file"),
            "{e}"
        );
        // A typo in a --set is the --set's, not the file's.
        let e = err("[optim]\nepochs = 30\n", &["seed=1", "optim.lrr=0.1"]);
        assert!(
            e.starts_with("--set optim.lrr=0.1: unknown key `optim.lrr` (expected one of"),
            "{e}"
        );
        assert!(!e.contains("c.toml"), "{e}");
        let e = err("", &["optim.epochs=abc"]);
        assert!(
            e.starts_with("--set optim.epochs=abc: key `optim.epochs`: invalid type"),
            "{e}"
        );
        // A value out of range set by --set.
        let e = err("", &["optim.lr=-1"]);
        assert_eq!(
            e,
            "--set optim.lr=-1: key `optim.lr`: must be a positive number, got -1"
        );
        // The file's own typo, with or without --set.
        let e = err("[optim]\nlrr = 1\n", &["seed=1"]);
        assert!(
            e.starts_with(&format!("{file}: unknown key `optim.lrr`")),
            "{e}"
        );
        let e = err("[optim]\nlr = -1\n", &[]);
        assert_eq!(
            e,
            format!("{file}: key `optim.lr`: must be a positive number, got -1")
        );
        // A value of the file out of range once a --set applies: both are named.
        let e = err("[analysis]\nepochs = [20]\n", &["optim.epochs=10"]);
        assert!(
            e.starts_with(&format!(
                "{file} (with --set optim.epochs=10): key `analysis.epochs`: epoch 20 is \
                 outside the run's epochs, 1 to 10"
            )),
            "{e}"
        );
    }

    fn warnings(sets: &[&str]) -> Vec<String> {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        Config::from_toml_str("", &sets).unwrap().warnings()
    }

    #[test]
    fn hierarchical_losses_on_a_flat_tree_are_warned_about() {
        assert_eq!(warnings(&[]), Vec::<String>::new());
        let tree = ["data.name=fashion-mnist", "hierarchy=fashion-mnist"];
        assert_eq!(
            warnings(&[tree[0], tree[1], "loss.kind=hxe"]),
            Vec::<String>::new()
        );
        for flat in ["flat", "flat:10"] {
            let w = warnings(&[&format!("hierarchy={flat}"), "loss.kind=hxe"]);
            assert_eq!(w.len(), 1, "{w:?}");
            assert!(
                w[0].starts_with(&format!(
                    "loss.kind = \"hxe\" with hierarchy = \"{flat}\", a tree of depth 1: HXE \
                     is then cross-entropy times a constant"
                )),
                "{}",
                w[0]
            );
        }
        let w = warnings(&["loss.kind=soft"]);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("plain label smoothing"), "{}", w[0]);
        // A plain loss on the flat tree is what it should be.
        assert_eq!(warnings(&["loss.kind=mse"]), Vec::<String>::new());
    }

    #[test]
    fn a_loss_tree_of_its_own_leaves_the_metrics_tree() {
        let set = |sets: &[&str]| {
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            Config::from_toml_str("", &sets).unwrap()
        };
        let tree = ["data.name=fashion-mnist", "hierarchy=fashion-mnist"];
        // Unset: the loss uses `hierarchy`, and a written config has no such key (so configs
        // written before the key existed read back the same).
        let c = set(&[tree[0], tree[1], "loss.kind=soft"]);
        assert!(c.hierarchies().unwrap().1.is_none());
        assert!(!c
            .to_toml_string()
            .split("[loss]")
            .nth(1)
            .unwrap()
            .contains("hierarchy"));
        // `flat` for the loss alone: label smoothing, measured on the Fashion-MNIST tree.
        let c = set(&[tree[0], tree[1], "loss.kind=soft", "loss.hierarchy=flat"]);
        let loss_tree = c.hierarchies().unwrap().1.unwrap();
        assert_eq!((loss_tree.num_classes(), loss_tree.max_depth()), (10, 1));
        assert!(c.hierarchy().unwrap().max_depth() > 1);
        assert_eq!(Config::from_toml_str(&c.to_toml_string(), &[]).unwrap(), c);
        // Chosen on purpose, label smoothing is not warned about; HXE on a flat loss tree (CE
        // times a constant) is, naming the key that made it flat; a loss without a tree is.
        assert_eq!(c.warnings(), Vec::<String>::new());
        let hxe = set(&[tree[0], tree[1], "loss.kind=hxe", "loss.hierarchy=flat"]);
        let w = hxe.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].starts_with(
                "loss.kind = \"hxe\" with loss.hierarchy = \"flat\", a tree of depth 1: HXE is \
                 then cross-entropy times a constant"
            ) && w[0].contains("set `loss.hierarchy` to a tree"),
            "{}",
            w[0]
        );
        // ... and HXE on its own real tree, in a run measured on the flat one, is not.
        let own = set(&["loss.kind=hxe", "loss.hierarchy=fashion-mnist"]);
        assert_eq!(own.warnings(), Vec::<String>::new());
        assert_eq!(
            set(&["loss.kind=mse", "loss.hierarchy=flat"]).warnings(),
            vec![
                "loss.hierarchy = \"flat\" with loss.kind = \"mse\": only the soft and hxe \
                 losses use a tree, so this one ignores it"
                    .to_string()
            ]
        );
        // A loss tree that does not resolve, or does not fit the data, names its key and --set.
        let dir = nclab_testkit::scratch("config-loss-tree");
        let path = dir.join("c.toml");
        std::fs::write(&path, "[loss]\nkind = \"soft\"\n").unwrap();
        let err = |set: &str| format!("{:#}", Config::load(&path, &[set.into()]).unwrap_err());
        let e = err("loss.hierarchy=no-such-tree");
        assert!(
            e.starts_with(
                "--set loss.hierarchy=no-such-tree: key `loss.hierarchy` (\"no-such-tree\")"
            ),
            "{e}"
        );
        // The same classes as `hierarchy`, in another order.
        let tree = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path.display().to_string()
        };
        let run_tree = tree("run.txt", "r a\nr b\na c0\na c1\nb c2\nb c3\n");
        let regrouped = tree("regrouped.txt", "r a\nr b\na c0\nb c1\nb c2\nb c3\n");
        // An edge list numbers the classes in the order of their lines: c2 is class 1 here.
        let swapped = tree("swapped.txt", "r a\nr b\na c0\na c2\nb c1\nb c3\n");
        let c = |loss_tree: &str| {
            let sets = [
                "data.name=\"synthetic\"".to_string(),
                "data.classes=4".to_string(),
                format!("hierarchy=\"{run_tree}\""),
                format!("loss.hierarchy=\"{loss_tree}\""),
            ];
            Config::from_toml_str("[loss]\nkind = \"soft\"\n", &sets).unwrap()
        };
        // Other groups, the same class order: a tree of its own, accepted.
        let own = c(&regrouped).hierarchies().unwrap().1.unwrap();
        assert_eq!(own.class_names(), ["c0", "c1", "c2", "c3"]);
        let e = format!("{:#}", c(&swapped).hierarchies().unwrap_err());
        assert!(
            e.contains("in another order (class 1 is \"c1\" there, \"c2\" here)"),
            "{e}"
        );
        let e = err("loss.hierarchy=flat:7");
        assert!(
            e.starts_with("--set loss.hierarchy=flat:7: key `loss.hierarchy` (\"flat:7\")"),
            "{e}"
        );
    }

    #[test]
    fn differences_pair_keys_by_name_also_when_one_side_leaves_one_unset() {
        let c = |sets: &[&str]| {
            let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            Config::from_toml_str("", &sets).unwrap()
        };
        let (old, new) = (
            c(&["loss.kind=soft"]),
            c(&["loss.kind=soft", "optim.lr=0.1"]),
        );
        assert_eq!(new.differences(&old), ["optim.lr (0.0679 -> 0.1)"]);
        assert_eq!(old.differences(&old), Vec::<String>::new());
        // Only the optional key differs: it alone is named, on either side.
        let ls = c(&["loss.kind=soft", "loss.hierarchy=flat"]);
        assert_eq!(ls.differences(&old), ["loss.hierarchy (unset -> \"flat\")"]);
        assert_eq!(old.differences(&ls), ["loss.hierarchy (\"flat\" -> unset)"]);
        let both = c(&["loss.kind=soft", "loss.hierarchy=flat", "seed=2"]);
        assert_eq!(
            both.differences(&old),
            ["loss.hierarchy (unset -> \"flat\")", "seed (0 -> 2)"]
        );
    }

    #[test]
    fn a_step_schedule_too_short_for_its_decays_is_warned_about() {
        assert_eq!(
            warnings(&["optim.epochs=2"]),
            vec![
                "optim.epochs = 2 with optim.schedule = \"step\": the decays at epochs \
                 floor(E/3) and floor(2E/3) (counted from 0) leave no epoch at optim.lr (epoch \
                 1 at lr/10, epoch 2 at lr/100); use optim.schedule = \"constant\" for a run \
                 this short"
                    .to_string()
            ]
        );
        let w = warnings(&["optim.epochs=1"]);
        assert!(w[0].contains("(epoch 1 at lr/100)"), "{w:?}");
        assert_eq!(warnings(&["optim.epochs=3"]), Vec::<String>::new());
        assert_eq!(
            warnings(&["optim.epochs=2", "optim.schedule=constant"]),
            Vec::<String>::new()
        );
    }
}
