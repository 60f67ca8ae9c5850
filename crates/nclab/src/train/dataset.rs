//! The data of a run as libtorch tensors on the training device: normalised f32 samples
//! (`N x C x H x W` images or `N x D` vectors) and int64 labels of the training and test sets,
//! converted once. Batches are gathered on the device with `index_select`, so the data costs
//! almost nothing per step. With augmentation, batches are instead built on the host by
//! `nclab_core`'s batch builder (random crop + flip), from the run's generator.

use std::path::PathBuf;

use anyhow::Context;
use nclab_core::data::{self, Dataset, Normalization, Split};
use nclab_core::rng::Rng;
use tch::{Device, Kind, Tensor};

use super::config::Config;

/// A dataset ready for training.
#[derive(Debug)]
pub struct DeviceData {
    pub train_x: Tensor,
    pub train_y: Tensor,
    pub test_x: Tensor,
    pub test_y: Tensor,
    /// Shape of one sample (`[C, H, W]` or `[D]`), after padding.
    pub input_shape: Vec<i64>,
    pub num_classes: usize,
    pub class_names: Vec<String>,
    /// The host training set and its normalisation, kept for augmented batches.
    host_train: Option<(Dataset, Normalization)>,
    device: Device,
}

impl DeviceData {
    pub fn num_train(&self) -> usize {
        self.train_y.size()[0] as usize
    }

    pub fn num_test(&self) -> usize {
        self.test_y.size()[0] as usize
    }

    /// The training batch at positions `idx` of the training set (`idx` on the device): the
    /// normalised samples and their labels. With augmentation, each image is randomly cropped
    /// and flipped with draws from `rng` (`Dataset::batch`); `host_idx` are the same positions.
    pub fn train_batch(&self, idx: &Tensor, host_idx: &[i64], rng: &mut Rng) -> (Tensor, Tensor) {
        let y = self.train_y.index_select(0, idx);
        let x = match &self.host_train {
            None => self.train_x.index_select(0, idx),
            Some((ds, norm)) => {
                let indices: Vec<usize> = host_idx.iter().map(|&i| i as usize).collect();
                let mut buf = Vec::new();
                ds.batch(&indices, norm, Some(rng), &mut buf);
                let mut shape = vec![indices.len() as i64];
                shape.extend(&self.input_shape);
                Tensor::from_slice(&buf)
                    .reshape(&shape)
                    .to_device(self.device)
            }
        };
        (x, y)
    }
}

/// The data root of the config (`data.root`).
pub fn root(config: &Config) -> PathBuf {
    PathBuf::from(&config.data.root)
}

/// Loads the configured dataset onto `device`: balanced subsets (`data.per_class`,
/// `data.test_per_class`, drawn with the run's seed), zero padding to `data.pad_to`, and
/// normalisation of both sets with the training subset's per-channel mean and std.
pub fn load(config: &Config, device: Device) -> anyhow::Result<DeviceData> {
    let d = &config.data;
    let (train, test) = if d.name == "synthetic" {
        let name = |n: usize| {
            format!(
                "synthetic:k={},d={},n={},sep={},seed={}",
                d.classes,
                d.dim,
                if n == 0 { 100 } else { n },
                d.separation,
                config.seed
            )
        };
        let per_test = if d.test_per_class == 0 {
            d.per_class
        } else {
            d.test_per_class
        };
        (
            data::load(&name(d.per_class), &root(config), Split::Train)?,
            data::load(&name(per_test), &root(config), Split::Test)?,
        )
    } else {
        let load = |split: Split, per_class: usize| -> anyhow::Result<Dataset> {
            let full = data::load(&d.name, &root(config), split)?;
            Ok(if per_class > 0 {
                full.subset_balanced(per_class, config.seed)
                    .with_context(|| format!("{split} subset of {per_class} per class"))?
            } else {
                full
            })
        };
        (
            load(Split::Train, d.per_class).context("key `data.per_class`")?,
            load(Split::Test, d.test_per_class).context("key `data.test_per_class`")?,
        )
    };
    let (train, test) = if d.pad_to > 0 {
        (
            train.pad_to(d.pad_to).context("key `data.pad_to`")?,
            test.pad_to(d.pad_to).context("key `data.pad_to`")?,
        )
    } else {
        (train, test)
    };
    let norm = Normalization::compute(&train);
    let input_shape: Vec<i64> = train.sample_shape().iter().map(|&s| s as i64).collect();
    let to_x = |ds: &Dataset| -> Tensor {
        let all: Vec<usize> = (0..ds.len()).collect();
        let mut buf = Vec::new();
        ds.batch(&all, &norm, None, &mut buf);
        let mut shape = vec![ds.len() as i64];
        shape.extend(&input_shape);
        Tensor::from_slice(&buf).reshape(&shape).to_device(device)
    };
    let to_y = |ds: &Dataset| -> Tensor {
        let v: Vec<i64> = ds.labels.iter().map(|&c| c as i64).collect();
        Tensor::from_slice(&v)
            .to_kind(Kind::Int64)
            .to_device(device)
    };
    Ok(DeviceData {
        train_x: to_x(&train),
        train_y: to_y(&train),
        test_x: to_x(&test),
        test_y: to_y(&test),
        input_shape,
        num_classes: train.num_classes(),
        class_names: train.class_names.clone(),
        host_train: (d.augment && train.sample_shape().len() == 3).then(|| (train, norm)),
        device,
    })
}
