//! Class labels as files and frameworks give them: integers of any width, in a 1-D array or a
//! column vector, turned into class indices `0..K` with every check done before anything of
//! size K is allocated. Every front end (the CLI, the trainer, the Python package) uses these.

use crate::tensor::Tensor;
use crate::{Error, Result};

/// The integer values of a label tensor (`N`, or a column vector `N x 1`); `what` names the
/// tensor in errors.
pub fn label_values(t: &Tensor, what: &str) -> Result<Vec<i64>> {
    if !matches!(t.shape(), [_] | [_, 1]) {
        return Err(Error::invalid(format!(
            "{what}: expected a 1-D array of integers (or N x 1), got shape {:?}",
            t.shape()
        )));
    }
    t.integers(what)
}

/// Class indices from integer labels, and the number of classes K: `num_classes` when given
/// (every label must be below it), else the largest label + 1, which must not exceed the
/// number of labels (each class needs a sample: a larger label is a wrong file, not K).
/// Errors name `what` and the row.
pub fn class_labels(
    values: &[i64],
    num_classes: Option<usize>,
    what: &str,
) -> Result<(Vec<u32>, usize)> {
    let n = values.len();
    if let Some((i, &v)) = values.iter().enumerate().find(|(_, &v)| v < 0) {
        return Err(negative_label(what, i, v));
    }
    let k = match num_classes {
        Some(k) => {
            if k > n {
                return Err(Error::invalid(format!(
                    "{what}: {k} classes for {n} samples; every class needs at least one sample"
                )));
            }
            k
        }
        None => {
            let Some((i, &max)) = values.iter().enumerate().max_by_key(|(_, &v)| v) else {
                return Err(Error::invalid(format!("{what}: no labels")));
            };
            if max as u64 >= n as u64 {
                return Err(Error::invalid(format!(
                    "{what}: label {max} at row {i} would make K = {} classes for {n} samples \
                     (every class needs a sample); give the number of classes if the labels \
                     are right",
                    max as u128 + 1
                )));
            }
            max as usize + 1
        }
    };
    let labels = to_classes(values, k, what)?;
    Ok((labels, k))
}

/// The names a front end gives the inputs that decide K, for [`measured_classes`]' messages:
/// the labels' and the weights' sources (a file, an argument) and the options that set them.
#[derive(Clone, Copy, Debug)]
pub struct ClassSources<'a> {
    /// Where the labels came from (`y.npy`, `labels`).
    pub labels: &'a str,
    /// Where the weights came from (`W.npy`, `weights`), when they were given.
    pub weights: &'a str,
    /// The option that gives the weights (`--weights`, `weights`).
    pub weights_option: &'a str,
    /// The option that gives K (`--num-classes`, `num_classes`).
    pub num_classes_option: &'a str,
}

/// Class indices and K for a measurement: K is `num_classes` when given, else the height of
/// the classifier's weights (`weight_rows`), else the largest label + 1; then every class of
/// `0..K` but one that `num_classes` alone declares must have a sample. Each error says where K
/// came from and what to do: labels counted from 1, a gap in the labels, weights of another
/// network (too few rows for the labels, or a class without a sample).
pub fn measured_classes(
    values: &[i64],
    num_classes: Option<usize>,
    weight_rows: Option<usize>,
    names: &ClassSources<'_>,
) -> Result<(Vec<u32>, usize)> {
    let ClassSources {
        labels: src_y,
        weights: src_w,
        weights_option,
        num_classes_option,
    } = *names;
    if let Some(k @ 0..=1) = num_classes {
        return Err(Error::invalid(format!(
            "{num_classes_option} = {k}: the metrics need at least 2 classes"
        )));
    }
    if let Some((i, &v)) = values.iter().enumerate().find(|(_, &v)| v < 0) {
        return Err(negative_label(src_y, i, v));
    }
    let from_weights = weight_rows.filter(|_| num_classes.is_none());
    if let Some(rows) = from_weights {
        let fix = format!("give the weights of this network, or {num_classes_option}");
        let top = values.iter().copied().max().unwrap_or(0);
        if top == rows as i64 && !values.contains(&0) {
            return Err(Error::invalid(counted_from_one(src_y, top)));
        }
        if rows > values.len() {
            return Err(Error::invalid(format!(
                "{src_w} has {rows} rows, so K = {rows}, but {src_y} has {} labels; every class \
                 needs a sample: {fix}",
                values.len()
            )));
        }
        if let Some((i, &v)) = values.iter().enumerate().find(|(_, &v)| v >= rows as i64) {
            return Err(Error::invalid(format!(
                "{src_w} has {rows} rows, so K = {rows}, but {src_y} has label {v} at row {i}; \
                 {fix}"
            )));
        }
    }
    let given_k = num_classes.or(weight_rows);
    let (labels, k) = class_labels(values, given_k, src_y)?;
    let missing = classes_without_sample(&labels, k);
    if missing.is_empty() || num_classes.is_some() {
        return Ok((labels, k));
    }
    Err(Error::invalid(match from_weights {
        // K is the weights' height: a class without a sample is the weights' doing as much as
        // the labels' (weights of the wrong file, or of another network).
        Some(rows) => format!(
            "{src_w} has {rows} rows, so K = {k}, but {src_y} has no sample of {}; give the \
             weights of this network, or {num_classes_option}",
            name_classes(&missing)
        ),
        // K is the largest label + 1: a class with no sample is a gap in the labels.
        None if missing == [0] => counted_from_one(src_y, k as i64 - 1),
        None => format!(
            "{src_y}: no sample of {} (K = {k}, the largest label + 1); every class needs one, \
             or give the classifier's {weights_option} for K",
            name_classes(&missing)
        ),
    }))
}

/// The message for labels that run from 1 to `top`.
fn counted_from_one(src_y: &str, top: i64) -> String {
    format!(
        "{src_y} has no label 0 (the labels run from 1 to {top}): nclab counts classes from 0; \
         subtract 1 from the labels"
    )
}

/// The error for the negative label `v` at row `i` of `what`.
fn negative_label(what: &str, i: usize, v: i64) -> Error {
    Error::invalid(format!("{what}: label {v} at row {i} is negative"))
}

/// Integer labels as class indices, each checked to lie in `0..k`.
pub fn to_classes(values: &[i64], k: usize, what: &str) -> Result<Vec<u32>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v < 0 {
                Err(negative_label(what, i, v))
            } else if v as u64 >= k as u64 {
                Err(Error::invalid(format!(
                    "{what}: label {v} at row {i} is out of range for {k} classes (0..{})",
                    k.saturating_sub(1)
                )))
            } else {
                Ok(v as u32)
            }
        })
        .collect()
}

/// Classes named for an error message: `class 3`, `classes 1, 2, 5`, or for many the first
/// ten and how many more (`classes 0, 1, ..., 9, and 199990 more`), so that the message stays
/// short whatever K is.
pub fn name_classes(classes: &[usize]) -> String {
    let noun = if classes.len() == 1 {
        "class"
    } else {
        "classes"
    };
    let list = crate::error::short_list(classes.iter().map(usize::to_string), crate::error::LISTED);
    format!("{noun} {list}")
}

/// The classes of `0..k` that no label names, in increasing order.
pub fn classes_without_sample(labels: &[u32], k: usize) -> Vec<usize> {
    let mut seen = vec![false; k];
    labels.iter().for_each(|&y| seen[y as usize] = true);
    (0..k).filter(|&c| !seen[c]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One class, a few, and many: the list stops at ten and counts the rest.
    #[test]
    fn classes_are_named_briefly() {
        assert_eq!(name_classes(&[3]), "class 3");
        assert_eq!(name_classes(&[1, 2, 5]), "classes 1, 2, 5");
        let many: Vec<usize> = (1..200_000).collect();
        assert_eq!(
            name_classes(&many),
            "classes 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, and 199989 more"
        );
        assert_eq!(classes_without_sample(&[0, 3, 0], 5), [1, 2, 4]);
    }

    #[test]
    fn k_is_inferred_and_bounded_by_the_samples() {
        assert_eq!(
            class_labels(&[0, 2, 1, 2], None, "y").unwrap(),
            (vec![0, 2, 1, 2], 3)
        );
        assert_eq!(class_labels(&[0, 1], Some(2), "y").unwrap().1, 2);
        let e = class_labels(&[0, 1 << 62], None, "y.npy")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("y.npy: label 4611686018427387904 at row 1 would make K = 4611686018427387905 classes for 2 samples"),
            "{e}"
        );
        let e = class_labels(&[0, 1], Some(1_000_000_000), "y")
            .unwrap_err()
            .to_string();
        assert!(e.contains("1000000000 classes for 2 samples"), "{e}");
        let e = class_labels(&[0, 5, 1], Some(3), "y")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("label 5 at row 1 is out of range for 3 classes (0..2)"),
            "{e}"
        );
        let e = class_labels(&[0, -1], None, "y").unwrap_err().to_string();
        assert!(e.contains("label -1 at row 1 is negative"), "{e}");
        assert!(class_labels(&[], None, "y").is_err());
    }

    /// Every way K can be wrong, with the message that says where it came from.
    #[test]
    fn measured_classes_say_where_k_came_from() {
        let names = ClassSources {
            labels: "y.npy",
            weights: "W.npy",
            weights_option: "--weights",
            num_classes_option: "--num-classes",
        };
        let err = |y: &[i64], k, w| measured_classes(y, k, w, &names).unwrap_err().to_string();
        assert_eq!(
            measured_classes(&[0, 2, 1], None, None, &names).unwrap().1,
            3
        );
        assert_eq!(
            measured_classes(&[0, 2, 1], None, Some(3), &names)
                .unwrap()
                .1,
            3
        );
        // num_classes alone may declare a class without a sample (the core reports it).
        assert_eq!(
            measured_classes(&[0, 1, 0, 1], Some(3), None, &names)
                .unwrap()
                .1,
            3
        );
        assert_eq!(
            err(&[1, 2, 1], None, None),
            "y.npy has no label 0 (the labels run from 1 to 2): nclab counts classes from 0; \
             subtract 1 from the labels"
        );
        assert_eq!(
            err(&[0, 3, 0, 0], None, None),
            "y.npy: no sample of classes 1, 2 (K = 4, the largest label + 1); every class \
             needs one, or give the classifier's --weights for K"
        );
        assert_eq!(
            err(&[0, 1, 4, 2, 3], None, Some(4)),
            "W.npy has 4 rows, so K = 4, but y.npy has label 4 at row 2; give the weights of \
             this network, or --num-classes"
        );
        assert_eq!(
            err(&[0, 1, 0, 1], None, Some(3)),
            "W.npy has 3 rows, so K = 3, but y.npy has no sample of class 2; give the weights \
             of this network, or --num-classes"
        );
        // With num_classes given the weights do not set K: a label beyond it is the labels'.
        assert_eq!(
            err(&[0, 1, 4, 2], Some(4), Some(4)),
            "y.npy: label 4 at row 2 is out of range for 4 classes (0..3)"
        );
        assert_eq!(
            err(&[0, -1], None, Some(2)),
            "y.npy: label -1 at row 1 is negative"
        );
        // A negative label is the labels' fault, whatever else is wrong.
        assert_eq!(
            err(&[-1, 5, 0, 1], None, Some(3)),
            "y.npy: label -1 at row 0 is negative"
        );
        // Labels 1..K beside K rows of weights: counted from 1, not the weights' fault.
        assert_eq!(
            err(&[1, 2, 3, 1], None, Some(3)),
            "y.npy has no label 0 (the labels run from 1 to 3): nclab counts classes from 0; \
             subtract 1 from the labels"
        );
        // K from the weights larger than N.
        assert_eq!(
            err(&[0, 1, 2], None, Some(20)),
            "W.npy has 20 rows, so K = 20, but y.npy has 3 labels; every class needs a sample: \
             give the weights of this network, or --num-classes"
        );
        assert_eq!(
            err(&[], None, Some(3)),
            "W.npy has 3 rows, so K = 3, but y.npy has 0 labels; every class needs a sample: \
             give the weights of this network, or --num-classes"
        );
        for k in [0, 1] {
            assert_eq!(
                err(&[0, 0], Some(k), None),
                format!("--num-classes = {k}: the metrics need at least 2 classes")
            );
        }
    }

    #[test]
    fn column_vectors_are_labels_too() {
        let t = Tensor::from_i64(vec![3, 1], &[2, 0, 1]).unwrap();
        assert_eq!(label_values(&t, "y").unwrap(), vec![2, 0, 1]);
        let t = Tensor::from_i64(vec![1, 3], &[2, 0, 1]).unwrap();
        let e = label_values(&t, "y").unwrap_err().to_string();
        assert!(
            e.contains("expected a 1-D array of integers (or N x 1), got shape [1, 3]"),
            "{e}"
        );
    }
}
