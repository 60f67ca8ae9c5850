//! `nclab measure`: neural-collapse metrics of exported features.
//!
//! ```text
//! nclab measure --features H.npy --labels Y.npy [--weights W.npy] [--bias B.npy] [--predictions P.npy]
//! nclab measure RUN.safetensors [--features-key features ...]
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nclab_core::hierarchy::Hierarchy;
use nclab_core::io::{npy, safetensors};
use nclab_core::metrics::collapse::labels_from_integers;
use nclab_core::metrics::mse_decomposition::mse_decomposition;
use nclab_core::metrics::{neural_collapse_with_statistics, CollapseInput, TreeMatrices};
use nclab_core::tensor::Tensor;

use super::output::{print_metrics, Format};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "A metric whose input was not given (NC3 without --weights, say) is reported as null."
)]
pub struct Args {
    /// A .safetensors file holding the tensors (names set by the --*-key flags).
    pub file: Option<PathBuf>,
    /// Penultimate features, N x d (.npy, f32 or f64).
    #[arg(long, conflicts_with = "file")]
    pub features: Option<PathBuf>,
    /// Labels, N integers in 0..K (.npy, any integer type).
    #[arg(long, conflicts_with = "file")]
    pub labels: Option<PathBuf>,
    /// Last-layer weights, K x d (.npy).
    #[arg(long, conflicts_with = "file")]
    pub weights: Option<PathBuf>,
    /// Last-layer bias, K (.npy).
    #[arg(long, conflicts_with = "file")]
    pub bias: Option<PathBuf>,
    /// The network's predictions, N integers (.npy); default argmax(W h + b).
    #[arg(long, conflicts_with = "file")]
    pub predictions: Option<PathBuf>,
    /// Tensor names inside a .safetensors file.
    #[arg(long, default_value = "features")]
    pub features_key: String,
    #[arg(long, default_value = "labels")]
    pub labels_key: String,
    #[arg(long, default_value = "weights")]
    pub weights_key: String,
    #[arg(long, default_value = "bias")]
    pub bias_key: String,
    #[arg(long, default_value = "predictions")]
    pub predictions_key: String,
    /// Number of classes K (default: rows of the weights, else max label + 1).
    #[arg(long)]
    pub num_classes: Option<usize>,
    /// A class hierarchy (built-in name or file) for mean_tree_correlation, nc2_tree, nc1_coarse.
    #[arg(long)]
    pub hierarchy: Option<String>,
    /// Depth of the coarse level for nc1_coarse (default 1: the root's children).
    #[arg(long, requires = "hierarchy")]
    pub coarse_depth: Option<usize>,
    /// Also compute Han et al.'s MSE decomposition (lnc1, lnc23, lperp; O(N d^2 + d^3)).
    #[arg(long, requires = "weight_decay", requires = "weights")]
    pub mse_decomposition: bool,
    /// The weight decay the network was trained with (lambda = WD / 2).
    #[arg(long)]
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
    /// Where each came from, for error messages.
    sources: [String; 5],
}

fn load_inputs(args: &Args) -> Result<Inputs> {
    if let Some(file) = &args.file {
        let mut st = safetensors::read(file)?;
        let mut optional = |key: &str| st.tensors.remove(key);
        let weights = optional(&args.weights_key);
        let bias = optional(&args.bias_key);
        let predictions = optional(&args.predictions_key);
        let features = st.take(&args.features_key)?;
        let labels = st.take(&args.labels_key)?;
        let name = |key: &str| format!("{}:{key}", file.display());
        return Ok(Inputs {
            features,
            labels,
            weights,
            bias,
            predictions,
            sources: [
                name(&args.features_key),
                name(&args.labels_key),
                name(&args.weights_key),
                name(&args.bias_key),
                name(&args.predictions_key),
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
    Ok(Inputs {
        features: read(features)?,
        labels: read(labels)?,
        weights: optional(&args.weights)?,
        bias: optional(&args.bias)?,
        predictions: optional(&args.predictions)?,
        sources: [
            features.display().to_string(),
            labels.display().to_string(),
            show(&args.weights),
            show(&args.bias),
            show(&args.predictions),
        ],
    })
}

/// A 1-D integer tensor (labels, predictions); a column vector `N x 1` is accepted too.
fn integer_vector(t: &Tensor, what: &str) -> Result<Vec<i64>> {
    let flat = matches!(t.shape.as_slice(), [_] | [_, 1]);
    if !flat {
        bail!(
            "{what}: expected a 1-D array of integers, got shape {:?}",
            t.shape
        );
    }
    Ok(t.integers(what)?)
}

pub fn run(args: Args) -> Result<()> {
    let inputs = load_inputs(&args)?;
    let [src_h, src_y, src_w, src_b, src_p] = &inputs.sources;
    let features = inputs.features.matrix(src_h)?;
    let raw_labels = integer_vector(&inputs.labels, src_y)?;
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
    let hierarchy = args
        .hierarchy
        .as_deref()
        .map(|spec| Hierarchy::resolve(spec, args.num_classes.or(weights.map(|w| w.n))))
        .transpose()
        .context("--hierarchy")?;

    let k = match (args.num_classes, weights) {
        (Some(k), _) => k,
        (None, Some(w)) => w.n,
        (None, None) => raw_labels
            .iter()
            .max()
            .map_or(0, |&m| m.max(0) as usize + 1),
    };
    let labels = labels_from_integers(&raw_labels, k, src_y)?;
    let predictions = match &inputs.predictions {
        Some(p) => Some(labels_from_integers(&integer_vector(p, src_p)?, k, src_p)?),
        None => None,
    };
    let tree = match &hierarchy {
        Some(h) => Some(tree_matrices(h, k, args.coarse_depth.unwrap_or(1))?),
        None => None,
    };
    let input = CollapseInput {
        features,
        labels: &labels,
        num_classes: k,
        weights,
        bias: bias.as_deref(),
        predictions: predictions.as_deref(),
    };
    let (metrics, stats) = neural_collapse_with_statistics(&input, tree.as_ref())?;
    let mut rows: Vec<(String, Option<f64>)> = vec![
        ("n".into(), Some(features.n as f64)),
        ("d".into(), Some(features.d as f64)),
        ("k".into(), Some(k as f64)),
    ];
    rows.extend(metrics.into_iter().map(|(name, v)| (name.to_string(), v)));
    if args.mse_decomposition {
        let (w, wd) = (
            weights.expect("clap requires --weights"),
            args.weight_decay.expect("clap requires --weight-decay"),
        );
        let b = bias.clone().unwrap_or_else(|| vec![0.0; k]);
        let dec = mse_decomposition(features, &labels, &stats, &w.to_f64_vec(), &b, wd)?;
        rows.extend(
            dec.entries()
                .into_iter()
                .map(|(name, v)| (name.to_string(), v)),
        );
    }
    print_metrics(&rows, args.format);
    Ok(())
}

/// The matrices of a hierarchy that the tree metrics use, checked against the data's K.
fn tree_matrices(h: &Hierarchy, k: usize, coarse_depth: usize) -> Result<TreeMatrices> {
    h.check_num_classes(k)?;
    Ok(TreeMatrices::from_hierarchy(h, coarse_depth))
}
