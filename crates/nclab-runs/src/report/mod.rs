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
//!   run with a `final.safetensors` or a `final_geometry.json` ([`geometry`], [`geometry_plots`]);
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

pub mod blocks;
pub mod conditions;
pub mod curves;
pub mod effects;
pub mod figures;
pub mod floors;
pub mod folds;
pub mod geometry;
pub mod geometry_plots;
pub mod html;
pub mod layer_epochs;
pub mod layers;
pub mod panels;
pub mod plot;
pub mod runs;
pub mod setup;
pub mod summary;
pub mod svg;
pub mod test_images;
pub mod tpt;
pub mod tradeoff;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use blocks::{comparison_block, decision_block, folds_block, runs_block, summary_block, tpt_block};
use conditions::Condition;
use curves::CurveOptions;
use html::{escape, FigureEntry, Section};
use runs::Run;
use summary::Comparison;

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
    /// Report unfinished runs (status `running` or `interrupted`) as they stand, their last
    /// analysis counted as their final values (with a warning), instead of leaving them out.
    pub include_unfinished: bool,
    /// How curves are drawn (log y axes, per-seed lines).
    pub curves: CurveOptions,
    /// Contrasts `A:B`: condition A also compared with condition B (names as the report shows
    /// them), a family of its own per B ([`summary::comparisons`]).
    pub contrasts: Vec<String>,
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
            include_unfinished: false,
            curves: CurveOptions::default(),
            contrasts: Vec::new(),
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

/// On leaving [`generate`] by an error (or a panic), removes the staging folder and the
/// folders that the report created for `--out` (`--out` itself and any missing parents),
/// each only if still empty: a failed report leaves no trace.
struct Cleanup<'a> {
    staging: &'a Path,
    /// The folders created for `--out`, deepest first.
    created: Vec<PathBuf>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.staging);
        for dir in &self.created {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The list of the files a report wrote, kept in its folder so that the next report into the
/// same folder knows which files are its own.
const MANIFEST: &str = ".nclab-report";

/// The name of the folder a report stages its files in, before its process id.
const STAGING: &str = ".nclab-report-staging-";

/// Fails unless `out` can take a report: a new folder, an empty one, or one an earlier report
/// wrote (it holds [`MANIFEST`] or `index.html`). A run directory, or a folder of other files
/// (`/`, a home folder), is refused: the report would scatter its files among them.
fn check_out(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        bail!("--out {}: exists and is not a folder", out.display());
    }
    if out.join("config.toml").exists() {
        bail!(
            "--out {} is a run directory (it holds config.toml): write the report to a folder \
             of its own",
            out.display()
        );
    }
    let earlier_report = out.join(MANIFEST).is_file() || out.join("index.html").is_file();
    let mut empty = true;
    for entry in std::fs::read_dir(out)
        .with_context(|| format!("{}: cannot list", out.display()))?
        .filter_map(|e| e.ok())
    {
        match staging_process(&entry.file_name().to_string_lossy()) {
            Some(pid) if process_runs(pid) => bail!(
                "--out {}: another report (process {pid}) is being written into it; wait for it \
                 to end or choose another folder",
                out.display()
            ),
            // A staging folder left by a report that was killed counts as the report's own.
            Some(_) => {}
            None => empty = false,
        }
    }
    if !(empty || earlier_report) {
        bail!(
            "--out {} holds files that no report wrote: choose a new or empty folder, or one \
             that an earlier report wrote",
            out.display()
        );
    }
    Ok(())
}

/// The process id in the name of a report's staging folder (`.nclab-report-staging-PID`).
fn staging_process(name: &str) -> Option<u32> {
    name.strip_prefix(STAGING)?.parse().ok()
}

/// Whether process `pid` is running. Read from /proc on Linux; elsewhere every process counts
/// as ended, so that a staging folder is always taken for a killed report's leftover.
fn process_runs(pid: u32) -> bool {
    cfg!(target_os = "linux") && Path::new("/proc").join(pid.to_string()).exists()
}

/// The files an earlier report into `out` listed in its [`MANIFEST`] (plain names only).
fn earlier_files(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join(MANIFEST))
        .unwrap_or_default()
        .lines()
        .filter(|name| !name.is_empty() && !name.contains(['/', '\\']) && !name.starts_with('.'))
        .map(str::to_string)
        .collect()
}

/// An unfinished run left out of a report: its directory, and how far it got.
pub type LeftOut = (String, String);

/// The runs to report and the unfinished ones left out (`running` or `interrupted`: see
/// [`Run::unfinished`]), as `(directory, how far it got)` for summary.md; every unfinished run is warned about,
/// and with `--include-unfinished` reported as it stands. Fails when no finished run is left.
fn set_apart_unfinished(
    loaded: Vec<Run>,
    options: &Options,
    warnings: &mut Vec<String>,
) -> Result<(Vec<Run>, Vec<LeftOut>)> {
    let (mut kept, mut left_out) = (Vec::new(), Vec::new());
    for run in loaded {
        let Some(progress) = run.unfinished() else {
            kept.push(run);
            continue;
        };
        let dir = run.dir.display().to_string();
        if options.include_unfinished && !run.metrics.epochs.is_empty() {
            warnings.push(format!(
                "{dir}: unfinished ({progress}); reported as it stands, its last analysis \
                 counted as its final values"
            ));
            kept.push(run);
        } else {
            let asked = if run.metrics.epochs.is_empty() {
                "nothing to report yet"
            } else {
                "--include-unfinished reports it as it stands"
            };
            warnings.push(format!(
                "{dir}: unfinished ({progress}); left out of the report ({asked})"
            ));
            left_out.push((dir, progress));
        }
    }
    if kept.is_empty() {
        let (n, (dir, progress)) = (left_out.len(), &left_out[0]);
        bail!(
            "every run found is unfinished ({n}, first {dir} ({progress})): wait for them to \
             finish, or report them as they stand with --include-unfinished"
        );
    }
    Ok((kept, left_out))
}

/// Reads the runs and writes the whole report. See the module documentation.
pub fn generate(options: &Options) -> Result<Outcome> {
    let dirs = runs::discover(&options.inputs)?;
    let mut warnings = Vec::new();
    let mut loaded: Vec<Run> = Vec::new();
    for dir in &dirs {
        stop_if_asked()?;
        let mut run = match runs::load_run(dir) {
            Ok(r) => r,
            Err(e) if options.skip_bad => {
                warnings.push(format!("skipped {e:#}"));
                continue;
            }
            Err(e) => {
                return Err(e.context("a run directory is unusable (use --skip-bad to skip it)"))
            }
        };
        match runs::load_predictions(&run) {
            Ok(p) => run.predictions = p,
            Err(e) if options.skip_bad => warnings.push(format!(
                "left out {e:#}; the run is reported without its test predictions"
            )),
            Err(e) => {
                return Err(e.context(
                    "a run's test predictions are unusable (use --skip-bad to report the run \
                     without them)",
                ))
            }
        }
        loaded.push(run);
    }
    if loaded.is_empty() {
        bail!("no usable run directory among {} found", dirs.len());
    }
    // A run that stopped before its end has no final values: its last analysis would be
    // pooled with other runs' final ones.
    let (loaded, left_out) = set_apart_unfinished(loaded, options, &mut warnings)?;
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
    let contrasts = resolve_contrasts(&conds, &options.contrasts)?;

    check_out(&options.out)?;
    let earlier = earlier_files(&options.out);
    let created: Vec<PathBuf> = options
        .out
        .ancestors()
        .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
        .map(Path::to_path_buf)
        .collect();
    let staging = options.out.join(format!("{STAGING}{}", std::process::id()));
    // In place before the folders are made: a creation that fails half-way is undone too.
    let mut cleanup = Cleanup {
        staging: &staging,
        created,
    };
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("{}: cannot create directory", options.out.display()))?;
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("{}: cannot clear", staging.display()))?;
    }
    std::fs::create_dir(&staging)
        .with_context(|| format!("{}: cannot create directory", staging.display()))?;
    let files = write_all(
        &loaded,
        &conds,
        &contrasts,
        options,
        &staging,
        &left_out,
        &mut warnings,
    )?;
    // The last point to stop at: once files move into place, the report is finished.
    stop_if_asked()?;
    for f in &files {
        let to = options.out.join(f);
        std::fs::rename(staging.join(f), &to)
            .with_context(|| format!("{}: cannot move into place", to.display()))?;
        // Some files are in place: the folder stays, whatever happens next.
        cleanup.created.clear();
    }
    std::fs::remove_dir_all(&staging)
        .with_context(|| format!("{}: cannot remove", staging.display()))?;
    // An earlier report's files that this one did not write again (figures of a metric no
    // longer there, say) would sit beside the new index: they go.
    for stale in earlier.iter().filter(|f| !files.contains(f)) {
        let _ = std::fs::remove_file(options.out.join(stale));
    }
    let manifest = files.join("\n") + "\n";
    crate::run_dir::write_atomic(&options.out.join(MANIFEST), manifest.as_bytes())?;
    Ok(Outcome {
        files,
        warnings,
        runs: loaded.len(),
        conditions: conds.len(),
    })
}

/// The `--contrast A:B` pairs as condition indices `(A, B)`; each name is a condition's name
/// as the report shows it, or its label, and may hold `:` itself (the split is the one `:` at
/// which both sides name a condition). Refused, naming the option: a name that is no
/// condition's, a split that two ways resolve, a condition against itself, a pair of which one
/// is the other's baseline (the report makes that comparison anyway), a pair given both ways,
/// and a side without a run to compare.
fn resolve_contrasts(conds: &[Condition], specs: &[String]) -> Result<Vec<(usize, usize)>> {
    let find = |name: &str| {
        conds
            .iter()
            .position(|c| c.name == name.trim() || c.label == name.trim())
    };
    let names = || {
        let names: Vec<&str> = conds.iter().map(|c| c.name.as_str()).collect();
        names.join(", ")
    };
    let mut out: Vec<(usize, usize)> = Vec::new();
    for spec in specs {
        let splits: Vec<(usize, usize)> = spec
            .match_indices(':')
            .filter_map(|(i, _)| Some((find(&spec[..i])?, find(&spec[i + 1..])?)))
            .collect();
        let (a, b) = match splits[..] {
            [pair] => pair,
            [] if !spec.contains(':') => {
                bail!("--contrast {spec:?}: expected two condition names, A:B")
            }
            [] => bail!(
                "--contrast {spec:?}: no split at a ':' names two conditions (the conditions: {})",
                names()
            ),
            _ => bail!("--contrast {spec:?}: more than one ':' splits it into two conditions"),
        };
        let (ca, cb) = (&conds[a], &conds[b]);
        if a == b {
            bail!("--contrast {spec:?}: a condition against itself");
        }
        if ca.baseline == Some(b) || cb.baseline == Some(a) {
            bail!(
                "--contrast {spec:?}: one is the other's CE baseline, a comparison the report \
                 makes anyway"
            );
        }
        if out.contains(&(b, a)) {
            bail!("--contrast {spec:?}: given both ways; keep one (the family is the same)");
        }
        if let Some(empty) = [ca, cb].into_iter().find(|c| c.runs.is_empty()) {
            bail!(
                "--contrast {spec:?}: {} has no run to compare (every one diverged)",
                empty.name
            );
        }
        if !out.contains(&(a, b)) {
            out.push((a, b));
        }
    }
    Ok(out)
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

/// Fails when a signal asked the process to stop ([`crate::interrupt`]): checked before each
/// file is drawn or written into the staging folder, so that Ctrl-C during a long report
/// leaves by the error path, whose [`Cleanup`] removes what was staged.
pub fn stop_if_asked() -> Result<()> {
    if let Some(signal) = crate::interrupt::requested() {
        bail!(
            "stopped by {}: no report was written",
            crate::interrupt::name(signal)
        );
    }
    Ok(())
}

fn write_text(dir: &Path, name: &str, text: &str, files: &mut Vec<String>) -> Result<()> {
    stop_if_asked()?;
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    files.push(name.to_string());
    Ok(())
}

fn write_all(
    runs: &[Run],
    conds: &[Condition],
    contrasts: &[(usize, usize)],
    options: &Options,
    dir: &Path,
    left_out: &[LeftOut],
    warnings: &mut Vec<String>,
) -> Result<Vec<String>> {
    let metrics = summary::metric_names(runs);
    let cx = figures::Context {
        runs,
        conds,
        decays: decay_epochs(runs, conds),
        floors: floors::per_condition(runs, conds, &metrics, warnings),
        options,
    };
    let mut saver = figures::Saver {
        dir,
        files: Vec::new(),
    };
    let comps = summary::comparisons(runs, conds, &metrics, contrasts);
    warnings.extend(test_images::mismatches(runs, conds, contrasts));
    let panel_figs = figures::panel_figures(&cx, &mut saver)?;
    let curve_figs = figures::curve_figures(&cx, &metrics, &mut saver)?;
    let layer_figs = figures::layer_figures(&cx, &mut saver)?;
    let (gram_figs, pca_figs) = figures::geometry_figures(&cx, &mut saver, warnings)?;
    let trade = figures::tradeoff_figures(&cx, &comps, &mut saver)?;
    let all = [
        panel_figs, curve_figs, layer_figs, gram_figs, pca_figs, trade,
    ];
    let (sections, overview) = figure_sections(all);
    let mut files = saver.files;

    // Tables.
    let fold_table = folds::FoldTable::new(runs, conds);
    let floors = &cx.floors;
    write_text(
        dir,
        "summary.csv",
        &summary::summary_csv(runs, conds, &metrics, floors),
        &mut files,
    )?;
    write_text(
        dir,
        "comparisons.csv",
        &summary::comparisons_csv(conds, &comps),
        &mut files,
    )?;
    write_text(dir, "folds.csv", &fold_table.csv(conds), &mut files)?;
    let md =
        summary::summary_markdown(runs, conds, &metrics, &comps, &fold_table, floors, left_out);
    write_text(dir, "summary.md", &md, &mut files)?;

    // The page.
    let mut blocks = page_blocks(runs, conds, &metrics, &comps, &fold_table, floors);
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
    let preface = preface(runs, conds, warnings);
    let page = html::page(
        "nclab report",
        &preface,
        &blocks,
        &sections,
        &toggles(conds),
    );
    write_text(dir, "index.html", &page, &mut files)?;
    Ok(files)
}

/// The sections of figures in index.html (panels, curves, layers, geometry, PCA, trade-off),
/// and the overview of thumbnails.
fn figure_sections(all: [Vec<FigureEntry>; 6]) -> (Vec<Section>, String) {
    let [panel_figs, curve_figs, layer_figs, gram_figs, pca_figs, trade] = all;
    let mut sections = Vec::new();
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
        "No run has a final.safetensors or a final_geometry.json, so there is no final geometry \
         to show."
    } else {
        "Computed from each condition's first run (lowest seed) that has a final.safetensors, or \
         kept its geometry in final_geometry.json (scripts/keep_final.py)."
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
    (sections, overview)
}

/// The tables of index.html, in page order: (title, HTML).
fn page_blocks(
    runs: &[Run],
    conds: &[Condition],
    metrics: &[String],
    comps: &[Comparison],
    fold_table: &folds::FoldTable,
    floors: &[Option<floors::Floors>],
) -> Vec<(String, String)> {
    let mut blocks = vec![(
        "Decision table".to_string(),
        decision_block(runs, conds, comps),
    )];
    if let Some(b) = blocks::test_images_block(conds, comps) {
        blocks.push(("What another test set would add".to_string(), b));
    }
    blocks.extend([
        (
            "Collapse during the terminal phase".to_string(),
            folds_block(conds, fold_table),
        ),
        (
            "Start of the terminal phase and cost".to_string(),
            tpt_block(runs, conds),
        ),
        (
            "Summary at the final epoch".to_string(),
            summary_block(runs, conds, metrics, floors),
        ),
        (
            "Against the CE baseline in detail".to_string(),
            comparison_block(conds, comps),
        ),
        ("Runs and conditions".to_string(), runs_block(runs, conds)),
    ]);
    blocks
}

/// The page's opening: counts, links to the tables, diverged runs and warnings.
fn preface(runs: &[Run], conds: &[Condition], warnings: &[String]) -> String {
    let mut preface = format!(
        "<p>{} runs in {} conditions. Tables: <a href=\"summary.csv\">summary.csv</a>, \
         <a href=\"comparisons.csv\">comparisons.csv</a>, <a href=\"folds.csv\">folds.csv</a>, \
         <a href=\"summary.md\">summary.md</a>.</p>\n",
        conds.iter().map(|c| c.runs.len()).sum::<usize>(),
        conds.len()
    );
    let shared = setup::shared(conds, &decay_epochs(runs, conds));
    if !shared.is_empty() {
        let items: Vec<String> = shared
            .iter()
            .map(|(label, v)| format!("{label} <code>{}</code>", escape(v)))
            .collect();
        preface.push_str(&format!(
            "<p><b>Shared by every condition</b>: {}.</p>\n",
            items.join("; ")
        ));
    }
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
    preface
}

/// The condition toggles above the figures, in each condition's colour.
fn toggles(conds: &[Condition]) -> Vec<html::Toggle> {
    conds
        .iter()
        .filter(|c| !c.runs.is_empty())
        .map(|c| {
            let colour = c.style.colour;
            html::Toggle {
                id: c.id.clone(),
                name: c.name.clone(),
                colour: format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2),
            }
        })
        .collect()
}

/// The learning-rate decay epochs of the runs that did not diverge (their union: the same for
/// all runs of a report unless --allow-mixed pooled different lengths).
pub(crate) fn decay_epochs(runs: &[Run], conds: &[Condition]) -> Vec<f64> {
    let mut d: Vec<usize> = conds
        .iter()
        .flat_map(|c| c.runs.iter().flat_map(|&i| runs[i].decay_epochs()))
        .collect();
    d.sort_unstable();
    d.dedup();
    d.into_iter().map(|e| e as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::conditions::test_condition;
    use super::resolve_contrasts;

    #[test]
    fn contrasts_resolve_by_name_at_the_one_split_that_names_two_conditions() {
        // ce is the baseline of hxe; names may hold ':' (a flat:K tree, log:50 analyses).
        let mut conds = vec![
            test_condition("ce", vec![0]),
            test_condition("hxe", vec![1]),
            test_condition("soft tree=flat:10", vec![2]),
            test_condition("soft", vec![3]),
            test_condition("gone", vec![]),
        ];
        conds[1].baseline = Some(0);
        let ok = |specs: &[&str]| {
            let specs: Vec<String> = specs.iter().map(|s| s.to_string()).collect();
            resolve_contrasts(&conds, &specs).unwrap()
        };
        let err = |spec: &str| {
            format!(
                "{:#}",
                resolve_contrasts(&conds, &[spec.into()]).unwrap_err()
            )
        };
        assert_eq!(ok(&["soft tree=flat:10:soft"]), [(2, 3)]);
        assert_eq!(
            ok(&["soft:soft tree=flat:10", " hxe : soft "]),
            [(3, 2), (1, 3)]
        );
        // The same pair twice is kept once; both ways is refused.
        assert_eq!(ok(&["hxe:soft", "hxe:soft"]), [(1, 3)]);
        let both = ["hxe:soft".to_string(), "soft:hxe".to_string()];
        let e = format!("{:#}", resolve_contrasts(&conds, &both).unwrap_err());
        assert!(
            e.starts_with("--contrast \"soft:hxe\": given both ways"),
            "{e}"
        );
        for (spec, wanted) in [
            ("hxe", "expected two condition names, A:B"),
            (
                "hxe:nothing",
                "no split at a ':' names two conditions (the conditions: ce, hxe, ",
            ),
            ("", "expected two condition names"),
            (":", "no split at a ':'"),
            ("soft:soft", "a condition against itself"),
            ("hxe:ce", "one is the other's CE baseline"),
            ("ce:hxe", "one is the other's CE baseline"),
            ("soft:gone", "gone has no run to compare"),
        ] {
            let e = err(spec);
            assert!(
                e.starts_with(&format!("--contrast {spec:?}: ")) && e.contains(wanted),
                "{e}"
            );
        }
    }
}
