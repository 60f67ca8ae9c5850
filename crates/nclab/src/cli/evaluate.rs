//! `nclab evaluate`: mistake metrics (and optionally losses) of saved logits.
//!
//! ```text
//! nclab evaluate --logits L.npy --labels Y.npy --hierarchy NAME|FILE [--k 1,5] [--crm]
//!                [--loss ce --loss mse --loss hxe:0.5 --loss soft:4 ...] [--format table|json]
//!                [--predictions FILE]
//! ```
//! JSON keys: `top{k}_error`, `mistake_severity`, `hdist@{k}`, `hprecision@{k}`, `hmap@{k}`
//! (k = 1 always included), `floor` (the floor of each `hdist@{k}` for these labels: the least
//! value any ranking reaches, docs/losses-and-hierarchies.md), `loss` (an object keyed by each
//! loss spec as written, holding its batch mean), and with `--crm` the same metrics again under
//! `crm`. A mistake severity with no mistake is null. `--predictions` also writes the ranking of
//! every sample in the format of a run's `test_predictions.csv` (docs/run-directory.md).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use nclab_core::hierarchy::Hierarchy;
use nclab_core::io::npy;
use nclab_core::labels::to_classes as labels_from_integers;
use nclab_core::losses::{Loss, LossSpec};
use nclab_core::metrics::mistakes::{MistakeEvaluator, MistakeMetrics, Ranking, ScoreKind};
use nclab_runs::predictions::TestPredictions;

use super::output::{human, outln};

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvalFormat {
    Table,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Logits (or probabilities with --probabilities), N x K (.npy of f16, f32 or f64).
    #[arg(long)]
    pub logits: PathBuf,
    /// True labels, N integers in 0..K (.npy, any integer type).
    #[arg(long)]
    pub labels: PathBuf,
    /// Class hierarchy: built-in (cifar10, cifar100, fashion-mnist, flat:K, flat) or a file.
    /// Its class count must equal K. Default: flat (top-k errors; every mistake has
    /// severity 1).
    #[arg(long, default_value = "flat")]
    pub hierarchy: String,
    /// Cut-offs k of the top-k metrics (comma separated; 1 is always included). Default:
    /// 1,5, or 1,K with fewer than 5 classes.
    #[arg(long, value_delimiter = ',')]
    pub k: Vec<usize>,
    /// Also report every metric after CRM re-ranking (rank by -(p @ D)).
    #[arg(long)]
    pub crm: bool,
    /// A loss to evaluate (batch mean): ce, mse[:KAPPA[:WEIGHT]], soft:BETA,
    /// hxe:ALPHA[:none|nodes]. Repeatable.
    #[arg(long = "loss")]
    pub losses: Vec<String>,
    /// The scores are probabilities (rows summing to 1), not logits.
    #[arg(long)]
    pub probabilities: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = EvalFormat::Table)]
    pub format: EvalFormat,
    /// Also write every sample's label, its top min(5, K) classes by score and their distances
    /// to FILE, in the format of a run's test_predictions.csv: placed in a run directory, it
    /// lets `nclab report` say what a new sample of test images would add.
    #[arg(long, value_name = "FILE")]
    pub predictions: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let logits_t = npy::read(&args.logits)?;
    let what = args.logits.display().to_string();
    let scores = logits_t.matrix(&what)?;
    let labels_t = npy::read(&args.labels)?;
    let lwhat = args.labels.display().to_string();
    let raw = nclab_core::labels::label_values(&labels_t, &lwhat)?;
    if raw.len() != scores.n {
        bail!(
            "{what} has {} rows but {lwhat} has {} labels",
            scores.n,
            raw.len()
        );
    }
    let k = scores.d;
    // The tree first: logits of the wrong width are their fault, not the labels'.
    let hierarchy = Hierarchy::resolve(&args.hierarchy, Some(k)).with_context(|| {
        format!(
            "--hierarchy {} against the {k} columns of {what}",
            args.hierarchy
        )
    })?;
    let labels: Vec<usize> = labels_from_integers(&raw, k, &lwhat)?
        .into_iter()
        .map(|v| v as usize)
        .collect();
    hierarchy.check_matrix_size()?;
    let kind = if args.probabilities {
        ScoreKind::Probabilities
    } else {
        ScoreKind::Logits
    };
    let specs: Vec<(String, LossSpec)> = args
        .losses
        .iter()
        .map(|s| Ok((s.clone(), s.parse::<LossSpec>()?)))
        .collect::<Result<_>>()?;
    if args.probabilities && !specs.is_empty() {
        bail!("--loss needs logits, not probabilities (drop --probabilities or --loss)");
    }

    let cut_offs = if args.k.is_empty() {
        vec![1, hierarchy.num_classes().min(5)]
    } else {
        args.k.clone()
    };
    let evaluator = MistakeEvaluator::new(&hierarchy, &cut_offs)?;
    // The core names "the scores"; the user gave them as a file.
    let named = |e: nclab_core::Error| anyhow::anyhow!("{what}: {e}");
    let plain = evaluator
        .evaluate(scores, kind, &labels, Ranking::Scores)
        .map_err(named)?;
    let crm = if args.crm {
        Some(
            evaluator
                .evaluate(scores, kind, &labels, Ranking::Crm)
                .map_err(named)?,
        )
    } else {
        None
    };
    // The least hdist@k of any ranking of these labels; the same for both rankings.
    let floor: Vec<(String, f64)> = evaluator
        .ks()
        .iter()
        .map(|k| format!("hdist@{k}"))
        .zip(evaluator.hdist_floor(&labels).map_err(named)?)
        .collect();
    if let Some(path) = &args.predictions {
        let ranked = MistakeEvaluator::top1_top5(&hierarchy)?;
        let p = TestPredictions::of_logits(&ranked, scores, &labels).map_err(named)?;
        p.write(path)
            .with_context(|| format!("--predictions {}", path.display()))?;
    }
    let mut losses = Vec::new();
    for (name, spec) in &specs {
        let value = Loss::new(*spec, &hierarchy).batch_mean(scores, &labels, None)?;
        losses.push((name.clone(), value));
    }

    match args.format {
        EvalFormat::Json => {
            let mut obj = metrics_json(&plain);
            let floor_obj: serde_json::Map<_, _> = floor
                .iter()
                .map(|(name, v)| (name.clone(), number(*v)))
                .collect();
            obj.insert("floor".into(), floor_obj.into());
            if !specs.is_empty() {
                let mut l = serde_json::Map::new();
                for (name, v) in &losses {
                    l.insert(name.clone(), number(*v));
                }
                obj.insert("loss".into(), l.into());
            }
            if let Some(c) = &crm {
                obj.insert("crm".into(), metrics_json(c).into());
            }
            outln!(
                "{}",
                serde_json::to_string_pretty(&serde_json::Value::Object(obj))?
            )
        }
        EvalFormat::Table => print_table(&plain, crm.as_ref(), &floor, &losses, &hierarchy),
    }
}

fn number(v: f64) -> serde_json::Value {
    nclab_runs::numbers::json(Some(v))
}

fn metrics_json(m: &MistakeMetrics) -> serde_json::Map<String, serde_json::Value> {
    let mut obj = serde_json::Map::new();
    for (name, v) in m.entries() {
        obj.insert(name, number(v));
    }
    obj
}

fn print_table(
    plain: &MistakeMetrics,
    crm: Option<&MistakeMetrics>,
    floor: &[(String, f64)],
    losses: &[(String, f64)],
    h: &Hierarchy,
) -> Result<()> {
    outln!(
        "{} samples, {} classes, hierarchy {} (max LCA height {})",
        plain.n,
        h.num_classes(),
        h.source(),
        h.max_distance()
    )?;
    let entries = plain.entries();
    let crm_entries = crm.map(|c| c.entries());
    let width = entries
        .iter()
        .map(|(n, _)| n.len())
        .chain(losses.iter().map(|(n, _)| n.len() + 6))
        .chain(floor.iter().map(|(n, _)| n.len() + 6))
        .max()
        .unwrap_or(0);
    let show = |v: f64| {
        if v.is_nan() {
            "n/a".to_string()
        } else {
            human(Some(v))
        }
    };
    if crm_entries.is_some() {
        outln!("{:<width$}  {:>12}  {:>12}", "metric", "scores", "crm")?;
    }
    for (i, (name, v)) in entries.iter().enumerate() {
        match &crm_entries {
            Some(c) => outln!("{name:<width$}  {:>12}  {:>12}", show(*v), show(c[i].1))?,
            None => outln!("{name:<width$}  {}", show(*v))?,
        }
    }
    // The floor does not depend on the ranking: one value, under "scores".
    for (name, v) in floor {
        let name = format!("{name} floor");
        outln!(
            "{name:<width$}  {:>w$}",
            show(*v),
            w = if crm.is_some() { 12 } else { 0 }
        )?;
    }
    for (name, v) in losses {
        let label = format!("loss {name}");
        outln!("{label:<width$}  {}", show(*v))?;
    }
    Ok(())
}
