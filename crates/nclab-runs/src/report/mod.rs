//! `nclab report`: figures, tables and an HTML page over run directories.
//!
//! [`generate`] reads the runs ([`runs`]), groups them into conditions ([`conditions`]), and
//! writes into the output directory:
//! * `curve-<metric>.{svg,png}`: each metric against the epoch ([`curves`]);
//! * `gram-<id>.{svg,png}` and `pca-<id>.{svg,png}`: the final geometry of a condition's first
//!   run with a `final.safetensors` ([`geometry`], [`geometry_plots`]);
//! * `tradeoff.{svg,png}`: top-1 error against mistake severity ([`tradeoff`]);
//! * `summary.csv`, `comparisons.csv`, `summary.md` ([`summary`]);
//! * `index.html` ([`html`]).
//!
//! Nothing is written until every run has been read; files are rendered into a staging
//! directory inside the output directory and renamed into place at the end, so that an error
//! leaves the output directory as it was.

pub mod conditions;
pub mod curves;
pub mod geometry;
pub mod geometry_plots;
pub mod html;
pub mod plot;
pub mod runs;
pub mod summary;
pub mod tradeoff;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use conditions::Condition;
use html::{escape, FigureEntry, Section};
use runs::Run;

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
}

/// What [`generate`] did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Files written, relative to the output directory, in writing order.
    pub files: Vec<String>,
    /// Problems that did not stop the report (skipped runs, missing hierarchies).
    pub warnings: Vec<String>,
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

    // 1. Metrics against epoch.
    let mut curve_figs = Vec::new();
    // The headline metrics first (NC1-NC4, ...), then the others in metrics.csv order.
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
        let curves: Vec<curves::Curve> = conds
            .iter()
            .map(|c| curves::aggregate(runs, c, m))
            .filter(|c| !c.points.is_empty())
            .collect();
        if curves.is_empty() {
            continue;
        }
        let fig = curves::CurvesFigure::new(m, curves);
        let stem = format!("curve-{}", file_stem(m));
        plot::save(&fig, dir, &stem)?;
        files.push(format!("{stem}.svg"));
        files.push(format!("{stem}.png"));
        let (_, _, description) = curves::describe(m);
        let scale = if fig.log_y {
            " Logarithmic y axis."
        } else {
            ""
        };
        curve_figs.push(FigureEntry {
            stem,
            caption: format!("{m}: {description}{scale}"),
        });
    }
    sections.push(Section {
        title: "Metrics against epoch".into(),
        intro: "One line per condition: the mean over its runs (seeds) at each analysis epoch; \
                the shaded band spans the minimum to the maximum over the runs. NC metrics are \
                measured on the training set, mistake metrics on the test set."
            .into(),
        figures: curve_figs,
    });

    // 2-3. Final geometry of each condition (its first run that has final.safetensors).
    let mut gram_figs = Vec::new();
    let mut pca_figs = Vec::new();
    for c in conds {
        let mut found = None;
        for &i in &c.runs {
            let spec = runs[i].config_str("hierarchy");
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
        let who = format!("{} ({}, seed {seed})", c.id, c.label);
        let stem = format!("gram-{}", c.id);
        plot::save(
            &geometry_plots::GramFigure::new(format!("Final class-mean geometry: {who}"), &geo),
            dir,
            &stem,
        )?;
        files.push(format!("{stem}.svg"));
        files.push(format!("{stem}.png"));
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
        });
        let stem = format!("pca-{}", c.id);
        plot::save(
            &geometry_plots::PcaFigure::new(
                format!("Means and classifier, PCA plane: {}", c.id),
                &geo,
            ),
            dir,
            &stem,
        )?;
        files.push(format!("{stem}.svg"));
        files.push(format!("{stem}.png"));
        pca_figs.push(FigureEntry {
            stem,
            caption: format!(
                "{who}: centred class means (divided by ‖M‖_F) and classifier rows (divided by \
                 ‖W‖_F) projected on the two leading principal axes of the centred means \
                 ({:.0}% and {:.0}% of their variance).",
                100.0 * geo.explained.0,
                100.0 * geo.explained.1
            ),
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

    // 4. Trade-off.
    let mut trade = Vec::new();
    if let Some(fig) = tradeoff::TradeoffFigure::new(runs, conds) {
        plot::save(&fig, dir, "tradeoff")?;
        files.push("tradeoff.svg".into());
        files.push("tradeoff.png".into());
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
        });
    }
    sections.push(Section {
        title: "Error vs mistake severity".into(),
        intro: if trade.is_empty() {
            "No run records top1_error and mistake_severity.".into()
        } else {
            "Each marker is one run.".into()
        },
        figures: trade,
    });

    // 5. Tables.
    let comps = summary::comparisons(runs, conds, &metrics);
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
    let md = summary::summary_markdown(runs, conds, &metrics, &comps);
    write_text(dir, "summary.md", &md, &mut files)?;

    // 6. The page.
    let blocks = vec![
        ("Runs and conditions".to_string(), runs_block(runs, conds)),
        (
            "Summary at the final epoch".to_string(),
            summary_block(runs, conds, &metrics),
        ),
        (
            "Against the CE baseline".to_string(),
            comparison_block(conds, &comps),
        ),
    ];
    let mut preface = format!(
        "<p>{} runs in {} conditions. Tables: <a href=\"summary.csv\">summary.csv</a>, \
         <a href=\"comparisons.csv\">comparisons.csv</a>, <a href=\"summary.md\">summary.md</a>.</p>\n",
        runs.len(),
        conds.len()
    );
    for w in warnings.iter() {
        preface.push_str(&format!("<p class=\"warn\">Warning: {}</p>\n", escape(w)));
    }
    let page = html::page("nclab report", &preface, &blocks, &sections);
    write_text(dir, "index.html", &page, &mut files)?;
    Ok(files)
}

fn runs_block(runs: &[Run], conds: &[Condition]) -> String {
    let header: Vec<String> = [
        "id",
        "condition",
        "seed",
        "status",
        "epochs",
        "run directory",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rows = Vec::new();
    for c in conds {
        for &i in &c.runs {
            let r = &runs[i];
            rows.push(vec![
                escape(&c.id),
                escape(&c.label),
                r.seed().map_or("?".into(), |s| s.to_string()),
                escape(&r.status()),
                r.metrics
                    .epochs
                    .last()
                    .map_or(String::new(), |e| e.to_string()),
                format!("<code>{}</code>", escape(&r.dir.display().to_string())),
            ]);
        }
    }
    let grouping = "Runs are grouped by their config.toml without the seed (and without name, \
                    device, threads and data.root) unless --group-by names a key; the label \
                    shows the config entries that differ between conditions.";
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
            let mut row = vec![escape(&c.id), escape(&c.label), c.runs.len().to_string()];
            for m in &shown {
                let cell = summary::cell(runs, c, m);
                row.push(match cell.n {
                    0 => "–".into(),
                    1 => summary::sig(cell.mean),
                    _ => format!("{} ± {}", summary::sig(cell.mean), summary::sig(cell.sd)),
                });
            }
            row
        })
        .collect();
    format!(
        "<p>Mean ± sd (n−1 divisor) over the runs of each condition, at each run's last \
         analysis epoch. All metrics are in <a href=\"summary.csv\">summary.csv</a>.</p>\n{}",
        html::table(&header, &rows)
    )
}

fn comparison_block(conds: &[Condition], comps: &[summary::Comparison]) -> String {
    if comps.is_empty() {
        return "<p>No comparison: no non-CE condition has a CE condition of the same dataset \
                and model.</p>"
            .into();
    }
    let header: Vec<String> = [
        "condition",
        "CE baseline",
        "metric",
        "n vs n",
        "diff",
        "95% CI (Welch)",
        "p (Welch t)",
        "p (Mann–Whitney)",
        "pairs",
        "p (paired t)",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let rows: Vec<Vec<String>> = comps
        .iter()
        .filter(|c| summary::KEY_METRICS.contains(&c.metric.as_str()))
        .map(|c| {
            let (ci, p) = c.welch.map_or(("n/a".into(), "n/a".into()), |w| {
                (
                    format!("[{}, {}]", summary::sig(w.ci_low), summary::sig(w.ci_high)),
                    summary::sig(w.p),
                )
            });
            vec![
                escape(&conds[c.condition].label),
                escape(&conds[c.baseline].label),
                escape(&c.metric),
                format!("{} vs {}", c.n, c.n_baseline),
                summary::sig(c.diff),
                ci,
                p,
                c.mann_whitney.map_or("n/a".into(), |m| summary::sig(m.p)),
                c.n_pairs.to_string(),
                c.paired.map_or("n/a".into(), |w| summary::sig(w.p)),
            ]
        })
        .collect();
    format!(
        "<p>diff = mean(condition) − mean(baseline). Welch's t-test and its 95% interval \
         (Welch–Satterthwaite df) need at least 2 runs a side; the Mann–Whitney U test (exact \
         without ties) is given from 3 runs a side, since with 2 against 2 its p-value cannot go \
         below 1/3. The paired t-test pairs the runs of the two conditions that share a seed \
         (same data subset and initialisation). n/a: not computable with these runs. Every metric is in \
         <a href=\"comparisons.csv\">comparisons.csv</a>.</p>\n{}",
        html::table(&header, &rows)
    )
}
