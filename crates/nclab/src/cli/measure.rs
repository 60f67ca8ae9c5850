//! `nclab measure`: neural-collapse metrics of exported features.
//!
//! ```text
//! nclab measure --features H.npy --labels Y.npy [--weights W.npy] [--bias B.npy] [--predictions P.npy]
//!               [--eval-features H2.npy --eval-labels Y2.npy] [--ood-features O.npy]
//! nclab measure RUN.safetensors [--features-key features ...] [--eval-features-key test.features ...]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nclab_core::hierarchy::Hierarchy;
use nclab_core::io::{npy, safetensors};
use nclab_core::labels::{label_values, measured_classes, to_classes, ClassSources};
use nclab_core::metrics::measurement::Measurement;
use nclab_core::metrics::scatter::Classifier;
use nclab_core::metrics::{CollapseInput, TreeMatrices};
use nclab_core::tensor::{MatrixView, Tensor};

use super::output::{print_metrics, Format};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "A metric that is not defined for the input is null in the table and in JSON and an \
                  empty cell in CSV: one whose input was not given (NC3 without --weights), or \
                  one the data leave undefined (nc1_coarse on a tree without a level between \
                  the root and the classes, such as flat)."
)]
pub struct Args {
    /// A .safetensors file holding the tensors (names set by the --*-key flags).
    pub file: Option<PathBuf>,
    /// Penultimate features of the training set, N x d (.npy: float16, bfloat16, float32 or
    /// float64).
    #[arg(long, alias = "train-features", conflicts_with = "file")]
    pub features: Option<PathBuf>,
    /// Labels, N integers in 0..K (.npy, any integer type; N or N x 1).
    #[arg(long, alias = "train-labels", conflicts_with = "file")]
    pub labels: Option<PathBuf>,
    /// Held-out features (e.g. the test set), for heldout_nc1, heldout_nc4 and
    /// heldout_ncc_accuracy against the training set's class means.
    #[arg(long, conflicts_with = "file", requires = "eval_labels")]
    pub eval_features: Option<PathBuf>,
    /// Labels of the held-out features.
    #[arg(long, conflicts_with = "file", requires = "eval_features")]
    pub eval_labels: Option<PathBuf>,
    /// Out-of-distribution features, for nc5 (their mean's |cos| with the class means).
    #[arg(long)]
    pub ood_features: Option<PathBuf>,
    /// Last-layer weights, K x d (.npy).
    #[arg(long, conflicts_with = "file")]
    pub weights: Option<PathBuf>,
    /// Last-layer bias, K (.npy).
    #[arg(long, conflicts_with = "file")]
    pub bias: Option<PathBuf>,
    /// The network's predictions, N integers (.npy); default argmax(W h + b).
    #[arg(long, conflicts_with = "file")]
    pub predictions: Option<PathBuf>,
    /// The features' tensor in the .safetensors file (a run's final.safetensors:
    /// train.features).
    #[arg(long, default_value = "features")]
    pub features_key: String,
    /// The labels' tensor in the .safetensors file (a run's final.safetensors: train.labels).
    #[arg(long, default_value = "labels")]
    pub labels_key: String,
    /// The classifier's weights (K x d) in the .safetensors file [default: weights, used when
    /// present; a key given here must be there].
    #[arg(long)]
    pub weights_key: Option<String>,
    /// The classifier's bias (K) in the .safetensors file [default: bias, used when present; a
    /// key given here must be there].
    #[arg(long)]
    pub bias_key: Option<String>,
    /// The predictions (N integers) in the .safetensors file [default: predictions, used when
    /// present; a key given here must be there].
    #[arg(long)]
    pub predictions_key: Option<String>,
    /// Held-out features inside the .safetensors file (e.g. test.features of a run's
    /// final.safetensors) [default: test.features; measured when they and the held-out labels
    /// are both there; a key given here must be there].
    #[arg(long)]
    pub eval_features_key: Option<String>,
    /// Labels of the held-out features inside the .safetensors file [default: test.labels; a
    /// key given here must be there].
    #[arg(long)]
    pub eval_labels_key: Option<String>,
    /// Number of classes K (default: rows of the weights, else the largest label + 1, which
    /// must then be below N).
    #[arg(long)]
    pub num_classes: Option<usize>,
    /// A class hierarchy (built-in name or file) for mean_tree_correlation, nc2_tree, nc1_coarse.
    #[arg(long)]
    pub hierarchy: Option<String>,
    /// Depth of the coarse level for nc1_coarse, at least 1 (default 1: the root's children).
    #[arg(long, requires = "hierarchy")]
    pub coarse_depth: Option<usize>,
    /// Also compute Han et al.'s MSE decomposition (lnc1, lnc23, lperp; O(N d^2 + d^3)).
    #[arg(long, requires = "weight_decay", requires = "weights")]
    pub mse_decomposition: bool,
    /// The weight decay the network was trained with (lambda = WD / 2), for
    /// --mse-decomposition (nothing else reads it).
    #[arg(long, requires = "mse_decomposition")]
    pub weight_decay: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// The tensors of one measurement, wherever they came from.
struct Inputs {
    features: Tensor,
    labels: Tensor,
    weights: Option<Tensor>,
    bias: Option<Tensor>,
    predictions: Option<Tensor>,
    /// Held-out features and labels.
    eval: Option<(Tensor, Tensor)>,
    /// Where each came from, for error messages: features, labels, weights, bias,
    /// predictions, held-out features, held-out labels.
    sources: [String; 7],
}

fn load_inputs(args: &Args) -> Result<Inputs> {
    if let Some(file) = &args.file {
        let mut st = safetensors::read(file)?;
        // The optional tensors: a key given on the command line must be there; a default one
        // is used when it is.
        let keys = [
            (&args.weights_key, "weights"),
            (&args.bias_key, "bias"),
            (&args.predictions_key, "predictions"),
            (&args.eval_features_key, "test.features"),
            (&args.eval_labels_key, "test.labels"),
        ]
        .map(|(given, default)| (given.as_deref().unwrap_or(default), given.is_some()));
        let mut names = vec![args.features_key.as_str(), args.labels_key.as_str()];
        names.extend(keys.iter().filter(|(_, given)| *given).map(|(key, _)| *key));
        if let Some(twice) = names
            .iter()
            .enumerate()
            .find_map(|(i, k)| names[..i].contains(k).then_some(*k))
        {
            bail!(
                "--*-key: the tensor \"{twice}\" is named for two inputs; each input needs its own"
            );
        }
        // Every tensor asked for is looked up before any is taken out, so that a missing one
        // is reported with every tensor the file holds.
        for key in &names {
            st.get(key)?;
        }
        let mut optional = |(key, _): (&str, bool)| st.tensors.remove(key);
        let [w, b, p, eh, ey] = keys;
        let (weights, bias, predictions) = (optional(w), optional(b), optional(p));
        // A bias found under its default name counts only beside weights.
        let bias = bias.filter(|_| weights.is_some() || b.1);
        let eval = match (optional(eh), optional(ey)) {
            (Some(h), Some(y)) => Some((h, y)),
            _ => None,
        };
        let features = st.take(&args.features_key)?;
        let labels = st.take(&args.labels_key)?;
        let name = |key: &str| format!("{}:{key}", file.display());
        return Ok(Inputs {
            features,
            labels,
            weights,
            bias,
            predictions,
            eval,
            sources: [
                name(&args.features_key),
                name(&args.labels_key),
                name(w.0),
                name(b.0),
                name(p.0),
                name(eh.0),
                name(ey.0),
            ],
        });
    }
    let (Some(features), Some(labels)) = (&args.features, &args.labels) else {
        bail!("give a .safetensors file, or both --features and --labels (see `nclab measure --help`)");
    };
    let read = |p: &Path| -> Result<Tensor> { Ok(npy::read(p)?) };
    let optional =
        |p: &Option<PathBuf>| -> Result<Option<Tensor>> { p.as_deref().map(read).transpose() };
    let show = |p: &Option<PathBuf>| {
        p.as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    let eval = match (&args.eval_features, &args.eval_labels) {
        (Some(h), Some(y)) => Some((read(h)?, read(y)?)),
        _ => None,
    };
    Ok(Inputs {
        features: read(features)?,
        labels: read(labels)?,
        weights: optional(&args.weights)?,
        bias: optional(&args.bias)?,
        predictions: optional(&args.predictions)?,
        eval,
        sources: [
            features.display().to_string(),
            labels.display().to_string(),
            show(&args.weights),
            show(&args.bias),
            show(&args.predictions),
            show(&args.eval_features),
            show(&args.eval_labels),
        ],
    })
}

/// `nclab measure`: reads the inputs, checks that they agree, and prints every metric they
/// define.
pub fn run(args: Args) -> Result<()> {
    let inputs = load_inputs(&args)?;
    let [src_h, src_y, src_w, src_b, src_p, _, _] = &inputs.sources;
    let features = inputs.features.matrix(src_h)?;
    let raw_labels = label_values(&inputs.labels, src_y)?;
    check_label_count(src_h, features.n, src_y, raw_labels.len())?;
    let weights = inputs
        .weights
        .as_ref()
        .map(|w| w.matrix(src_w))
        .transpose()?;
    let bias = inputs
        .bias
        .as_ref()
        .map(|b| b.vector_f64(src_b))
        .transpose()?;
    if let Some(w) = weights {
        Classifier::check_columns(w, features.d).with_context(|| src_w.clone())?;
    }
    let (labels, k) = measured_classes(
        &raw_labels,
        args.num_classes,
        weights.map(|w| w.n),
        &ClassSources {
            labels: src_y,
            weights: src_w,
            weights_option: "--weights",
            num_classes_option: "--num-classes",
        },
    )?;
    let hierarchy = args
        .hierarchy
        .as_deref()
        .map(|spec| Hierarchy::resolve(spec, Some(k)))
        .transpose()
        .context("--hierarchy")?;
    let predictions = match &inputs.predictions {
        Some(p) => Some(to_classes(&label_values(p, src_p)?, k, src_p)?),
        None => None,
    };
    let tree = hierarchy
        .as_ref()
        .map(|h| TreeMatrices::for_data(h, k, args.coarse_depth.unwrap_or(1)))
        .transpose()?;
    let heldout = heldout_set(&inputs, k)?;
    let (ood, ood_what) = read_ood(&args)?;
    let measurement = Measurement {
        input: CollapseInput {
            features,
            labels: &labels,
            num_classes: k,
            weights,
            bias: bias.as_deref(),
            predictions: predictions.as_deref(),
        },
        tree: tree.as_ref(),
        heldout: heldout.as_ref().map(|(h, y)| (*h, y.as_slice())),
        ood: ood.as_ref().map(|t| t.matrix(&ood_what)).transpose()?,
        mse_weight_decay: args
            .mse_decomposition
            .then_some(args.weight_decay)
            .flatten(),
    };
    let [.., src_eh, src_ey] = &inputs.sources;
    let heldout_files = format!("{src_eh}, {src_ey}");
    let roles = [
        ("held-out data: features", src_eh.as_str()),
        ("held-out data", heldout_files.as_str()),
        ("out-of-distribution features", ood_what.as_str()),
        ("features", src_h.as_str()),
        ("weights", src_w.as_str()),
        ("bias", src_b.as_str()),
    ];
    let rows = measurement.run().map_err(|e| name_the_file(e, &roles))?;
    print_metrics(&rows, args.format)
}

/// The core names an input by its role (`features: non-finite value NaN at row 2, column 0`);
/// the user gave it as a file, which the message names beside the role:
/// `features (h.npy): non-finite value ...` (`nclab_core::error::with_input_names`).
fn name_the_file(e: nclab_core::Error, roles: &[(&str, &str)]) -> anyhow::Error {
    match nclab_core::error::with_input_names(&e.to_string(), roles) {
        Some(message) => anyhow::anyhow!(message),
        None => e.into(),
    }
}

/// Fails unless the features (`rows` of them, from `src_h`) and their labels (from `src_y`)
/// are as many.
fn check_label_count(src_h: &str, rows: usize, src_y: &str, labels: usize) -> Result<()> {
    if labels != rows {
        bail!("{src_h} has {rows} rows but {src_y} has {labels} labels");
    }
    Ok(())
}

/// The held-out features and their class indices in `0..k`, when given.
fn heldout_set(inputs: &Inputs, k: usize) -> Result<Option<(MatrixView<'_>, Vec<u32>)>> {
    let Some((h, y)) = &inputs.eval else {
        return Ok(None);
    };
    let [_, _, _, _, _, src_eh, src_ey] = &inputs.sources;
    let (h, y) = (
        h.matrix(src_eh)?,
        to_classes(&label_values(y, src_ey)?, k, src_ey)?,
    );
    check_label_count(src_eh, h.n, src_ey, y.len())?;
    Ok(Some((h, y)))
}

/// The out-of-distribution features (`--ood-features`), when given, with their path for
/// messages.
fn read_ood(args: &Args) -> Result<(Option<Tensor>, String)> {
    let ood = args.ood_features.as_deref().map(npy::read).transpose()?;
    let what = args
        .ood_features
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    Ok((ood, what))
}
