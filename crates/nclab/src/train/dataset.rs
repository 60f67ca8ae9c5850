//! The data of a run as libtorch tensors on the training device: normalised f32 images
//! (`N x C x H x W`, or `N x D` for vector data) and int64 labels, for the training set and the
//! test set, loaded once. Batches are then gathered with `index_select`, so the data costs
//! almost nothing per step.

use anyhow::Context;
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
}

impl DeviceData {
    pub fn num_train(&self) -> usize {
        self.train_y.size()[0] as usize
    }

    pub fn num_test(&self) -> usize {
        self.test_y.size()[0] as usize
    }
}

/// A dataset in host memory, normalised, before it moves to the device.
#[derive(Debug, Clone)]
pub struct HostData {
    pub train_x: Vec<f32>,
    pub train_y: Vec<u32>,
    pub test_x: Vec<f32>,
    pub test_y: Vec<u32>,
    /// Shape of one sample.
    pub sample_shape: Vec<usize>,
    pub num_classes: usize,
    pub class_names: Vec<String>,
}

/// Loads the configured dataset (balanced subsets, normalisation with the training set's
/// per-channel mean and std, zero padding) onto `device`.
pub fn load(config: &Config, device: Device) -> anyhow::Result<DeviceData> {
    let host = host_data(config).with_context(|| format!("data.name = {:?}", config.data.name))?;
    Ok(to_device(host, config.data.pad, device))
}

/// TEMPORARY until `nclab_core::data` lands: only the synthetic Gaussian mixture.
fn host_data(config: &Config) -> anyhow::Result<HostData> {
    let d = &config.data;
    anyhow::ensure!(d.name == "synthetic", "dataset {:?} is not available yet", d.name);
    let (k, dim) = (d.classes, d.dim);
    let mut rng = nclab_core::rng::Rng::new(config.seed ^ 0x5eed);
    let means: Vec<f64> = (0..k * dim).map(|_| rng.normal()).collect();
    let mut draw = |per: usize| {
        let mut x = Vec::with_capacity(per * k * dim);
        let mut y = Vec::with_capacity(per * k);
        for _ in 0..per {
            for c in 0..k {
                y.push(c as u32);
                x.extend((0..dim).map(|j| (means[c * dim + j] + rng.normal()) as f32));
            }
        }
        (x, y)
    };
    let per = if d.per_class == 0 { 100 } else { d.per_class };
    let test_per = if d.test_per_class == 0 { 50 } else { d.test_per_class };
    let (train_x, train_y) = draw(per);
    let (test_x, test_y) = draw(test_per);
    Ok(HostData {
        train_x,
        train_y,
        test_x,
        test_y,
        sample_shape: vec![dim],
        num_classes: k,
        class_names: (0..k).map(|c| c.to_string()).collect(),
    })
}

/// Moves host arrays to `device`, padding images by `pad` zeros on every side.
fn to_device(raw: HostData, pad: i64, device: Device) -> DeviceData {
    let shape: Vec<i64> = raw.sample_shape.iter().map(|&s| s as i64).collect();
    let to_x = |x: &[f32], n: usize| -> Tensor {
        let mut full = vec![n as i64];
        full.extend(&shape);
        let t = Tensor::from_slice(x).reshape(&full);
        let t = if pad > 0 && shape.len() == 3 {
            t.constant_pad_nd([pad, pad, pad, pad])
        } else {
            t
        };
        t.to_device(device)
    };
    let to_y = |y: &[u32]| -> Tensor {
        let v: Vec<i64> = y.iter().map(|&c| c as i64).collect();
        Tensor::from_slice(&v).to_kind(Kind::Int64).to_device(device)
    };
    let train_x = to_x(&raw.train_x, raw.train_y.len());
    let test_x = to_x(&raw.test_x, raw.test_y.len());
    let input_shape = train_x.size()[1..].to_vec();
    DeviceData {
        train_x,
        train_y: to_y(&raw.train_y),
        test_x,
        test_y: to_y(&raw.test_y),
        input_shape,
        num_classes: raw.num_classes,
        class_names: raw.class_names,
    }
}
