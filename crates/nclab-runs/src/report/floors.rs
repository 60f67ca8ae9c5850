//! The bounds a condition's tree puts on its metrics. The floor of `hdist@k`: the least value
//! any ranking of the classes reaches when every class is equally frequent, `(1/K) sum_t (1/k)
//! sum_{j<=k} d*_j(t)` with `d*_1(t) <= d*_2(t) <= ...` the distances of all classes to `t`
//! sorted increasingly ([`MistakeEvaluator::hdist_floor`], docs/losses-and-hierarchies.md); a
//! condition on its floor has the true class and the classes nearest it in every top k. The
//! ceiling of `mean_tree_correlation`: the tree's distances tie (at most K - 1 values over
//! K (K - 1) / 2 pairs), so no ranking of distinct cosines reaches 1
//! ([`Hierarchy::tree_correlation_ceiling`]).

use std::collections::HashMap;

use nclab_core::hierarchy::Hierarchy;
use nclab_core::metrics::mistakes::MistakeEvaluator;

use crate::numbers;

use super::conditions::Condition;
use super::runs::Run;

/// The metric with a ceiling below 1 on a tree.
pub const CEILED: &str = "mean_tree_correlation";

/// The metrics with a floor: the mistake columns of a run's `metrics.csv` (`hdist@5` is
/// hdist@K on a tree of fewer than 5 classes, and so is its floor).
pub const FLOORED: [&str; 2] = ["hdist@1", "hdist@5"];

/// The tree of a condition's runs, the floors of [`FLOORED`] on it and the ceiling of
/// `mean_tree_correlation` (`None` when every pair of classes is as far apart: a flat tree).
#[derive(Clone, Debug, PartialEq)]
pub struct Floors {
    /// The `hierarchy` entry of the runs' config, trimmed.
    pub hierarchy: String,
    pub values: [f64; 2],
    pub tree_correlation_ceiling: Option<f64>,
}

/// A run's tree as [`run_floors`] builds it: its spec, the number of classes of its data, and
/// where that number comes from (`data.name = mnist`).
type TreeKey = (String, Option<usize>, String);

/// For each condition, the floors on the tree its runs share ([`run_floors`], each run's tree
/// rebuilt for its data); `None` when a run has none, or two runs are on different trees. When
/// the runs record a metric with a floor or a ceiling (`metrics`), a tree that is not the data's
/// or cannot be read, and runs on different trees, are warned about, naming the condition.
pub fn per_condition(
    runs: &[Run],
    conditions: &[Condition],
    metrics: &[String],
    warnings: &mut Vec<String>,
) -> Vec<Option<Floors>> {
    let wanted = metrics
        .iter()
        .any(|m| FLOORED.contains(&m.as_str()) || m == CEILED);
    // One tree per (spec, number of classes): a condition's runs usually share it.
    let mut built: HashMap<TreeKey, Result<Option<Floors>, String>> = HashMap::new();
    conditions
        .iter()
        .map(|c| {
            let name = super::runs::unquote(c.common.get("hierarchy")?)
                .trim()
                .to_string();
            let mut found: Vec<(&Run, Floors)> = Vec::new();
            for run in c.runs.iter().map(|&i| &runs[i]) {
                let spec = run.hierarchy_spec()?;
                let k = run.data_classes();
                let data = match run.config_str("data.name").as_deref() {
                    Some("synthetic") => format!("data.classes = {}", k.unwrap_or_default()),
                    name => format!("data.name = {}", name.unwrap_or_default()),
                };
                // Keyed by the data's name too: a warning names the data it was made for.
                let floors = built
                    .entry((spec.clone(), k, data))
                    .or_insert_with_key(|(spec, k, data)| run_floors(spec, *k, data))
                    .clone();
                match floors {
                    Ok(Some(f)) => found.push((run, f)),
                    Ok(None) => return None,
                    Err(why) => {
                        if wanted {
                            warnings.push(format!(
                                "condition {}: no floor or ceiling on its tree: {why} (run {})",
                                c.id,
                                run.dir.display()
                            ));
                        }
                        return None;
                    }
                }
            }
            let (first_run, first) = found.first()?;
            // The same tree by its floors and ceiling (a run-relative file has a path per run).
            let same = |f: &Floors| {
                f.values == first.values
                    && f.tree_correlation_ceiling == first.tree_correlation_ceiling
            };
            if let Some((other, _)) = found.iter().find(|(_, f)| !same(f)) {
                if wanted {
                    warnings.push(format!(
                        "condition {}: its runs are not on one tree ({} and {} differ), so no \
                         floor or ceiling is given for it",
                        c.id,
                        first_run.dir.display(),
                        other.dir.display()
                    ));
                }
                return None;
            }
            let mut floors = first.clone();
            // `flat` alone is named with the number of classes it was resolved for.
            floors.hierarchy = if name == "flat" {
                floors.hierarchy
            } else {
                name
            };
            Some(floors)
        })
        .collect()
}

/// The floors of one run's tree (`spec`, its `hierarchy` with a run-relative file resolved), for
/// the number of classes `k` of its data ([`Run::data_classes`], `None` when unknown; `data`
/// says where that number comes from, for the error). `Ok(None)`
/// where none is to be had: `flat` without a number of classes (a run written from Python may
/// name no dataset), or a tree too large for a distance matrix
/// ([`Hierarchy::check_matrix_size`]). `Err` says why the tree is not the run's: it cannot be
/// read, or its number of classes is not the data's.
fn run_floors(spec: &str, k: Option<usize>, data: &str) -> Result<Option<Floors>, String> {
    let bare_flat = spec.trim() == "flat";
    if bare_flat && k.is_none() {
        return Ok(None);
    }
    let h = Hierarchy::resolve(spec, k.filter(|_| bare_flat))
        .map_err(|e| format!("`hierarchy` = {spec:?} cannot be read ({e})"))?;
    if let Some(k) = k.filter(|&k| k != h.num_classes()) {
        // It resolved, so it is a file when there is one by that name, else a built-in.
        let what = if std::path::Path::new(spec.trim()).exists() {
            "the file"
        } else {
            "the built-in tree"
        };
        return Err(format!(
            "{what} `hierarchy` = {spec:?} has {} classes, the run's data {k} ({data}), so it is \
             not the tree the run was measured on",
            h.num_classes()
        ));
    }
    if h.check_matrix_size().is_err() {
        return Ok(None);
    }
    let all: Vec<usize> = (0..h.num_classes()).collect();
    let floor = MistakeEvaluator::top1_top5(&h)
        .and_then(|m| m.hdist_floor(&all))
        .map_err(|e| format!("`hierarchy` = {spec:?}: {e}"))?;
    Ok(Some(Floors {
        hierarchy: if bare_flat {
            format!("flat:{}", h.num_classes())
        } else {
            spec.trim().to_string()
        },
        values: [floor[0], floor[floor.len() - 1]],
        tree_correlation_ceiling: h.tree_correlation_ceiling(),
    }))
}

/// The floor of `metric` (one of [`FLOORED`]) that every condition shares: `None` when the
/// metric has no floor, some condition has none, or two differ (conditions on different trees).
pub fn common(floors: &[Option<Floors>], metric: &str) -> Option<f64> {
    let i = FLOORED.iter().position(|f| *f == metric)?;
    let first = floors.first()?.as_ref()?.values[i];
    floors
        .iter()
        .all(|f| f.as_ref().is_some_and(|f| f.values[i] == first))
        .then_some(first)
}

/// A floor as the report prints it: 4 significant digits.
pub fn text(floor: f64) -> String {
    numbers::significant(Some(floor), 4)
}

/// The metrics with a floor among `metrics`: (index into [`Floors::values`], name).
pub fn columns(metrics: &[String]) -> Vec<(usize, &'static str)> {
    FLOORED
        .iter()
        .enumerate()
        .filter(|(_, f)| metrics.iter().any(|m| m == *f))
        .map(|(i, &f)| (i, f))
        .collect()
}

/// The sentence under the final values: per tree, its floors and (unless one tree covers
/// every condition) the ids of the conditions on it; `code` formats a tree's name for the
/// page. `None` when no condition has a floor or the runs have no hdist@k.
pub fn note(
    conditions: &[Condition],
    floors: &[Option<Floors>],
    metrics: &[String],
    code: impl Fn(&str) -> String,
) -> Option<String> {
    let floored = columns(metrics);
    let mut trees: Vec<(&Floors, Vec<&str>)> = Vec::new();
    for (c, f) in conditions.iter().zip(floors) {
        let Some(f) = f else { continue };
        // One entry per tree: the same name and the same floors (two run directories may
        // hold different files of one name).
        match trees.iter_mut().find(|(g, _)| *g == f) {
            Some((_, ids)) => ids.push(&c.id),
            None => trees.push((f, vec![&c.id])),
        }
    }
    if trees.is_empty() || floored.is_empty() {
        return None;
    }
    // The conditions are named unless one tree covers them all.
    let several = trees.len() > 1 || floors.iter().any(Option::is_none);
    // The ceiling's clause only where a tree has one (a flat tree's pairs all tie: none).
    let with_ceiling = metrics.iter().any(|m| m == CEILED)
        && trees
            .iter()
            .any(|(f, _)| f.tree_correlation_ceiling.is_some());
    let per_tree: Vec<String> = trees
        .iter()
        .map(|(f, ids)| {
            let mut values: Vec<String> = floored
                .iter()
                .map(|&(i, m)| format!("{m} {}", text(f.values[i])))
                .collect();
            if let Some(c) = f.tree_correlation_ceiling.filter(|_| with_ceiling) {
                values.push(format!("with {CEILED} at most {}", text(c)));
            }
            let which = if several {
                format!(" ({})", ids.join(", "))
            } else {
                String::new()
            };
            let (floors, ceiling) = values.split_at(floored.len());
            let mut text = floors.join(" and ");
            for c in ceiling {
                text.push_str(&format!(", {c}"));
            }
            format!("on {}{which}, {text}", code(&f.hierarchy))
        })
        .collect();
    let ceiling = if with_ceiling {
        "; with cosines that do not tie, mean_tree_correlation cannot exceed its ceiling, the \
         Spearman correlation of cosines that rank the class pairs in the tree's order, below 1 \
         because the tree's distances tie (column mean_tree_correlation_ceiling)"
    } else {
        ""
    };
    let without: Vec<&str> = conditions
        .iter()
        .zip(floors)
        .filter(|(_, f)| f.is_none())
        .map(|(c, _)| c.id.as_str())
        .collect();
    let without = if without.is_empty() {
        String::new()
    } else {
        format!(
            " No floor for {}: the tree could not be rebuilt for the runs' data (the report's \
             warnings say why where there is a reason to warn; docs/report.md).",
            without.join(", ")
        )
    };
    Some(format!(
        "hdist@k cannot fall below its floor on the tree, the value of the ranking that lists \
         the classes nearest the true one first, with every class equally frequent \
         (summary.csv, columns *_floor){ceiling}: {}.{without}",
        per_tree.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(tree: &str, hdist1: f64, hdist5: f64) -> Option<Floors> {
        Some(Floors {
            hierarchy: tree.into(),
            values: [hdist1, hdist5],
            tree_correlation_ceiling: None,
        })
    }

    #[test]
    fn a_common_floor_needs_every_condition_on_it() {
        let same = [on("t", 0.0, 1.4), on("t", 0.0, 1.4)];
        assert_eq!(common(&same, "hdist@5"), Some(1.4));
        assert_eq!(common(&same, "hdist@1"), Some(0.0));
        // Not a floored metric, a condition without a tree, or two trees: none.
        assert_eq!(common(&same, "nc1"), None);
        assert_eq!(common(&[on("t", 0.0, 1.4), None], "hdist@5"), None);
        assert_eq!(common(&[None, on("t", 0.0, 1.4)], "hdist@5"), None);
        assert_eq!(
            common(&[on("t", 0.0, 1.4), on("u", 0.0, 1.2)], "hdist@5"),
            None
        );
        assert_eq!(common(&[], "hdist@5"), None);
    }
}
