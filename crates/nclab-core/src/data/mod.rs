//! Datasets for training: images kept as u8 until a batch is made, or f32 vectors.
//!
//! * [`load`]: the named datasets `mnist`, `fashion-mnist`, `cifar10`, `cifar100` read from
//!   one folder each under the data root ([`data_root`]: `$NCLAB_DATA`, default `./data`),
//!   and `synthetic` (a Gaussian mixture, [`synthetic`]).
//! * [`Dataset::subset_balanced`]: `n` samples per class chosen by a seed.
//! * [`Normalization`]: per-channel mean and standard deviation of the training split.
//! * [`Dataset::pad_to`]: zero-padding (28 x 28 MNIST to 32 x 32).
//! * [`Dataset::batch`]: a normalised f32 NCHW batch, with optional augmentation (random crop
//!   with padding 4 and horizontal flip).
//!
//! Everything random takes a seed or an [`Rng`], so results are identical on every run.

mod batch;
mod load;
mod norm;
mod synthetic;

pub use batch::{CropFlip, CROP_PADDING};
pub use load::{data_root, dataset_dir, load, load_from, DATASETS};
pub use norm::{channel_moments, Normalization};
pub use synthetic::{synthetic, SyntheticSpec, MAX_SYNTHETIC_VALUES};

use crate::rng::Rng;
use crate::{Error, Result};

/// Training or test split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The samples of a dataset.
#[derive(Clone, Debug, PartialEq)]
pub enum Inputs {
    /// u8 images, sample after sample, each channel-major (CHW):
    /// pixel `(i, c, y, x)` is at `((i * channels + c) * height + y) * width + x`.
    Images {
        data: Vec<u8>,
        channels: usize,
        height: usize,
        width: usize,
    },
    /// f32 vectors, sample after sample: element `(i, j)` is at `i * dim + j`.
    Vectors { data: Vec<f32>, dim: usize },
}

/// A labelled dataset (one split).
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// `mnist`, `cifar10`, ... or `synthetic`.
    pub name: String,
    pub split: Split,
    pub inputs: Inputs,
    /// Class of each sample, in `0..num_classes()`.
    pub labels: Vec<u32>,
    /// Name of each class, in label order.
    pub class_names: Vec<String>,
    /// CIFAR-100 only: the superclass (coarse label, `0..20`) of each sample.
    pub coarse_labels: Option<Vec<u32>>,
    /// CIFAR-100 only: the names of the 20 superclasses.
    pub coarse_names: Option<Vec<String>>,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes `K` (the length of `class_names`).
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Shape of one sample: `[C, H, W]` for images, `[d]` for vectors.
    pub fn sample_shape(&self) -> Vec<usize> {
        match &self.inputs {
            Inputs::Images {
                channels,
                height,
                width,
                ..
            } => vec![*channels, *height, *width],
            Inputs::Vectors { dim, .. } => vec![*dim],
        }
    }

    /// Number of values in one sample (`C * H * W` or `d`).
    pub fn sample_len(&self) -> usize {
        self.sample_shape().iter().product()
    }

    /// Number of channels: `C` for images, 1 for vectors.
    pub fn channels(&self) -> usize {
        match &self.inputs {
            Inputs::Images { channels, .. } => *channels,
            Inputs::Vectors { .. } => 1,
        }
    }

    /// Number of samples of each class: `counts[k] = #{i : labels[i] = k}`.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0usize; self.num_classes()];
        for &y in &self.labels {
            c[y as usize] += 1;
        }
        c
    }

    /// Checks that the parts agree: input length = `len() * sample_len()`, every label below
    /// `num_classes()`, coarse labels (if any) one per sample.
    pub fn validate(&self) -> Result<()> {
        let n = self.len();
        let have = match &self.inputs {
            Inputs::Images { data, .. } => data.len(),
            Inputs::Vectors { data, .. } => data.len(),
        };
        if have != n * self.sample_len() {
            return Err(Error::invalid(format!(
                "{} {}: {n} labels need {} input values ({n} x {:?}), found {have}",
                self.name,
                self.split,
                n * self.sample_len(),
                self.sample_shape()
            )));
        }
        let k = self.num_classes();
        if let Some((i, y)) = self
            .labels
            .iter()
            .enumerate()
            .find(|(_, &y)| y as usize >= k)
        {
            return Err(Error::invalid(format!(
                "{} {}: sample {i} has label {y}, expected 0..{k}",
                self.name, self.split
            )));
        }
        if let Some(c) = &self.coarse_labels {
            if c.len() != n {
                return Err(Error::invalid(format!(
                    "{} {}: {} coarse labels for {n} samples",
                    self.name,
                    self.split,
                    c.len()
                )));
            }
        }
        Ok(())
    }

    /// The samples at `indices`, in that order (labels, inputs and coarse labels together).
    pub fn select(&self, indices: &[usize]) -> Dataset {
        let s = self.sample_len();
        let inputs = match &self.inputs {
            Inputs::Images {
                data,
                channels,
                height,
                width,
            } => {
                let mut out = Vec::with_capacity(indices.len() * s);
                for &i in indices {
                    out.extend_from_slice(&data[i * s..(i + 1) * s]);
                }
                Inputs::Images {
                    data: out,
                    channels: *channels,
                    height: *height,
                    width: *width,
                }
            }
            Inputs::Vectors { data, dim } => {
                let mut out = Vec::with_capacity(indices.len() * s);
                for &i in indices {
                    out.extend_from_slice(&data[i * s..(i + 1) * s]);
                }
                Inputs::Vectors {
                    data: out,
                    dim: *dim,
                }
            }
        };
        Dataset {
            name: self.name.clone(),
            split: self.split,
            inputs,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            class_names: self.class_names.clone(),
            coarse_labels: self
                .coarse_labels
                .as_ref()
                .map(|c| indices.iter().map(|&i| c[i]).collect()),
            coarse_names: self.coarse_names.clone(),
        }
    }

    /// Indices of a balanced subset: for each class `k`, `n_per_class` of its samples drawn
    /// without replacement by a Fisher-Yates shuffle of the class's indices with
    /// `Rng::new(seed)` (classes in label order, one generator), kept in ascending order
    /// within the class; classes follow each other in label order. Fails, naming the class,
    /// when a class has fewer than `n_per_class` samples.
    pub fn balanced_indices(&self, n_per_class: usize, seed: u64) -> Result<Vec<usize>> {
        let k = self.num_classes();
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (i, &y) in self.labels.iter().enumerate() {
            by_class[y as usize].push(i);
        }
        let mut rng = Rng::new(seed);
        let mut out = Vec::with_capacity(n_per_class * k);
        for (c, mut idx) in by_class.into_iter().enumerate() {
            if idx.len() < n_per_class {
                return Err(Error::invalid(format!(
                    "{} {}: class {c} ({}) has {} samples, fewer than the {n_per_class} per \
                     class asked for",
                    self.name,
                    self.split,
                    self.class_names[c],
                    idx.len()
                )));
            }
            rng.shuffle(&mut idx);
            let mut take = idx[..n_per_class].to_vec();
            take.sort_unstable();
            out.extend(take);
        }
        Ok(out)
    }

    /// A balanced subset of exactly `n_per_class` samples of every class
    /// ([`Dataset::balanced_indices`]).
    pub fn subset_balanced(&self, n_per_class: usize, seed: u64) -> Result<Dataset> {
        Ok(self.select(&self.balanced_indices(n_per_class, seed)?))
    }

    /// Images zero-padded to `size x size`, centred: `(size - H) / 2` rows above (rounded
    /// down) and the rest below, likewise for columns. Padding pixels are 0 (black), as in
    /// Papyan et al.'s 28 -> 32 padding of MNIST. Images already `size x size` are returned
    /// unchanged; larger images or vectors are an error.
    pub fn pad_to(&self, size: usize) -> Result<Dataset> {
        let Inputs::Images {
            data,
            channels,
            height,
            width,
        } = &self.inputs
        else {
            return Err(Error::invalid(format!(
                "{}: padding applies to images, not vectors",
                self.name
            )));
        };
        let (c, h, w) = (*channels, *height, *width);
        if h > size || w > size {
            return Err(Error::invalid(format!(
                "{}: cannot pad {h} x {w} images to {size} x {size}",
                self.name
            )));
        }
        let (top, left) = ((size - h) / 2, (size - w) / 2);
        let mut out = vec![0u8; self.len() * c * size * size];
        for (src, dst) in data
            .chunks_exact(h * w)
            .zip(out.chunks_exact_mut(size * size))
        {
            for y in 0..h {
                dst[(y + top) * size + left..(y + top) * size + left + w]
                    .copy_from_slice(&src[y * w..(y + 1) * w]);
            }
        }
        let mut d = self.clone();
        d.inputs = Inputs::Images {
            data: out,
            channels: c,
            height: size,
            width: size,
        };
        Ok(d)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `n` 1 x 2 x 2 images per class for `k` classes; image `i` has all pixels equal to `i`.
    pub(crate) fn tiny(k: usize, n: usize) -> Dataset {
        let total = k * n;
        let labels: Vec<u32> = (0..total).map(|i| (i % k) as u32).collect();
        Dataset {
            name: "tiny".into(),
            split: Split::Train,
            inputs: Inputs::Images {
                data: (0..total).flat_map(|i| [i as u8; 4]).collect(),
                channels: 1,
                height: 2,
                width: 2,
            },
            labels,
            class_names: (0..k).map(|c| format!("c{c}")).collect(),
            coarse_labels: None,
            coarse_names: None,
        }
    }

    #[test]
    fn balanced_subset_is_exact_and_seeded() {
        // 4 classes with 10, 10, 10, 10 samples.
        let d = tiny(4, 10);
        let a = d.balanced_indices(3, 7).unwrap();
        assert_eq!(a.len(), 12);
        let s = d.select(&a);
        assert_eq!(s.class_counts(), vec![3, 3, 3, 3]);
        // Inputs follow their labels: image i has pixel value i and label i % 4.
        if let Inputs::Images { data, .. } = &s.inputs {
            for (j, &i) in a.iter().enumerate() {
                assert_eq!(data[4 * j], i as u8);
                assert_eq!(s.labels[j] as usize, i % 4);
            }
        }
        assert_eq!(
            d.balanced_indices(3, 7).unwrap(),
            a,
            "same seed, same subset"
        );
        assert_ne!(
            d.balanced_indices(3, 8).unwrap(),
            a,
            "different seed differs"
        );
        // No duplicates.
        let mut u = a.clone();
        u.dedup();
        assert_eq!(u.len(), a.len());
        // All of a class when n equals its size; too many is an error naming the class.
        assert_eq!(d.subset_balanced(10, 1).unwrap().len(), 40);
        let e = d.balanced_indices(11, 1).unwrap_err().to_string();
        assert!(
            e.contains("class 0 (c0) has 10 samples, fewer than the 11"),
            "{e}"
        );
    }

    #[test]
    fn balanced_subset_of_imbalanced_data() {
        // Class 0 has 7 samples, class 1 has 3: labels 0,0,0,0,0,0,0,1,1,1.
        let mut d = tiny(2, 5);
        d.labels = vec![0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
        let s = d.subset_balanced(3, 2).unwrap();
        assert_eq!(s.class_counts(), vec![3, 3]);
        assert_eq!(&s.labels[3..], &[1, 1, 1]);
        // Different seeds give different subsets of class 0 across a few tries.
        let subsets: std::collections::HashSet<Vec<usize>> = (0..10)
            .map(|seed| d.balanced_indices(3, seed).unwrap())
            .collect();
        assert!(subsets.len() > 3, "{subsets:?}");
    }

    #[test]
    fn pad_28_to_32_centres_the_image() {
        let mut d = tiny(1, 1);
        d.inputs = Inputs::Images {
            data: (0..28 * 28).map(|i| (i % 251 + 1) as u8).collect(),
            channels: 1,
            height: 28,
            width: 28,
        };
        let p = d.pad_to(32).unwrap();
        assert_eq!(p.sample_shape(), vec![1, 32, 32]);
        let Inputs::Images { data, .. } = &p.inputs else {
            unreachable!()
        };
        // 2 rows/columns of zeros on each side; pixel (y, x) of the original at (y+2, x+2).
        for y in 0..32 {
            for x in 0..32 {
                let v = data[y * 32 + x];
                if (2..30).contains(&y) && (2..30).contains(&x) {
                    assert_eq!(v as usize, ((y - 2) * 28 + (x - 2)) % 251 + 1);
                } else {
                    assert_eq!(v, 0, "({y}, {x})");
                }
            }
        }
        assert!(p.pad_to(30).is_err());
        assert_eq!(p.pad_to(32).unwrap(), p);
    }

    #[test]
    fn validate_catches_mismatches() {
        let mut d = tiny(2, 2);
        d.validate().unwrap();
        d.labels[3] = 2;
        let e = d.validate().unwrap_err().to_string();
        assert!(e.contains("sample 3 has label 2, expected 0..2"), "{e}");
        d.labels.pop();
        let e = d.validate().unwrap_err().to_string();
        assert!(e.contains("3 labels need 12 input values"), "{e}");
        assert!(e.contains("found 16"), "{e}");
    }
}
