//! The bounds a condition's tree puts on its metrics. The floor of `hdist@k`: the least value
//! any ranking of the classes reaches when every class is equally frequent, `(1/K) sum_t (1/k)
//! sum_{j<=k} d*_j(t)` with `d*_1(t) <= d*_2(t) <= ...` the distances of all classes to `t`
//! sorted increasingly ([`MistakeEvaluator::hdist_floor`], docs/losses-and-hierarchies.md); a
//! condition on its floor has the true class and the classes nearest it in every top k. The
//! ceiling of `mean_tree_correlation`: the tree's distances tie (at most K - 1 values over
//! K (K - 1) / 2 pairs), so no ranking of distinct cosines reaches 1
//! ([`Hierarchy::tree_correlation_ceiling`]).

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

/// For each condition, the floors on the tree its runs share; `None` when they name none or
/// different ones, or when the tree cannot be built (`flat` without its number of classes, a
/// file no longer there, a tree too large for a distance matrix,
/// [`Hierarchy::check_matrix_size`]). The tree is resolved for the number of classes of the
/// runs' data when the config names a dataset nclab knows ([`Run::data_classes`]); a tree of
/// another size (its file changed since the runs trained) gets no floor, with a warning.
pub fn per_condition(
    runs: &[Run],
    conditions: &[Condition],
    warnings: &mut Vec<String>,
) -> Vec<Option<Floors>> {
    conditions
        .iter()
        .map(|c| {
            let hierarchy = c.common.get("hierarchy")?;
            let run = &runs[*c.runs.first()?];
            let spec = run.hierarchy_spec()?;
            let k = run.data_classes();
            let h = match Hierarchy::resolve(&spec, k) {
                Ok(h) => h,
                // A tree that resolves alone but not for the data: it changed since the runs.
                Err(_) => {
                    if let (Ok(now), Some(k)) = (Hierarchy::resolve(&spec, None), k) {
                        warnings.push(format!(
                            "condition {}: its tree `hierarchy` = {spec:?} now has {} classes, \
                             its runs' data {k} (data.name = {}): the file has changed since \
                             they trained, so no floor or ceiling is given for it",
                            c.id,
                            now.num_classes(),
                            run.config_str("data.name").unwrap_or_default()
                        ));
                    }
                    return None;
                }
            };
            h.check_matrix_size().ok()?;
            let all: Vec<usize> = (0..h.num_classes()).collect();
            let floor = MistakeEvaluator::top1_top5(&h)
                .ok()?
                .hdist_floor(&all)
                .ok()?;
            Some(Floors {
                hierarchy: super::runs::unquote(hierarchy).trim().to_string(),
                values: [floor[0], floor[floor.len() - 1]],
                tree_correlation_ceiling: h.tree_correlation_ceiling(),
            })
        })
        .collect()
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
    Some(format!(
        "hdist@k cannot fall below its floor on the tree, the value of the ranking that lists \
         the classes nearest the true one first, with every class equally frequent \
         (summary.csv, columns *_floor){ceiling}: {}.",
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
