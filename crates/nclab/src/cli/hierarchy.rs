//! `nclab hierarchy`: show, query and convert class hierarchies.
//!
//! ```text
//! nclab hierarchy show NAME|FILE
//! nclab hierarchy distances NAME|FILE [--normalized] [--format csv|json] [--output F]
//! nclab hierarchy soft-labels NAME|FILE --beta B|--mass M [--format csv|json] [--output F]
//! nclab hierarchy convert NAME|FILE --to edges|json|dot [--classes NAMES.txt] [--output F]
//! ```
//! NAME is a built-in (`cifar10`, `cifar100`, `fashion-mnist`, `flat:K`, or `flat` with
//! `--num-classes K`); FILE an edge list or nested JSON.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nclab_core::hierarchy::{write_dot, write_edges, write_json, Hierarchy};
use nclab_core::io::write_atomic;
use nclab_core::losses::SoftTargets;
use nclab_runs::csv_text;

use super::output::{print_out, stream_out};

#[derive(clap::Args, Debug)]
pub struct Source {
    /// A built-in hierarchy (cifar10, cifar100, fashion-mnist, flat:K, flat) or a file
    /// (edge list `parent child` per line, or nested JSON).
    pub hierarchy: String,
    /// Number of classes: sizes `flat`, and is checked against the hierarchy otherwise.
    #[arg(long)]
    pub num_classes: Option<usize>,
}

impl Source {
    fn load(&self) -> Result<Hierarchy> {
        // Its errors name the file or the built-in name already.
        Ok(Hierarchy::resolve(&self.hierarchy, self.num_classes)?)
    }
}

/// Format of a K x K matrix.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatrixFormat {
    /// A header of class names, then K rows of K values.
    Csv,
    /// `{"classes": [...], "matrix": [[...], ...], ...}`.
    Json,
}

/// Target format of `convert`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TreeFormat {
    /// `parent child` per line.
    Edges,
    /// Nested `{"name": ..., "children": [...]}`.
    Json,
    /// Graphviz digraph.
    Dot,
}

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Draw the tree in the terminal: internal nodes, classes (with their index), depths.
    Show {
        #[command(flatten)]
        source: Source,
    },
    /// The K x K matrix of LCA heights d(a, b) (or dn = d / max d), in class order.
    Distances {
        #[command(flatten)]
        source: Source,
        /// Print dn = d / max d instead of d.
        #[arg(long)]
        normalized: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = MatrixFormat::Csv)]
        format: MatrixFormat,
        /// Write to this file (atomically) instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Soft-label targets: column t is the target distribution for true class t,
    /// q_a = exp(-beta dn(a,t)) / sum_b exp(-beta dn(b,t)).
    // One of --beta and --mass (the error for neither names both).
    #[command(group = clap::ArgGroup::new("target").required(true).args(["beta", "mass"]))]
    SoftLabels {
        #[command(flatten)]
        source: Source,
        /// The sharpness beta of the targets (0: uniform; large: one-hot).
        // Negative numbers are taken as values, so that `--beta -1` meets the range check's
        // message rather than clap's.
        #[arg(long, allow_negative_numbers = true)]
        beta: Option<f64>,
        /// Instead of --beta: the mean mass the targets put on the true class (between 1/K
        /// and 1); the beta that gives it is solved for and printed on standard error.
        #[arg(long, allow_negative_numbers = true)]
        mass: Option<f64>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = MatrixFormat::Csv)]
        format: MatrixFormat,
        /// Write to this file (atomically) instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Convert a hierarchy to another format.
    Convert {
        #[command(flatten)]
        source: Source,
        /// The format to write.
        #[arg(long, value_enum)]
        to: TreeFormat,
        /// Put the classes in this order: a text file of class names (leaf names), one per
        /// line, in your data's label order (line i: label i).
        #[arg(long)]
        classes: Option<PathBuf>,
        /// Write to this file (atomically) instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// `nclab hierarchy`: runs one subcommand.
pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Show { source } => {
            let h = source.load()?;
            stream_out(|out| draw(&h, out))
        }
        Command::Distances {
            source,
            normalized,
            format,
            output,
        } => distances(&source.load()?, normalized, format, output.as_ref()),
        Command::SoftLabels {
            source,
            beta,
            mass,
            format,
            output,
        } => soft_labels(&source.load()?, beta, mass, format, output.as_ref()),
        Command::Convert {
            source,
            to,
            classes,
            output,
        } => {
            let mut h = source.load()?;
            if let Some(path) = &classes {
                h = h
                    .with_class_order(&class_names(path)?)
                    .with_context(|| format!("--classes {}", path.display()))?;
            }
            let text = match to {
                TreeFormat::Edges => write_edges(&h)?,
                TreeFormat::Json => write_json(&h),
                TreeFormat::Dot => write_dot(&h),
            };
            emit(&text, output.as_ref())
        }
    }
}

/// The class names of a `--classes` file: one per line, blank lines and surrounding spaces
/// ignored.
fn class_names(path: &Path) -> Result<Vec<String>> {
    let text = nclab_core::io::read_text(path)?;
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        anyhow::bail!("{}: no class names (one per line)", path.display());
    }
    Ok(names)
}

/// `nclab hierarchy distances`: the K x K tree-distance matrix (LCA heights, or divided by
/// the largest with `normalized`), as CSV or JSON.
fn distances(
    h: &Hierarchy,
    normalized: bool,
    format: MatrixFormat,
    output: Option<&PathBuf>,
) -> Result<()> {
    h.check_matrix_size()?;
    let m = if normalized {
        h.normalized_distance_matrix()
    } else {
        h.distance_matrix()
    };
    let text = match format {
        MatrixFormat::Csv => matrix_csv(&h.class_names(), &m),
        MatrixFormat::Json => {
            let mut obj = matrix_json(&h.class_names(), &m);
            obj.insert("normalized".into(), normalized.into());
            obj.insert("max_distance".into(), h.max_distance().into());
            to_json(obj)
        }
    };
    emit(&text, output)
}

/// `nclab hierarchy soft-labels`: the soft targets of every class at `--beta`, or at the beta
/// that puts `--mass` on the true class, as CSV or JSON.
fn soft_labels(
    h: &Hierarchy,
    beta: Option<f64>,
    mass: Option<f64>,
    format: MatrixFormat,
    output: Option<&PathBuf>,
) -> Result<()> {
    h.check_matrix_size()?;
    let beta = soft_label_beta(h, beta, mass)?;
    let targets = SoftTargets::new(h, beta);
    let q = targets.matrix();
    let text = match format {
        MatrixFormat::Csv => matrix_csv(&h.class_names(), &q),
        MatrixFormat::Json => {
            let mut obj = matrix_json(&h.class_names(), &q);
            obj.insert("beta".into(), beta.into());
            obj.insert(
                "mean_true_class_mass".into(),
                targets.mean_true_class_mass().into(),
            );
            obj.insert(
                "layout".into(),
                "matrix[a][t] = q_a for true class t (column t is the target of t)".into(),
            );
            to_json(obj)
        }
    };
    emit(&text, output)
}

/// The soft labels' beta: `--beta` as given, or the one that puts a mean mass of `--mass` on
/// the true class (said on stderr); it must be finite and >= 0.
fn soft_label_beta(h: &Hierarchy, beta: Option<f64>, mass: Option<f64>) -> Result<f64> {
    let beta = match (beta, mass) {
        (Some(beta), _) => beta,
        (None, Some(mass)) => {
            let beta =
                SoftTargets::beta_for_mass(h, mass).map_err(|e| anyhow::anyhow!("--mass: {e}"))?;
            nclab_runs::errln!("beta = {beta:.6} puts a mean mass of {mass} on the true class");
            beta
        }
        (None, None) => unreachable!("clap requires --beta or --mass"),
    };
    if !beta.is_finite() || beta < 0.0 {
        anyhow::bail!("--beta must be finite and >= 0, got {beta}");
    }
    Ok(beta)
}

/// Prints to stdout (quietly stopping at a closed pipe), or writes the file atomically.
fn emit(text: &str, output: Option<&PathBuf>) -> Result<()> {
    match output {
        Some(path) => Ok(write_atomic(path, |w| w.write_all(text.as_bytes()))?),
        None => print_out(text),
    }
}

/// A header of class names, then the K rows of the row-major K x K matrix `m`.
fn matrix_csv(classes: &[String], m: &[f64]) -> String {
    let rows = m
        .chunks_exact(classes.len())
        .map(|row| row.iter().map(|v| format!("{v}")).collect::<Vec<_>>());
    csv_text::write(std::iter::once(classes.to_vec()).chain(rows))
}

fn matrix_json(classes: &[String], m: &[f64]) -> serde_json::Map<String, serde_json::Value> {
    let k = classes.len();
    let rows: Vec<serde_json::Value> = m
        .chunks_exact(k)
        .map(|r| {
            serde_json::Value::Array(
                r.iter()
                    .map(|&v| {
                        if v.fract() == 0.0 {
                            serde_json::Value::from(v as i64)
                        } else {
                            serde_json::Value::from(v)
                        }
                    })
                    .collect(),
            )
        })
        .collect();
    let mut obj = serde_json::Map::new();
    obj.insert("classes".into(), classes.to_vec().into());
    obj.insert("matrix".into(), rows.into());
    obj
}

fn to_json(obj: serde_json::Map<String, serde_json::Value>) -> String {
    let mut s = serde_json::to_string_pretty(&serde_json::Value::Object(obj)).expect("JSON");
    s.push('\n');
    s
}

/// Ancestor levels drawn in front of a node: deeper nodes are drawn at this indentation after
/// a `… ` mark (their label gives their depth), so that every line is short and the drawing
/// of a 100,000-deep chain is linear in its size.
const MAX_DRAWN_LEVELS: usize = 32;

/// Heights listed in full on the pairs line; beyond them the line ends with `…`.
const LISTED_HEIGHTS: usize = 8;

/// The second summary line: how many pairs of classes meet at each LCA height, and the most
/// `mean_tree_correlation` can reach on the tree (those ties keep it below 1).
fn pairs_line(h: &Hierarchy) -> String {
    let counts = h.pair_distance_counts();
    if counts.is_empty() {
        return "no pairs of classes".to_string();
    }
    let mut listed: Vec<String> = counts
        .iter()
        .take(LISTED_HEIGHTS)
        .map(|(d, n)| format!("{d}: {n}"))
        .collect();
    if counts.len() > LISTED_HEIGHTS {
        listed.push(format!("… ({} heights)", counts.len()));
    }
    let ceiling = match h.tree_correlation_ceiling() {
        Some(c) => format!(
            "mean_tree_correlation at most {}",
            nclab_runs::numbers::significant(Some(c), 4)
        ),
        None => "mean_tree_correlation undefined (every pair at one height)".to_string(),
    };
    format!(
        "pairs of classes by LCA height: {}; {ceiling}",
        listed.join(", ")
    )
}

/// The terminal drawing: two summary lines (sizes; pairs by LCA height and the
/// tree-correlation ceiling), then one line per node with box-drawing branches.
/// Internal nodes show their depth, height and number of classes; leaves their class index.
/// Written line by line to `out` without recursion.
fn draw(h: &Hierarchy, out: &mut dyn Write) -> std::io::Result<()> {
    let root = h.root();
    writeln!(
        out,
        "{}: {} classes, {} nodes ({} internal), max depth {}, max LCA height {}",
        h.source(),
        h.num_classes(),
        h.num_nodes(),
        h.num_nodes() - h.num_classes(),
        h.max_depth(),
        h.max_distance()
    )?;
    writeln!(out, "{}", pairs_line(h))?;
    writeln!(out, "{}", node_label(h, root))?;
    // Nodes still to draw, last one next: (node, whether it is its parent's last child).
    let mut todo: Vec<(usize, bool)> = h.children(root).iter().rev().map(|&c| (c, false)).collect();
    if let Some(first) = todo.first_mut() {
        first.1 = true;
    }
    // `lasts[j]`: whether the ancestor at depth j + 1 of the node drawn next was a last
    // child (its column is blank) or not (a `│`).
    let mut lasts: Vec<bool> = Vec::new();
    let mut prefix = String::new();
    while let Some((n, last)) = todo.pop() {
        let depth = h.depth(n);
        lasts.truncate(depth - 1);
        prefix.clear();
        for &l in lasts.iter().take(MAX_DRAWN_LEVELS) {
            prefix.push_str(if l { "    " } else { "│   " });
        }
        if lasts.len() > MAX_DRAWN_LEVELS {
            prefix.push_str("… ");
        }
        let branch = if last { "└── " } else { "├── " };
        writeln!(out, "{prefix}{branch}{}", node_label(h, n))?;
        lasts.push(last);
        let ch = h.children(n);
        for (i, &c) in ch.iter().enumerate().rev() {
            todo.push((c, i + 1 == ch.len()));
        }
    }
    Ok(())
}

fn node_label(h: &Hierarchy, n: usize) -> String {
    match h.node_class(n) {
        Some(c) => format!("{} [class {c}] (depth {})", h.name(n), h.depth(n)),
        None => format!(
            "{} (depth {}, height {}, {} classes)",
            h.name(n),
            h.depth(n),
            h.height(n),
            h.num_leaves(n)
        ),
    }
}
