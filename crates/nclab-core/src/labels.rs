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
        return Err(Error::invalid(format!(
            "{what}: label {v} at row {i} is negative"
        )));
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

/// Integer labels as class indices, each checked to lie in `0..k`.
pub fn to_classes(values: &[i64], k: usize, what: &str) -> Result<Vec<u32>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v < 0 {
                Err(Error::invalid(format!(
                    "{what}: label {v} at row {i} is negative"
                )))
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
