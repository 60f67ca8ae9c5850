//! A run's test predictions, `test_predictions.csv` (docs/run-directory.md): one row per test
//! image, in the order of the test set,
//!
//! ```text
//! label,rank1,...,rankk,hdist@1,hdist@5
//! ```
//!
//! with `label` the true class t, `rank1..rankk` the classes the final network ranks first
//! (k = min(5, K), best first, equal logits keeping the lower class first), `hdist@1 =
//! d(rank1, t)` and `hdist@5 = (1/k) sum_{j<=k} d(rank_j, t)`, d the LCA-height distance of the
//! run's tree. The run's final test metrics are means over the rows: `top1_error` the share
//! with `rank1 != label`, `top5_error` the share without the label among the ranks, `hdist@1`
//! and `hdist@5` the column means. The report pairs these per-image values across runs to say
//! what a new sample of test images would add to a difference ([`nclab_core::test_images`]).

use nclab_core::metrics::mistakes::{MistakeEvaluator, Ranking, ScoreKind};
use nclab_core::tensor::MatrixView;

use crate::{csv_text, numbers};

/// The file's name in a run directory.
pub const FILE: &str = "test_predictions.csv";

/// The test metrics that are means over the rows, as `metrics.csv` names them.
pub const METRICS: [&str; 4] = ["top1_error", "top5_error", "hdist@1", "hdist@5"];

/// The test metrics the report gives a test-image term ([`TestPredictions::influence`]): the
/// means over the images (`test_acc` is `1 - top1_error`), and `mistake_severity`, a ratio of
/// two such means.
pub const TERM_METRICS: [&str; 6] = [
    "test_acc",
    "top1_error",
    "top5_error",
    "hdist@1",
    "hdist@5",
    "mistake_severity",
];

/// The rows of a `test_predictions.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct TestPredictions {
    pub labels: Vec<usize>,
    /// Classes ranked per image, best first: row-major, `labels.len() x k`.
    pub ranks: Vec<usize>,
    /// Ranks per image, `min(5, K)`.
    pub k: usize,
    pub hdist1: Vec<f64>,
    pub hdist5: Vec<f64>,
}

impl TestPredictions {
    /// From the top classes of every image ([`MistakeEvaluator::top_classes`] of a
    /// [`MistakeEvaluator::top1_top5`], `k` per image) and the evaluator's distances.
    pub fn from_ranks(labels: &[usize], ranks: Vec<usize>, evaluator: &MistakeEvaluator) -> Self {
        let k = ranks.len() / labels.len().max(1);
        let classes = evaluator.num_classes();
        let d = |a: usize, t: usize| evaluator.distances()[t * classes + a];
        let (hdist1, hdist5) = labels
            .iter()
            .zip(ranks.chunks_exact(k))
            .map(|(&t, r)| row_hdists(t, r, &d))
            .unzip();
        TestPredictions {
            labels: labels.to_vec(),
            ranks,
            k,
            hdist1,
            hdist5,
        }
    }

    /// The predictions of the final test `logits` (N x K) against `labels`, ranked by logit
    /// as the run's mistake metrics are ([`MistakeEvaluator::top1_top5`] of the run's tree):
    /// what `nclab train` and the Python `Tracker` write. Errors name a size mismatch, a label
    /// out of range or a non-finite logit.
    pub fn of_logits(
        evaluator: &MistakeEvaluator,
        logits: MatrixView<'_>,
        labels: &[usize],
    ) -> nclab_core::Result<Self> {
        let ranks = evaluator.top_classes(logits, ScoreKind::Logits, labels, Ranking::Scores)?;
        Ok(TestPredictions::from_ranks(labels, ranks, evaluator))
    }

    /// Number of test images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The per-image values of one of [`METRICS`]: 0 or 1 for the errors, the distances for
    /// `hdist@k`; their mean is the run's value. `None` for another name.
    pub fn values(&self, metric: &str) -> Option<Vec<f64>> {
        let rows = || self.labels.iter().zip(self.ranks.chunks_exact(self.k));
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        Some(match metric {
            "top1_error" => rows().map(|(&t, r)| flag(r[0] != t)).collect(),
            "top5_error" => rows().map(|(t, r)| flag(!r.contains(t))).collect(),
            "hdist@1" => self.hdist1.clone(),
            "hdist@5" => self.hdist5.clone(),
            _ => return None,
        })
    }

    /// The run's `mistake_severity`: the mean `hdist@1` of the images whose top-1 is wrong
    /// (`None` without a mistake).
    pub fn mistake_severity(&self) -> Option<f64> {
        let wrong = self.values("top1_error")?;
        let mistakes: f64 = wrong.iter().sum();
        (mistakes > 0.0).then(|| {
            wrong
                .iter()
                .zip(&self.hdist1)
                .map(|(w, h)| w * h)
                .sum::<f64>()
                / mistakes
        })
    }

    /// Per-image values whose variance over the images, divided by n, is the variance that a
    /// new sample of n test images gives the run's `metric` (to first order): for the
    /// [`METRICS`] their [`values`](Self::values); for `test_acc`, 1 where the top-1 is right;
    /// for `mistake_severity = sum_i w_i h_i / sum_i w_i` (w_i = 1 when image i's top-1 is
    /// wrong, h_i its `hdist@1`), a ratio of two means, its linearisation (the delta method)
    /// `u_i = w_i (h_i - severity) / mean_i(w_i)`, of mean 0. `None` for another name, or for
    /// `mistake_severity` without a mistake.
    pub fn influence(&self, metric: &str) -> Option<Vec<f64>> {
        match metric {
            "test_acc" => {
                let wrong = self.values("top1_error")?;
                return Some(wrong.iter().map(|w| 1.0 - w).collect());
            }
            "mistake_severity" => {}
            _ => return self.values(metric),
        }
        let severity = self.mistake_severity()?;
        let wrong = self.values("top1_error")?;
        let share = wrong.iter().sum::<f64>() / self.len() as f64;
        Some(
            wrong
                .iter()
                .zip(&self.hdist1)
                .map(|(w, h)| w * (h - severity) / share)
                .collect(),
        )
    }

    /// Writes the file's text to `path`, atomically (through a temporary file, never half
    /// written): `nclab train`, the Python `Tracker` and `nclab evaluate --predictions` all
    /// write it so.
    pub fn write(&self, path: &std::path::Path) -> anyhow::Result<()> {
        crate::run_dir::write_atomic(path, self.to_csv().as_bytes())
    }

    /// The file's text.
    pub fn to_csv(&self) -> String {
        let header = header(self.k);
        let rows = self.labels.iter().enumerate().map(|(i, t)| {
            let mut row = vec![t.to_string()];
            row.extend(
                self.ranks[i * self.k..(i + 1) * self.k]
                    .iter()
                    .map(|a| a.to_string()),
            );
            row.push(numbers::exact(Some(self.hdist1[i])));
            row.push(numbers::exact(Some(self.hdist5[i])));
            row
        });
        csv_text::write(std::iter::once(header).chain(rows))
    }

    /// Reads the file's text; the error names the line and the field (the caller adds the
    /// path): a header other than the one above, a row of another length, a class that is not
    /// a whole number, a distance that is not a finite number >= 0, or no row.
    pub fn parse(text: &str) -> Result<TestPredictions, String> {
        // Row by row: a file of millions of images is read in the memory of its numbers.
        let mut records = csv_text::records(text);
        let header = records.next().transpose()?.ok_or(
            "empty: expected a header `label,rank1,...,hdist@1,hdist@5` and a row per test image",
        )?;
        let k = header.fields.len().saturating_sub(3);
        let want = self::header(k);
        if !(1..=5).contains(&k) || header.fields != want {
            return Err(format!(
                "line {}: header is `{}`, expected `label,rank1,...,rankk,hdist@1,hdist@5` (k from 1 to 5)",
                header.line,
                shown(&header.fields.join(","))
            ));
        }
        let mut p = TestPredictions {
            labels: Vec::new(),
            ranks: Vec::new(),
            k,
            hdist1: Vec::new(),
            hdist5: Vec::new(),
        };
        for r in records {
            let r = r?;
            if r.fields.len() != want.len() {
                return Err(format!(
                    "line {}: {} fields, expected {} (as the header)",
                    r.line,
                    r.fields.len(),
                    want.len()
                ));
            }
            let class = |j: usize| {
                r.fields[j].parse::<usize>().map_err(|_| {
                    format!(
                        "line {}: `{}` is `{}`, expected a class number",
                        r.line,
                        want[j],
                        shown(&r.fields[j])
                    )
                })
            };
            let distance = |j: usize| match r.fields[j].parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err(format!(
                    "line {}: `{}` is `{}`, expected a distance (a number >= 0)",
                    r.line,
                    want[j],
                    shown(&r.fields[j])
                )),
            };
            p.labels.push(class(0)?);
            for j in 1..=k {
                p.ranks.push(class(j)?);
            }
            p.hdist1.push(distance(k + 1)?);
            p.hdist5.push(distance(k + 2)?);
        }
        if p.labels.is_empty() {
            return Err("no rows: expected one per test image".into());
        }
        Ok(p)
    }
}

impl TestPredictions {
    /// Checks every row against the run's tree: each class below `classes` (when known), no
    /// class twice among a row's ranks, `min(5, classes)` ranks (when known), and `hdist@1`,
    /// `hdist@5` the tree's distances `d(a, b)` for the ranks (when `d` is known: `None` for a
    /// tree that can no longer be read). The error names the row (counted from 1 after the
    /// header) and what is wrong.
    pub fn check_against_tree(
        &self,
        classes: Option<usize>,
        d: Option<&dyn Fn(usize, usize) -> f64>,
    ) -> Result<(), String> {
        if let Some(k) = classes.map(|c| c.min(5)).filter(|&k| k != self.k) {
            return Err(format!(
                "{} ranks per row, but the run's tree has {} classes: expected {k}",
                self.k,
                classes.unwrap_or(0)
            ));
        }
        let rows = self.labels.iter().zip(self.ranks.chunks_exact(self.k));
        for (i, (&t, ranks)) in rows.enumerate() {
            let row = i + 1;
            if let Some(c) = std::iter::once(&t)
                .chain(ranks)
                .find(|&&c| classes.is_some_and(|k| c >= k))
            {
                return Err(format!(
                    "row {row}: class {c} is out of range for the run's tree of {} classes (0 to {})",
                    classes.unwrap_or(0),
                    classes.unwrap_or(1) - 1
                ));
            }
            if let Some((j, c)) = ranks
                .iter()
                .enumerate()
                .find(|(j, c)| ranks[..*j].contains(c))
            {
                return Err(format!(
                    "row {row}: class {c} is ranked twice (rank{})",
                    j + 1
                ));
            }
            let Some(d) = d else { continue };
            let (want1, want5) = row_hdists(t, ranks, d);
            for (name, got, want) in [
                ("hdist@1", self.hdist1[i], want1),
                ("hdist@5", self.hdist5[i], want5),
            ] {
                if (got - want).abs() > 1e-12 * want.max(1.0) {
                    return Err(format!(
                        "row {row}: {name} is {got}, but the run's tree puts its ranks at {want} \
                         from its label"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The file's header for `k` ranks: `label,rank1,...,rankk,hdist@1,hdist@5`.
fn header(k: usize) -> Vec<String> {
    std::iter::once("label".to_string())
        .chain((1..=k).map(|j| format!("rank{j}")))
        .chain(["hdist@1".to_string(), "hdist@5".to_string()])
        .collect()
}

/// One row's `(hdist@1, hdist@5)`: `d(rank1, t)` and `(1/k) sum_j d(rank_j, t)` for the true
/// class `t` and its `k` ranked classes.
fn row_hdists(t: usize, ranks: &[usize], d: &dyn Fn(usize, usize) -> f64) -> (f64, f64) {
    let mean = ranks.iter().map(|&a| d(a, t)).sum::<f64>() / ranks.len() as f64;
    (d(ranks[0], t), mean)
}

/// A field as error messages show it: at most 40 characters.
fn shown(field: &str) -> String {
    match field.char_indices().nth(40) {
        Some((i, _)) => format!("{}...", &field[..i]),
        None => field.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nclab_core::hierarchy;

    /// Three images on the Fashion-MNIST tree, k = 5; their per-image means are the
    /// evaluator's metrics.
    #[test]
    fn rows_are_the_metrics_per_image() {
        let h = hierarchy::fashion_mnist();
        let ev = MistakeEvaluator::top1_top5(&h).unwrap();
        // Logits ranking 0..9 (image 0, label 0: right), 9..0 (image 1, label 0: bag first,
        // label outside the top 5), and class 6 first (image 2, label 0).
        let mut z = Vec::new();
        z.extend((0..10).map(|c| -(c as f64)));
        z.extend((0..10).map(|c| c as f64));
        z.extend((0..10).map(|c| if c == 6 { 1.0 } else { 0.0 }));
        let labels = [0, 0, 0];
        let view = MatrixView::f64(&z, 3, 10);
        let ranks = ev
            .top_classes(view, ScoreKind::Logits, &labels, Ranking::Scores)
            .unwrap();
        let p = TestPredictions::from_ranks(&labels, ranks, &ev);
        assert_eq!(p.k, 5);
        assert_eq!(&p.ranks[..5], &[0, 1, 2, 3, 4]);
        assert_eq!(&p.ranks[5..10], &[9, 8, 7, 6, 5]);
        // Image 2: 6 first, then the lower classes of the ties: 0, 1, 2, 3.
        assert_eq!(&p.ranks[10..], &[6, 0, 1, 2, 3]);
        let m = ev
            .evaluate(view, ScoreKind::Logits, &labels, Ranking::Scores)
            .unwrap();
        let mean = |v: Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
        assert_eq!(mean(p.values("top1_error").unwrap()), m.top_k_error[0]);
        assert_eq!(mean(p.values("top5_error").unwrap()), m.top_k_error[1]);
        assert!((mean(p.values("hdist@1").unwrap()) - m.hdist[0]).abs() < 1e-15);
        assert!((mean(p.values("hdist@5").unwrap()) - m.hdist[1]).abs() < 1e-15);
        assert_eq!(p.values("top1_error").unwrap(), vec![0.0, 1.0, 1.0]);
        assert_eq!(p.values("top5_error").unwrap(), vec![0.0, 1.0, 0.0]);
        // Shirt (6) is one step from T-shirt (0); bag (9) three.
        assert_eq!(p.hdist1, vec![0.0, 3.0, 1.0]);
        assert!(p.values("nc1").is_none());
        // The text reads back as the same rows.
        assert_eq!(TestPredictions::parse(&p.to_csv()).unwrap(), p);
    }

    fn predictions(wrong: &[(usize, f64)], n: usize) -> TestPredictions {
        let mut hdist1 = vec![0.0; n];
        let mut ranks = vec![0; n];
        for &(i, h) in wrong {
            hdist1[i] = h;
            ranks[i] = 1;
        }
        TestPredictions {
            labels: vec![0; n],
            ranks,
            k: 1,
            hdist5: hdist1.clone(),
            hdist1,
        }
    }

    /// Four images, two wrong at distances 1 and 3: severity 2, share wrong 1/2, so u = (1 - 2)
    /// / (1/2) = -2 and (3 - 2) / (1/2) = 2 on the wrong images, 0 on the right ones.
    #[test]
    fn severity_influence_by_hand() {
        let p = predictions(&[(1, 1.0), (3, 3.0)], 4);
        assert_eq!(
            p.influence("mistake_severity").unwrap(),
            vec![0.0, -2.0, 0.0, 2.0]
        );
        assert_eq!(p.influence("top1_error"), p.values("top1_error"));
        // test_acc: 1 where the top-1 is right (images 0 and 2).
        assert_eq!(p.influence("test_acc").unwrap(), vec![1.0, 0.0, 1.0, 0.0]);
        assert!(p.influence("nc1").is_none());
        assert!(predictions(&[], 4).influence("mistake_severity").is_none());
    }

    /// The delta method against the spread it stands for: over many test sets of n images drawn
    /// from one population (a mistake with probability 0.1, at distance 1, 2 or 3 with
    /// probabilities 0.5, 0.3, 0.2), the variance of the severity is, within 5%, the mean over
    /// the test sets of `var_i(u_i) / n`.
    #[test]
    fn severity_influence_gives_the_sampling_variance() {
        let mut rng = nclab_core::rng::Rng::new(5);
        let (n, sets) = (2000, 2000);
        let (mut sev, mut predicted) = (Vec::new(), 0.0);
        for _ in 0..sets {
            let mut wrong: Vec<(usize, f64)> = Vec::new();
            for i in 0..n {
                if rng.uniform() < 0.1 {
                    let u = rng.uniform();
                    let h = [1.0, 2.0, 3.0][(u >= 0.5) as usize + (u >= 0.8) as usize];
                    wrong.push((i, h));
                }
            }
            let p = predictions(&wrong, n);
            let u = p.influence("mistake_severity").unwrap();
            let mean = u.iter().sum::<f64>() / n as f64;
            assert!(mean.abs() < 1e-12, "the linearisation has mean 0");
            predicted +=
                u.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64 / n as f64;
            sev.push(wrong.iter().map(|w| w.1).sum::<f64>() / wrong.len() as f64);
        }
        let m = sev.iter().sum::<f64>() / sets as f64;
        let observed = sev.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (sets - 1) as f64;
        let predicted = predicted / sets as f64;
        // Severity's variance here: var(h | wrong) / (n 0.1) = 0.61 / 200 = 0.00305.
        assert!((predicted / 0.00305 - 1.0).abs() < 0.05, "{predicted}");
        assert!(
            (observed / predicted - 1.0).abs() < 0.1,
            "{observed} vs {predicted}"
        );
    }

    #[test]
    fn rows_that_do_not_fit_the_tree_are_named() {
        let h = hierarchy::fashion_mnist();
        let d = |a: usize, b: usize| h.distance(a, b) as f64;
        let d: &dyn Fn(usize, usize) -> f64 = &d;
        let text = "label,rank1,rank2,rank3,rank4,rank5,hdist@1,hdist@5\n\
                    0,6,0,2,4,1,1,1\n";
        let p = TestPredictions::parse(text).unwrap();
        // Shirt (6), T-shirt, pullover, coat (1 from T-shirt) and trouser (2): (1+0+1+1+2)/5 = 1.
        assert_eq!(p.check_against_tree(Some(10), Some(d)), Ok(()));
        let bad = |row: &str| {
            TestPredictions::parse(&format!("{}{row}\n", &text[..text.find('\n').unwrap() + 1]))
                .unwrap()
                .check_against_tree(Some(10), Some(d))
                .unwrap_err()
        };
        assert!(bad("0,6,0,2,4,10,1,1").contains("row 1: class 10 is out of range"));
        assert!(bad("0,6,0,2,4,6,1,1").contains("row 1: class 6 is ranked twice (rank5)"));
        assert!(bad("0,6,0,2,4,1,1,0.8").contains("row 1: hdist@5 is 0.8, but the run's tree"));
        assert!(bad("0,6,0,2,4,1,0,1").contains("row 1: hdist@1 is 0"));
        // Four ranks on a tree of ten classes.
        let four = TestPredictions::parse(
            "label,rank1,rank2,rank3,rank4,hdist@1,hdist@5\n0,0,1,2,3,0,0\n",
        )
        .unwrap();
        assert!(four
            .check_against_tree(Some(10), None)
            .unwrap_err()
            .contains("expected 5"));
        // Without the tree only the repeated class is found.
        assert_eq!(
            TestPredictions::parse(&format!(
                "{}0,6,0,2,4,1,1,0.9\n",
                &text[..text.find('\n').unwrap() + 1]
            ))
            .unwrap()
            .check_against_tree(None, None),
            Ok(())
        );
        // A long field is cut in the message.
        let long = format!("label,rank1,hdist@1,hdist@5\n0,{},0,0\n", "9".repeat(1000));
        let e = TestPredictions::parse(&long).unwrap_err();
        assert!(e.len() < 200, "{e}");
    }

    #[test]
    fn bad_files_name_the_line_and_the_field() {
        let err = |t: &str| TestPredictions::parse(t).unwrap_err();
        assert!(err("").contains("empty"));
        assert!(err("label,rank1,hdist@1\n0,0,0\n").contains("line 1: header is"));
        assert!(err("label,rank1,hdist@1,hdist@5\n").contains("no rows"));
        let e = err("label,rank1,hdist@1,hdist@5\n0,0,0,0\n1,x,0,0\n");
        assert!(e.contains("line 3: `rank1` is `x`"), "{e}");
        let e = err("label,rank1,hdist@1,hdist@5\n0,0,0,-1\n");
        assert!(e.contains("line 2: `hdist@5` is `-1`"), "{e}");
        let e = err("label,rank1,hdist@1,hdist@5\n0,0,0\n");
        assert!(e.contains("line 2: 3 fields, expected 4"), "{e}");
    }
}
