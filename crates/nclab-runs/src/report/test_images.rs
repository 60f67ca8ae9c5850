//! What a new sample of test images would add to a comparison. The intervals of
//! `comparisons.csv` vary the seeds on one fixed test set; for the test metrics that are means
//! over the test images, and mistake severity by its linearisation
//! ([`predictions::TERM_METRICS`], [`TestPredictions::influence`]), the runs'
//! `test_predictions.csv` give the images' share too ([`nclab_core::test_images`],
//! docs/report.md):
//! * with two seeds or more whose runs of both conditions have their predictions, the estimate
//!   of the half-width from those seeds (paired by seed);
//! * with fewer, a bound from all runs that have them (larger in expectation);
//! * none when a side has no predictions, or the runs' predictions are over different test
//!   images (their label columns differ: [`mismatches`] names them).

use std::collections::BTreeMap;

use nclab_core::test_images;

use super::conditions::Condition;
use super::runs::Run;
use super::summary::{self, Comparison};
use crate::predictions::{self, TestPredictions};

/// The test images' half-width of one comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TestImageTerm {
    /// The half-width (95% in the report) a new sample of test images adds to the difference.
    pub half_width: f64,
    /// An estimate from seeds both conditions have predictions for, rather than a bound
    /// (larger in expectation).
    pub estimated: bool,
    /// The seeds the estimate pairs (0 for a bound).
    pub seeds: usize,
}

/// The term of `metric` for condition `a` against `b` at confidence `level` (`None` as in the
/// module docs, and for a metric not in [`predictions::TERM_METRICS`]).
pub fn term(
    runs: &[Run],
    a: &Condition,
    b: &Condition,
    metric: &str,
    level: f64,
) -> Option<TestImageTerm> {
    let va = by_seed(runs, a, metric);
    let vb = by_seed(runs, b, metric);
    if va.is_empty() || vb.is_empty() || first_mismatch(runs, a, b).is_some() {
        return None;
    }
    let shared: Vec<i64> = va.keys().filter(|s| vb.contains_key(s)).copied().collect();
    if shared.len() >= 2 {
        let xa: Vec<&[f64]> = shared.iter().map(|s| &va[s][..]).collect();
        let xb: Vec<&[f64]> = shared.iter().map(|s| &vb[s][..]).collect();
        return test_images::half_width(&xa, &xb, level).map(|half_width| TestImageTerm {
            half_width,
            estimated: true,
            seeds: shared.len(),
        });
    }
    let xa: Vec<&[f64]> = va.values().map(|v| &v[..]).collect();
    let xb: Vec<&[f64]> = vb.values().map(|v| &v[..]).collect();
    test_images::half_width_bound(&xa, &xb, level).map(|half_width| TestImageTerm {
        half_width,
        estimated: false,
        seeds: 0,
    })
}

/// The columns of [`table`].
pub const HEADER: [&str; 6] = [
    "condition",
    "metric",
    "diff (seeds' 95% CI)",
    "test images' ±",
    "95% CI with both",
    "with both",
];

/// The sentence above [`table`].
pub const NOTE: &str = "The intervals vary the seeds on one fixed test set. For the test metrics \
    that are means over the test images, and mistake severity, the runs' test_predictions.csv say \
    what a new sample of test images would add: its 95% half-width (estimated from the seeds both \
    conditions have predictions for when they are two or more; otherwise a bound, larger in \
    expectation, marked ≤), added in quadrature to the seeds' half-width. Stars: \
    Benjamini-Hochberg adjusted p, as above; the intervals are not adjusted. test_acc, which is \
    1 - top1_error, has top1_error's term (in comparisons.csv).";

/// One row per comparison with a test-image term, as plain text (`None` when there is none):
/// condition, metric, the difference with the seeds' interval, the images' half-width, the
/// widened interval, and whether it still excludes 0 (`clear of 0`, `includes 0`, `includes 0
/// already` when the seeds' interval does, `not known` when only the bound is known and the
/// interval with it includes 0).
pub fn table(conditions: &[Condition], comps: &[Comparison]) -> Option<Vec<[String; 6]>> {
    let rows: Vec<[String; 6]> = comps
        .iter()
        // test_acc is 1 - top1_error image by image: its row would repeat top1_error's
        // (comparisons.csv has both).
        .filter(|c| c.metric != "test_acc")
        .filter_map(|c| {
            let t = c.test_images?;
            let (d, lo, hi, _) = c.effect();
            let (wlo, whi) = c.widened_interval().unwrap_or((f64::NAN, f64::NAN));
            let bound = if t.estimated { "" } else { "≤ " };
            let excludes = |lo: f64, hi: f64| lo > 0.0 || hi < 0.0;
            let verdict = if !(lo.is_finite() && hi.is_finite()) {
                "n/a"
            } else if !excludes(lo, hi) {
                "includes 0 already"
            } else if excludes(wlo, whi) {
                "clear of 0"
            } else if t.estimated {
                "includes 0"
            } else {
                "not known (includes 0 within the bound)"
            };
            let name = &conditions[c.condition].name;
            Some([
                if c.contrast {
                    format!("{name} vs {}", conditions[c.baseline].name)
                } else {
                    name.clone()
                },
                c.metric.clone(),
                format!(
                    "{} {}{}",
                    summary::signed(d),
                    summary::interval(lo, hi),
                    summary::stars(c.p_bh)
                ),
                format!("{bound}{}", summary::sig(t.half_width)),
                if wlo.is_finite() {
                    format!("{bound}{}", summary::interval(wlo, whi))
                } else {
                    "n/a".to_string()
                },
                verdict.to_string(),
            ])
        })
        .collect();
    (!rows.is_empty()).then_some(rows)
}

/// One warning per compared pair of conditions whose runs have predictions over different
/// test images: no test-image term between them.
pub fn mismatches(
    runs: &[Run],
    conditions: &[Condition],
    contrasts: &[(usize, usize)],
) -> Vec<String> {
    summary::compared_pairs(conditions, contrasts)
        .into_iter()
        .filter_map(|(ai, bi, _)| {
            let (a, b) = (&conditions[ai], &conditions[bi]);
            let ((r1, p1), (r2, p2)) = first_mismatch(runs, a, b)?;
            let why = if p1.len() == p2.len() {
                "the label columns differ".to_string()
            } else {
                format!("{} and {} rows", p1.len(), p2.len())
            };
            Some(format!(
                "{} and {}: their {} list different test images ({why}), so the report gives no \
                 test-image term between {} and {}",
                r1.dir.display(),
                r2.dir.display(),
                predictions::FILE,
                a.name,
                b.name
            ))
        })
        .collect()
}

/// The per-image values of `metric` of a condition's runs that have predictions, by seed
/// (runs without a seed, or a seed twice, are left out).
fn by_seed(runs: &[Run], c: &Condition, metric: &str) -> BTreeMap<i64, Vec<f64>> {
    let mut out = BTreeMap::new();
    let mut twice = Vec::new();
    for (run, p) in with_predictions(runs, c) {
        let (Some(seed), Some(v)) = (run.seed(), p.influence(metric)) else {
            continue;
        };
        if out.insert(seed, v).is_some() {
            twice.push(seed);
        }
    }
    for s in twice {
        out.remove(&s);
    }
    out
}

/// A run and its test predictions.
type WithPredictions<'r> = (&'r Run, &'r TestPredictions);

/// The runs of a condition that have test predictions.
fn with_predictions<'r>(
    runs: &'r [Run],
    c: &Condition,
) -> impl Iterator<Item = WithPredictions<'r>> + Clone {
    let idx = c.runs.clone();
    idx.into_iter()
        .filter_map(move |i| Some((&runs[i], runs[i].predictions.as_ref()?)))
}

/// The first run of the two conditions with predictions and the first other one whose
/// predictions list other test images (a different label column); `None` when they all agree.
#[allow(clippy::type_complexity)]
fn first_mismatch<'r>(
    runs: &'r [Run],
    a: &Condition,
    b: &Condition,
) -> Option<(
    (&'r Run, &'r TestPredictions),
    (&'r Run, &'r TestPredictions),
)> {
    let mut all = with_predictions(runs, a).chain(with_predictions(runs, b));
    let first = all.next()?;
    let other = all.find(|(_, p)| p.labels != first.1.labels)?;
    Some((first, other))
}
