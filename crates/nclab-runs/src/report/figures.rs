//! The figures of a report, each saved as SVG and PNG into the staging directory with its
//! caption for index.html: the panels, every metric against the epoch, the layers, the final
//! geometry, the trade-off and what each condition trades against its baseline.

use std::path::Path;

use anyhow::Result;

use super::conditions::Condition;
use super::html::FigureEntry;
use super::runs::Run;
use super::{
    curves, effects, file_stem, floors, geometry, geometry_plots, layer_epochs, layers, panels,
    plot,
};
use super::{summary, tradeoff, Options, NOT_PLOTTED};

/// What the figures are drawn from.
pub struct Context<'a> {
    pub runs: &'a [Run],
    pub conds: &'a [Condition],
    /// Learning-rate decay epochs to mark.
    pub decays: Vec<f64>,
    /// The floors of hdist@k on each condition's tree.
    pub floors: Vec<Option<floors::Floors>>,
    pub options: &'a Options,
}

/// Saves figures into `dir` and lists the files written.
pub struct Saver<'a> {
    pub dir: &'a Path,
    pub files: Vec<String>,
}

impl Saver<'_> {
    /// Writes `<stem>.svg` and `<stem>.png`; returns the SVG text (for inlining).
    pub fn save(&mut self, fig: &dyn SaveFigure, stem: &str) -> Result<String> {
        super::stop_if_asked()?;
        let svg = fig.save(self.dir, stem)?;
        self.files.push(format!("{stem}.svg"));
        self.files.push(format!("{stem}.png"));
        Ok(svg)
    }
}

/// A figure that [`plot::save`] writes (object-safe, for [`Saver::save`]).
pub trait SaveFigure {
    fn save(&self, dir: &Path, stem: &str) -> Result<String>;
}

impl<F: plot::Figure> SaveFigure for F {
    fn save(&self, dir: &Path, stem: &str) -> Result<String> {
        plot::save(self, dir, stem)
    }
}

/// The collapse quantities in small panels.
pub fn panel_figures(cx: &Context, saver: &mut Saver) -> Result<Vec<FigureEntry>> {
    let (runs, conds) = (cx.runs, cx.conds);
    let mut panel_figs = Vec::new();
    if let Some(fig) = panels::PanelsFigure::new(runs, conds, &cx.decays, cx.options.curves) {
        let svg = saver.save(&fig, "panels")?;
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

    Ok(panel_figs)
}

/// Every metric against the epoch: the headline metrics first (NC1-NC4, ...), then the others
/// in metrics.csv order.
pub fn curve_figures(
    cx: &Context,
    metrics: &[String],
    saver: &mut Saver,
) -> Result<Vec<FigureEntry>> {
    let (runs, conds) = (cx.runs, cx.conds);
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
        let mut fig = curves::CurvesFigure::new(m, curves, &cx.decays, cx.options.curves);
        fig.panel.reference =
            floors::common(&cx.floors, m).map(|f| (f, format!("floor {}", floors::text(f))));
        let stem = format!("curve-{}", file_stem(m));
        let svg = saver.save(&fig, &stem)?;
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

    Ok(curve_figs)
}

/// Collapse through the layers: against depth, and each layer against the epoch.
pub fn layer_figures(cx: &Context, saver: &mut Saver) -> Result<Vec<FigureEntry>> {
    let (runs, conds) = (cx.runs, cx.conds);
    let mut layer_figs = Vec::new();
    if let Some(fig) = layers::LayersFigure::new(runs, conds, "nc1") {
        let svg = saver.save(&fig, "layers-nc1")?;
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

    for f in layer_epochs::figures(runs, conds, "nc1", &cx.decays, cx.options.curves) {
        let c = &conds[f.condition];
        let stem = format!("layers-nc1-epochs-{}", c.id);
        let svg = saver.save(&f.figure, &stem)?;
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

    Ok(layer_figs)
}

/// The final geometry of each condition (its first run that has final.safetensors, or kept its
/// geometry in final_geometry.json): the Gram figures and the PCA figures.
pub fn geometry_figures(
    cx: &Context,
    saver: &mut Saver,
    warnings: &mut Vec<String>,
) -> Result<(Vec<FigureEntry>, Vec<FigureEntry>)> {
    let (runs, conds) = (cx.runs, cx.conds);
    let mut gram_figs = Vec::new();
    let mut pca_figs = Vec::new();
    for c in conds {
        let mut found = None;
        for &i in &c.runs {
            let spec = runs[i].hierarchy_spec();
            match geometry::load(&runs[i].dir, spec.as_deref()) {
                Ok(Some((g, w, source))) => {
                    warnings.extend(w);
                    found = Some((i, g, source));
                    break;
                }
                Ok(None) => {}
                Err(e) if cx.options.skip_bad => {
                    warnings.push(format!("skipped the final geometry of {e:#}"))
                }
                Err(e) => {
                    return Err(e.context(
                        "a run's final geometry (final.safetensors or final_geometry.json) is \
                         unusable (use --skip-bad to skip it)",
                    ))
                }
            }
        }
        let Some((i, geo, source)) = found else {
            continue;
        };
        let seed = runs[i].seed().map_or("?".into(), |s| s.to_string());
        let who = format!("{} ({}, seed {seed})", c.id, c.name);
        let stem = format!("gram-{}", c.id);
        saver.save(
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
                source.display()
            ),
            svg: None,
        });
        let stem = format!("pca-{}", c.id);
        saver.save(
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

    Ok((gram_figs, pca_figs))
}

/// Top-1 error against mistake severity.
pub fn tradeoff_figures(
    cx: &Context,
    comps: &[summary::Comparison],
    saver: &mut Saver,
) -> Result<Vec<FigureEntry>> {
    let (runs, conds) = (cx.runs, cx.conds);
    let mut trade = Vec::new();
    if let Some(fig) = tradeoff::TradeoffFigure::new(runs, conds) {
        let svg = saver.save(&fig, "tradeoff")?;
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
    if let Some(fig) = effects::EffectsFigure::new(conds, comps) {
        let svg = saver.save(&fig, "effects")?;
        trade.push(FigureEntry {
            stem: "effects".into(),
            caption: "What each condition trades against its CE baseline at the final epoch: \
                      the paired differences in top-1 error, hdist@5 and mistake severity, one \
                      row per condition, with their 95% intervals (not adjusted for multiple \
                      comparisons; filled markers survive Benjamini–Hochberg). Left of 0 is \
                      better in every panel."
                .into(),
            svg: Some(svg),
        });
    }

    Ok(trade)
}
