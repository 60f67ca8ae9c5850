//! `nclab report`: figures, tables and an HTML page over run directories (docs/report.md says
//! what each number is).
//!
//! [`generate`] reads the runs ([`runs`]), groups them into conditions ([`conditions`]; it
//! refuses to pool runs of different datasets, models, epochs or data sizes unless asked, and
//! warns on a seed that appears twice in a condition), and writes into the output directory:
//! * `curve-<metric>.{svg,png}`: each metric against the epoch ([`curves`]);
//! * `panels.{svg,png}`: the collapse quantities in small panels ([`panels`]);
//! * `layers-nc1.{svg,png}`: NC1 against the layer depth, and `layers-nc1-epochs-<id>.{svg,png}`:
//!   each layer's NC1 against the epoch, when runs have `metrics_layers.csv` ([`layers`],
//!   [`layer_epochs`]);
//! * `gram-<id>.{svg,png}` and `pca-<id>.{svg,png}`: the final geometry of a condition's first
//!   run with a `final.safetensors` ([`geometry`], [`geometry_plots`]);
//! * `tradeoff.{svg,png}`: top-1 error against mistake severity ([`tradeoff`]);
//! * `summary.csv`, `comparisons.csv`, `summary.md` ([`summary`]) and `folds.csv` ([`folds`]);
//! * `index.html` ([`html`]).
//!
//! Runs whose `summary.json` says `diverged` (with or without a `metrics.csv`) are listed as
//! such and left out of every mean, test and figure.
//!
//! Nothing is written until every run has been read; files are rendered into a staging
//! directory inside the output directory and renamed into place at the end, so that an error
//! leaves the output directory as it was.

pub mod conditions;
pub mod curves;
pub mod folds;
pub mod geometry;
pub mod geometry_plots;
pub mod html;
pub mod layer_epochs;
pub mod layers;
pub mod panels;
pub mod plot;
pub mod runs;
pub mod summary;
pub mod svg;
pub mod tpt;
pub mod tradeoff;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use conditions::Condition;
use curves::CurveOptions;
use html::{escape, FigureEntry, Section};
use runs::Run;
use summary::{sig, signed, stars, Comparison};

/// What to report on and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// Run directories, or directories searched recursively for them.
    pub inputs: Vec<PathBuf>,
    /// Output directory (created if needed).
    pub out: PathBuf,
    /// Group runs by this config key instead of the whole config minus the seed.
    pub group_by: Option<String>,
    /// Skip unreadable runs with a warning instead of failing.
    pub skip_bad: bool,
    /// Pool runs that differ in a [`conditions::POOL_KEYS`] entry into one condition (with a
    /// warning) instead of refusing.
    pub allow_mixed: bool,
    /// How curves are drawn (log y axes, per-seed lines).
    pub curves: CurveOptions,
}

impl Options {
    /// The defaults of `nclab report` for these inputs and output directory.
    pub fn new(inputs: Vec<PathBuf>, out: PathBuf) -> Options {
        Options {
            inputs,
            out,
            group_by: None,
            skip_bad: false,
            allow_mixed: false,
            curves: CurveOptions::default(),
        }
    }
}

/// What [`generate`] did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Files written, relative to the output directory, in writing order.
    pub files: Vec<String>,
    /// Problems that did not stop the report (skipped runs, missing hierarchies, diverged
    /// runs, duplicate seeds, runs pooled with --allow-mixed).
    pub warnings: Vec<String>,
    /// Runs read (diverged ones included).
    pub runs: usize,
    pub conditions: usize,
}

/// Columns of metrics.csv that are bookkeeping rather than results: not drawn against epoch.
const NOT_PLOTTED: &[&str] = &["elapsed_s"];

/// Reads the runs and writes the whole report. See the module documentation.
pub fn generate(options: &Options) -> Result<Outcome> {
    let dirs = runs::discover(&options.inputs)?;
    let mut warnings = Vec::new();
    let mut loaded: Vec<Run> = Vec::new();
    for dir in &dirs {
        match runs::load_run(dir) {
            Ok(r) => loaded.push(r),
            Err(e) if options.skip_bad => warnings.push(format!("skipped {e:#}")),
            Err(e) => {
                return Err(e.context("a run directory is unusable (use --skip-bad to skip it)"))
            }
        }
    }
    if loaded.is_empty() {
        bail!("no usable run directory among {} found", dirs.len());
    }
    let conds = conditions::group(&loaded, options.group_by.as_deref())?;
    warnings.extend(conditions::check_pooling(
        &loaded,
        &conds,
        options.allow_mixed,
    )?);
    for c in &conds {
        for &i in &c.diverged {
            warnings.push(format!(
                "{}: diverged{}; listed, left out of the means, tests and figures",
                loaded[i].dir.display(),
                summary::diverged_epoch(&loaded[i])
            ));
        }
    }

    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("{}: cannot create directory", options.out.display()))?;
    let staging = options
        .out
        .join(format!(".nclab-report-staging-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("{}: cannot clear", staging.display()))?;
    }
    std::fs::create_dir(&staging)
        .with_context(|| format!("{}: cannot create directory", staging.display()))?;
    let result = write_all(&loaded, &conds, options, &staging, &mut warnings);
    let files = match result {
        Ok(files) => files,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    for f in &files {
        let to = options.out.join(f);
        std::fs::rename(staging.join(f), &to)
            .with_context(|| format!("{}: cannot move into place", to.display()))?;
    }
    std::fs::remove_dir_all(&staging)
        .with_context(|| format!("{}: cannot remove", staging.display()))?;
    Ok(Outcome {
        files,
        warnings,
        runs: loaded.len(),
        conditions: conds.len(),
    })
}

/// A file-name-safe form of a metric name (`hdist@1` -> `hdist-at-1`).
pub fn file_stem(metric: &str) -> String {
    metric
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c.to_string(),
            '@' => "-at-".to_string(),
            _ => "-".to_string(),
        })
        .collect()
}

fn write_text(dir: &Path, name: &str, text: &str, files: &mut Vec<String>) -> Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    files.push(name.to_string());
    Ok(())
}

fn write_all(
    runs: &[Run],
    conds: &[Condition],
    options: &Options,
    dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut sections = Vec::new();
    let metrics = summary::metric_names(runs);
    let decays = decay_epochs(runs, conds);
    let mut save = |fig: &dyn SaveFigure, stem: &str| -> Result<String> {
        let svg = fig.save(dir, stem)?;
        files.push(format!("{stem}.svg"));
        files.push(format!("{stem}.png"));
        Ok(svg)
    };

    // 1. The collapse quantities in small panels.
    let mut panel_figs = Vec::new();
    if let Some(fig) = panels::PanelsFigure::new(runs, conds, &decays, options.curves) {
        let svg = save(&fig, "panels")?;
        let shown: Vec<&str> = fig.panels.iter().map(|p| p.title.as_str()).collect();
        panel_figs.push(FigureEntry {
            stem: "panels".into(),
            caption: format!(
                "Collapse at a glance: {}, against the epoch, one line per condition (mean over \
                 its runs). Log axes where the values fall by decades.",
                shown.join("; ")
            ),
            svg: Some(svg),
        });
    }

    // 2. Metrics against epoch: the headline metrics first (NC1-NC4, ...), then the others in
    // metrics.csv order.
    let mut curve_figs = Vec::new();
    let mut plotted: Vec<&String> = metrics
        .iter()
        .filter(|m| !NOT_PLOTTED.contains(&m.as_str()))
        .collect();
    plotted.sort_by_key(|m| {
        summary::KEY_METRICS
            .iter()
            .position(|k| k == m)
            .unwrap_or(summary::KEY_METRICS.len())
    });
    for m in plotted {
        let curves: Vec<curves::Curve> = (0..conds.len())
            .map(|i| curves::aggregate(runs, conds, i, m))
            .filter(|c| !c.points.is_empty())
            .collect();
        if curves.is_empty() {
            continue;
        }
        let fig = curves::CurvesFigure::new(m, curves, &decays, options.curves);
        let stem = format!("curve-{}", file_stem(m));
        let svg = save(&fig, &stem)?;
        let (_, _, description) = curves::describe(m);
        let mut scale = String::new();
        if fig.panel.log_y {
            scale.push_str(" Logarithmic y axis.");
        }
        if fig.panel.log_x {
            scale.push_str(" Logarithmic x axis (log-spaced analysis epochs).");
        }
        curve_figs.push(FigureEntry {
            stem,
            caption: format!("{m}: {description}{scale}"),
            svg: Some(svg),
        });
    }

    // 3. Collapse through the layers.
    let mut layer_figs = Vec::new();
    if let Some(fig) = layers::LayersFigure::new(runs, conds, "nc1") {
        let svg = save(&fig, "layers-nc1")?;
        layer_figs.push(FigureEntry {
            stem: "layers-nc1".into(),
            caption: format!(
                "NC1 of each tapped layer's features against its depth, one panel per condition \
                 with metrics_layers.csv, one line per analysis epoch (epochs {}), the mean over \
                 the condition's runs.",
                fig.epochs
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            svg: Some(svg),
        });
    }

    for f in layer_epochs::figures(runs, conds, "nc1", &decays, options.curves) {
        let c = &conds[f.condition];
        let stem = format!("layers-nc1-epochs-{}", c.id);
        let svg = save(&f.figure, &stem)?;
        layer_figs.push(FigureEntry {
            stem,
            caption: format!(
                "NC1 of each tapped layer against the epoch, {} ({} runs): one line per layer \
                 ({}), the mean over the runs, the band their range.",
                c.name,
                c.runs.len(),
                f.layers.join(", ")
            ),
            svg: Some(svg),
        });
    }

    // 4-5. Final geometry of each condition (its first run that has final.safetensors).
    let mut gram_figs = Vec::new();
    let mut pca_figs = Vec::new();
    for c in conds {
        let mut found = None;
        for &i in &c.runs {
            let spec = runs[i].hierarchy_spec();
            match geometry::load(&runs[i].dir, spec.as_deref()) {
                Ok(Some((g, w))) => {
                    warnings.extend(w);
                    found = Some((i, g));
                    break;
                }
                Ok(None) => {}
                Err(e) if options.skip_bad => {
                    warnings.push(format!("skipped the final geometry of {e:#}"))
                }
                Err(e) => return Err(e),
            }
        }
        let Some((i, geo)) = found else { continue };
        let seed = runs[i].seed().map_or("?".into(), |s| s.to_string());
        let who = format!("{} ({}, seed {seed})", c.id, c.name);
        let stem = format!("gram-{}", c.id);
        save(
            &geometry_plots::GramFigure::new(format!("Final class-mean geometry: {who}"), &geo),
            &stem,
        )?;
        let target = if geo.target.is_some() {
            ", and the hierarchy target T_ij = (1 − s_min) exp(−2 dn(i,j)) + s_min (HAFrame). \
             Classes in depth-first order of the hierarchy, so that sibling classes are adjacent"
        } else {
            " (no usable hierarchy, so no target T)"
        };
        gram_figs.push(FigureEntry {
            stem,
            caption: format!(
                "{who}: cosines of the centred class means at the end of training \
                 (from {}), beside the simplex ETF (−1/(K−1) off the diagonal){target}.",
                runs[i].dir.join("final.safetensors").display()
            ),
            svg: None,
        });
        let stem = format!("pca-{}", c.id);
        save(
            &geometry_plots::PcaFigure::new(
                format!("Means and classifier, PCA plane: {}", c.name),
                &geo,
            ),
            &stem,
        )?;
        pca_figs.push(FigureEntry {
            stem,
            caption: format!(
                "{who}: centred class means (divided by ‖M‖_F) and classifier rows (divided by \
                 ‖W‖_F) projected on the two leading principal axes of the centred means \
                 ({:.0}% and {:.0}% of their variance).",
                100.0 * geo.explained.0,
                100.0 * geo.explained.1
            ),
            svg: None,
        });
    }

    // 6. Trade-off.
    let mut trade = Vec::new();
    if let Some(fig) = tradeoff::TradeoffFigure::new(runs, conds) {
        let svg = save(&fig, "tradeoff")?;
        let mut caption = "Top-1 test error against mistake severity (mean tree distance of \
                           the mistakes) at the final epoch, one point per run: hierarchical \
                           losses aim to lower severity without raising the error."
            .to_string();
        if !fig.left_out.is_empty() {
            caption.push_str(&format!(
                " Left out, measured against a flat tree (severity 1 by definition): {}.",
                fig.left_out.join("; ")
            ));
        }
        trade.push(FigureEntry {
            stem: "tradeoff".into(),
            caption,
            svg: Some(svg),
        });
    }

    // The overview: every figure against epoch (and the trade-off) as a thumbnail linking to
    // the full figure further down.
    let thumbs: Vec<&FigureEntry> = panel_figs
        .iter()
        .chain(&curve_figs)
        .chain(&layer_figs)
        .chain(&trade)
        .collect();
    let overview = if thumbs.is_empty() {
        String::new()
    } else {
        html::thumbnails(&thumbs)
    };
    sections.push(Section {
        title: "Collapse at a glance".into(),
        intro: "The quantities of neural collapse in the manner of Papyan, Han and Donoho \
                (2020): training error, NC1, equinorm and equiangularity of the class means and \
                of the classifier rows, NC2, NC3 and NC4."
            .into(),
        figures: panel_figs.clone(),
    });
    sections.push(Section {
        title: "Metrics against epoch".into(),
        intro: "One line per condition: the mean over its runs (seeds) at each analysis epoch; \
                the shaded band spans the minimum to the maximum over the runs. NC metrics are \
                measured on the training set, mistake metrics on the test set. Log y axes for \
                the NC metrics, losses and errors (a value of exactly 0 is drawn on the dashed \
                line labelled 0, at half the smallest positive value); dashed grey verticals at \
                the learning-rate decays, dotted verticals in a condition's colour at its \
                stable TPT epoch (the mean over its seeds)."
            .into(),
        figures: curve_figs,
    });
    if !layer_figs.is_empty() {
        sections.push(Section {
            title: "Collapse through the layers".into(),
            intro: "From the runs' metrics_layers.csv (analysis.layers).".into(),
            figures: layer_figs,
        });
    }
    let geometry_note = if gram_figs.is_empty() {
        "No run has a final.safetensors, so there is no final geometry to show."
    } else {
        "Computed from each condition's first run (lowest seed) that has a final.safetensors."
    };
    sections.push(Section {
        title: "Final class-mean geometry".into(),
        intro: geometry_note.into(),
        figures: gram_figs,
    });
    sections.push(Section {
        title: "Class means and classifier in the PCA plane".into(),
        intro: geometry_note.into(),
        figures: pca_figs,
    });
    sections.push(Section {
        title: "Error vs mistake severity".into(),
        intro: if trade.is_empty() {
            "No run records top1_error and mistake_severity.".into()
        } else {
            "Each marker is one run.".into()
        },
        figures: trade,
    });

    // 7. Tables.
    let comps = summary::comparisons(runs, conds, &metrics);
    let fold_table = folds::FoldTable::new(runs, conds);
    write_text(
        dir,
        "summary.csv",
        &summary::summary_csv(runs, conds, &metrics),
        &mut files,
    )?;
    write_text(
        dir,
        "comparisons.csv",
        &summary::comparisons_csv(conds, &comps),
        &mut files,
    )?;
    write_text(dir, "folds.csv", &fold_table.csv(conds), &mut files)?;
    let md = summary::summary_markdown(runs, conds, &metrics, &comps, &fold_table);
    write_text(dir, "summary.md", &md, &mut files)?;

    // 8. The page.
    let mut blocks = vec![
        (
            "Decision table".to_string(),
            decision_block(runs, conds, &comps),
        ),
        (
            "Collapse during the terminal phase".to_string(),
            folds_block(conds, &fold_table),
        ),
        (
            "Start of the terminal phase and cost".to_string(),
            tpt_block(runs, conds),
        ),
        (
            "Summary at the final epoch".to_string(),
            summary_block(runs, conds, &metrics),
        ),
        (
            "Against the CE baseline in detail".to_string(),
            comparison_block(conds, &comps),
        ),
        ("Runs and conditions".to_string(), runs_block(runs, conds)),
    ];
    if !overview.is_empty() {
        blocks.push((
            "Overview of the figures".to_string(),
            format!(
                "<p>Each thumbnail links to its full figure below (inline SVG: hover a point \
                 for its value; the checkboxes above the figures hide a condition).</p>\n\
                 {overview}"
            ),
        ));
    }
    let mut preface = format!(
        "<p>{} runs in {} conditions. Tables: <a href=\"summary.csv\">summary.csv</a>, \
         <a href=\"comparisons.csv\">comparisons.csv</a>, <a href=\"folds.csv\">folds.csv</a>, \
         <a href=\"summary.md\">summary.md</a>.</p>\n",
        conds.iter().map(|c| c.runs.len()).sum::<usize>(),
        conds.len()
    );
    let diverged: Vec<String> = conds
        .iter()
        .flat_map(|c| {
            c.diverged.iter().map(move |&i| {
                format!(
                    "{} seed {}{} (<code>{}</code>)",
                    escape(&c.name),
                    runs[i].seed().map_or("?".into(), |s| s.to_string()),
                    escape(&summary::diverged_at(&runs[i])),
                    escape(&runs[i].dir.display().to_string())
                )
            })
        })
        .collect();
    if !diverged.is_empty() {
        preface.push_str(&format!(
            "<p class=\"warn\"><b>Diverged runs</b>, listed and left out of every mean, test \
             and figure: {}.</p>\n",
            diverged.join("; ")
        ));
    }
    for w in warnings.iter() {
        preface.push_str(&format!("<p class=\"warn\">Warning: {}</p>\n", escape(w)));
    }
    let toggles: Vec<html::Toggle> = conds
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.runs.is_empty())
        .map(|(i, c)| {
            let colour = plot::series_style(i).colour;
            html::Toggle {
                id: c.id.clone(),
                name: c.name.clone(),
                colour: format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2),
            }
        })
        .collect();
    let page = html::page("nclab report", &preface, &blocks, &sections, &toggles);
    write_text(dir, "index.html", &page, &mut files)?;
    Ok(files)
}

/// A figure that [`plot::save`] writes (object-safe, for one saving closure).
trait SaveFigure {
    fn save(&self, dir: &Path, stem: &str) -> Result<String>;
}

impl<F: plot::Figure> SaveFigure for F {
    fn save(&self, dir: &Path, stem: &str) -> Result<String> {
        plot::save(self, dir, stem)
    }
}

/// The learning-rate decay epochs of the runs that did not diverge (their union: the same for
/// all runs of a report unless --allow-mixed pooled different lengths).
fn decay_epochs(runs: &[Run], conds: &[Condition]) -> Vec<f64> {
    let mut d: Vec<usize> = conds
        .iter()
        .flat_map(|c| c.runs.iter().flat_map(|&i| runs[i].decay_epochs()))
        .collect();
    d.sort_unstable();
    d.dedup();
    d.into_iter().map(|e| e as f64).collect()
}

/// Short column headings of the decision table: (abbreviation, what it is).
fn abbreviation(metric: &str) -> &str {
    match metric {
        "nc1" => "NC1",
        "nc2" => "NC2",
        "nc3" => "NC3",
        "nc4" => "NC4",
        "top1_error" => "top-1 error",
        "top5_error" => "top-5 error",
        "mistake_severity" => "mistake severity",
        "hdist@1" => "hdist @1",
        "hdist@5" => "hdist @5",
        "nc2_tree" => "NC2 tree",
        "mean_tree_correlation" => "tree corr.",
        "nc1_coarse" => "NC1 coarse",
        m => m,
    }
}

/// A value in 3 significant digits with its sign (`+0.0123`, `−0.5`).
fn signed3(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let t = crate::numbers::significant(Some(v), 3);
    if v > 0.0 {
        format!("+{t}")
    } else {
        t.replacen('-', "−", 1)
    }
}

fn decision_block(runs: &[Run], conds: &[Condition], comps: &[Comparison]) -> String {
    let (metrics, rows) = summary::decision_table(conds, comps);
    if rows.is_empty() || metrics.is_empty() {
        return "<p>No comparison: no non-CE condition has a CE condition of the same dataset \
                and model.</p>"
            .into();
    }
    let mut baselines: Vec<usize> = rows
        .iter()
        .filter_map(|(c, _)| conds[*c].baseline)
        .collect();
    baselines.sort_unstable();
    baselines.dedup();
    let mut header = vec!["condition".to_string()];
    header.extend(metrics.iter().map(|m| {
        format!(
            "<span title=\"{}\">{}</span>",
            escape(m),
            escape(abbreviation(m))
        )
    }));
    let mut s = format!(
        "<p>Each condition against its CE baseline: the difference condition − baseline at the \
         final epoch (mean over seed pairs), its 95% interval under it, then the \
         Benjamini–Hochberg adjusted p-value (BH, which the stars use) and Holm's. Highlighted: \
         BH p < 0.05, <span class=\"key\"><span class=\"down\">lower than the baseline</span>\
         <span class=\"up\">higher than the baseline</span></span>. Click a heading to sort \
         the rows by it. Hover a cell for the raw p-values.</p>\n<p>{}</p>\n",
        escape(&summary::family_note(conds, comps))
    );
    let mut table = format!(
        "<table class=\"decision sortable\">\n<thead><tr>{}</tr>\n",
        header
            .iter()
            .map(|h| format!("<th>{h}</th>"))
            .collect::<String>()
    );
    if let [b] = baselines[..] {
        table.push_str(&format!(
            "<tr class=\"base\"><td>{} (baseline): mean</td>",
            escape(&conds[b].name)
        ));
        for m in &metrics {
            let cell = summary::cell(runs, &conds[b], m);
            table.push_str(&format!(
                "<td>{}</td>",
                if cell.n == 0 {
                    "–".to_string()
                } else {
                    crate::numbers::significant(Some(cell.mean), 3)
                }
            ));
        }
        table.push_str("</tr>\n");
    }
    table.push_str("</thead>\n<tbody>\n");
    for (ci, cells) in &rows {
        let c = &conds[*ci];
        let vs = match c.baseline {
            Some(b) if baselines.len() > 1 => {
                format!("<br><span class=\"q\">vs {}</span>", escape(&conds[b].name))
            }
            _ => String::new(),
        };
        table.push_str(&format!("<tr><td>{}{vs}</td>", escape(&c.name)));
        for (m, cell) in metrics.iter().zip(cells) {
            let Some(k) = cell else {
                table.push_str("<td data-v=\"\">–</td>");
                continue;
            };
            let (d, lo, hi, paired) = k.effect();
            let significant = k.p_bh < 0.05;
            let class = match (significant, d < 0.0) {
                (true, true) => " class=\"sig down\"",
                (true, false) => " class=\"sig up\"",
                _ => "",
            };
            let ci = if lo.is_finite() && hi.is_finite() {
                format!("[{}, {}]", signed3(lo), signed3(hi))
            } else {
                "no interval".to_string()
            };
            let q = if k.p_bh.is_finite() {
                format!("BH {} · Holm {}", sig(k.p_bh), sig(k.p_holm))
            } else {
                "p n/a".to_string()
            };
            let opt = |v: Option<f64>| v.map_or("n/a".to_string(), sig);
            let title = format!(
                "{m}: {} − {} = {} ({}); p ({}) {}; sign-flip p {}; Welch p {}; Holm {}; BH {}{}",
                c.name,
                conds[k.baseline].name,
                signed(d),
                if paired {
                    format!("{} seed pairs", k.n_pairs)
                } else {
                    format!("{} vs {} runs, unpaired", k.n, k.n_baseline)
                },
                if k.p_test.is_empty() { "–" } else { k.p_test },
                sig(k.p),
                opt(k.sign_flip.map(|f| f.p)),
                opt(k.welch.map(|w| w.p)),
                sig(k.p_holm),
                sig(k.p_bh),
                k.harm_bound()
                    .map_or(String::new(), |b| format!("; worst case {}", signed(b)))
            );
            let harm = k.harm_text().map_or(String::new(), |h| {
                format!("<br><span class=\"q\">{}</span>", escape(&h))
            });
            table.push_str(&format!(
                "<td{class} data-v=\"{}\" title=\"{}\"><b>{}</b>{}<br><span class=\"ci\">{ci}</span>\
                 <br><span class=\"q\">{q}</span>{harm}</td>",
                crate::numbers::exact(Some(d)),
                escape(&title),
                signed3(d),
                stars(k.p_bh)
            ));
        }
        table.push_str("</tr>\n");
    }
    table.push_str("</tbody>\n</table>\n");
    s.push_str(&table);
    s
}

fn folds_block(conds: &[Condition], t: &folds::FoldTable) -> String {
    let short = |span: &str| -> String {
        match span {
            "total" => "1 → last".to_string(),
            "after_stable_tpt" => "stable TPT → last".to_string(),
            d => d.replace("decay", "decay "),
        }
    };
    let mut header = vec![
        "condition".to_string(),
        "runs".to_string(),
        "stable TPT epoch".to_string(),
    ];
    for m in folds::FOLD_METRICS {
        for n in &t.spans {
            header.push(format!(
                "<span title=\"{}\">{} {}</span>",
                escape(&folds::column(m, n)),
                m.to_uppercase(),
                escape(&short(n))
            ));
        }
    }
    let rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            let c = &conds[r.condition];
            let mut row = vec![
                escape(&c.name),
                format!("<td data-v=\"{}\">{}</td>", c.runs.len(), c.runs.len()),
                format!(
                    "<td data-v=\"{}\">{}</td>",
                    crate::numbers::exact(Some(r.stable_tpt.0)),
                    match r.stable_tpt.1 {
                        0 => "never".to_string(),
                        n if n < c.runs.len() =>
                            format!("{} ({n} of {})", sig(r.stable_tpt.0), c.runs.len()),
                        _ => sig(r.stable_tpt.0),
                    }
                ),
            ];
            for per_metric in &r.values {
                for (v, n) in per_metric {
                    row.push(if *n == 0 {
                        "<td data-v=\"\">–</td>".to_string()
                    } else {
                        format!(
                            "<td data-v=\"{}\">{}×</td>",
                            crate::numbers::exact(Some(*v)),
                            folds::fold_text(*v)
                        )
                    });
                }
            }
            row
        })
        .collect();
    format!(
        "<p>{}</p>\n{}",
        escape(&summary::folds_note(t)),
        html::table_with(&header, &rows, "sortable")
    )
}

fn tpt_block(runs: &[Run], conds: &[Condition]) -> String {
    let (header, rows) = tpt::text_rows(conds, &tpt::rows(runs, conds));
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| r.iter().map(|c| escape(c)).collect())
        .collect();
    let header: Vec<String> = header.iter().map(|h| escape(h)).collect();
    format!(
        "<p>TPT epochs: the mean (range) over the runs that reach it; the stable TPT is the \
         first epoch from which training error stays 0. Wall time and the share of it outside \
         the training steps (analysis, data, checkpoints, start-up) from summary.json.</p>\n{}",
        html::table(&header, &rows)
    )
}

fn runs_block(runs: &[Run], conds: &[Condition]) -> String {
    let header: Vec<String> = [
        "id",
        "condition",
        "config entries that differ",
        "seed",
        "status",
        "epochs",
        "stable TPT",
        "run directory",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    for c in conds {
        for &i in c.runs.iter().chain(&c.diverged) {
            let r = &runs[i];
            let status = if r.diverged() {
                format!(
                    "<td class=\"warn\"><b>diverged</b>{}</td>",
                    escape(&summary::diverged_epoch(r))
                )
            } else {
                escape(&r.status())
            };
            rows.push(vec![
                escape(&c.id),
                escape(&c.name),
                escape(&c.label),
                r.seed().map_or("?".into(), |s| s.to_string()),
                status,
                r.metrics
                    .epochs
                    .last()
                    .map_or(String::new(), |e| e.to_string()),
                r.stable_tpt_epoch()
                    .map_or("–".to_string(), |e| e.to_string()),
                format!("<code>{}</code>", escape(&r.dir.display().to_string())),
            ]);
        }
    }
    let grouping = "Runs are grouped by their config.toml without the seed (and without name, \
                    device, threads and data.root) unless --group-by names a key; runs that \
                    differ in data.name, model.kind, optim.epochs, data.per_class or \
                    data.test_per_class are never pooled without --allow-mixed. A condition's \
                    name is the sweep's variant name when its runs come from a sweep, else the \
                    config entries that differ in short.";
    format!("<p>{grouping}</p>\n{}", html::table(&header, &rows))
}

fn summary_block(runs: &[Run], conds: &[Condition], metrics: &[String]) -> String {
    let shown: Vec<&String> = metrics
        .iter()
        .filter(|m| summary::KEY_METRICS.contains(&m.as_str()))
        .collect();
    let mut header = vec![
        "id".to_string(),
        "condition".to_string(),
        "runs".to_string(),
    ];
    header.extend(shown.iter().map(|m| escape(m)));
    let rows: Vec<Vec<String>> = conds
        .iter()
        .map(|c| {
            let mut row = vec![escape(&c.id), escape(&c.name), c.runs.len().to_string()];
            for m in &shown {
                let cell = summary::cell(runs, c, m);
                let text = match cell.n {
                    0 => "–".into(),
                    1 => sig(cell.mean),
                    _ => format!("{} ± {}", sig(cell.mean), sig(cell.sd)),
                };
                row.push(format!(
                    "<td data-v=\"{}\">{text}</td>",
                    crate::numbers::exact(Some(cell.mean))
                ));
            }
            row
        })
        .collect();
    format!(
        "<p>Mean ± sd (n−1 divisor) over the runs of each condition, at each run's last \
         analysis epoch. All metrics are in <a href=\"summary.csv\">summary.csv</a>.</p>\n{}",
        html::table_with(&header, &rows, "sortable")
    )
}

fn comparison_block(conds: &[Condition], comps: &[Comparison]) -> String {
    if comps.is_empty() {
        return "<p>No comparison: no non-CE condition has a CE condition of the same dataset \
                and model.</p>"
            .into();
    }
    let header: Vec<String> = [
        "condition",
        "baseline",
        "metric",
        "n vs n",
        "pairs",
        "diff",
        "95% CI",
        "worst case",
        "p (paired t)",
        "p (sign-flip)",
        "p (Welch t)",
        "p (Mann–Whitney)",
        "p Holm",
        "p BH",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let num = |v: f64, text: String| {
        format!(
            "<td data-v=\"{}\">{text}</td>",
            crate::numbers::exact(Some(v))
        )
    };
    let opt = |v: Option<f64>| num(v.unwrap_or(f64::NAN), v.map_or("n/a".into(), sig));
    let rows: Vec<Vec<String>> = comps
        .iter()
        .filter(|c| summary::KEY_METRICS.contains(&c.metric.as_str()) || c.in_family)
        .map(|c| {
            let (d, lo, hi, _) = c.effect();
            vec![
                escape(&conds[c.condition].name),
                escape(&conds[c.baseline].name),
                escape(&c.metric),
                format!("{} vs {}", c.n, c.n_baseline),
                c.n_pairs.to_string(),
                num(d, signed(d)),
                escape(&summary::interval(lo, hi)),
                opt(c.harm_bound()),
                opt(c.paired.map(|t| t.p)),
                opt(c.sign_flip.map(|f| f.p)),
                opt(c.welch.map(|w| w.p)),
                opt(c.mann_whitney.map(|m| m.p)),
                num(c.p_holm, sig(c.p_holm)),
                num(c.p_bh, format!("{}{}", sig(c.p_bh), stars(c.p_bh))),
            ]
        })
        .collect();
    format!(
        "<p>diff: the mean paired difference (runs paired by seed: same data subset and \
         initialisation) with its 95% t interval; without pairs the difference of means with \
         Welch's interval. Worst case: for errors and severities, the interval's bound on the \
         side of harm, the largest rise the data still allow at 95% (\"no worse than this\"). \
         p (paired t): the paired t-test (df = pairs − 1), n/a with fewer than 2 pairs or \
         differences without spread; p (sign-flip): the exact sign-flip permutation test of \
         the paired differences (all 2^n sign patterns), defined for a constant difference too. \
         Welch's t-test (Welch–Satterthwaite df) needs at least 2 runs a side; the Mann–Whitney \
         U test (exact without ties) is given from 3 runs a side, since with 2 against 2 its \
         p-value cannot go below 1/3. Holm and BH: adjusted in the family of the decision \
         table. n/a: not computable with these runs. Every metric is in \
         <a href=\"comparisons.csv\">comparisons.csv</a>.</p>\n{}",
        html::table_with(&header, &rows, "sortable")
    )
}
