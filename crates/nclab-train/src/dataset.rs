//! The data of a run, resident on the training device for the whole run.
//!
//! Images stay u8 (`N x C x H x W`, a quarter of their f32 size) and are normalised batch by
//! batch on the device through the per-channel table of [`Normalization::pixel_lut`]; vectors
//! are normalised once and kept as f32. Labels are int64.
//!
//! An epoch's random draws (the shuffle and, with augmentation, each image's [`CropFlip`]) come
//! from the run's own generator on the host, are copied to the device once per epoch
//! ([`EpochPlan`]), and every batch is then gathered, cropped, flipped and normalised on the
//! device: no host work and no host-to-device copy per step. Drawing on the host keeps a run
//! the same on every device and lets a checkpoint resume the same stream of batches; the
//! batches are bit for bit those of the host builder `Dataset::batch`.

use std::path::PathBuf;

use anyhow::Context;
use nclab_core::data::{self, CropFlip, Dataset, Inputs, Normalization, Split, CROP_PADDING};
use nclab_core::rng::Rng;
use tch::{Device, Kind, Tensor};

use nclab_runs::config::{Config, DatasetName};

/// A dataset ready for training.
#[derive(Debug)]
pub struct DeviceData {
    pub train: DeviceSplit,
    pub test: DeviceSplit,
    /// Shape of one sample (`[C, H, W]` or `[D]`), after padding.
    pub input_shape: Vec<i64>,
    pub num_classes: usize,
    pub class_names: Vec<String>,
    /// Random crop and flip of the training images.
    augment: bool,
}

/// One split on the device: its samples, their labels, and how samples become network inputs.
#[derive(Debug)]
pub struct DeviceSplit {
    /// u8 images `N x C x H x W`, or normalised f32 vectors `N x D`.
    x: Tensor,
    /// int64 labels `N`.
    pub y: Tensor,
    /// For images: the normalisation table and the memory format of the inputs.
    pixels: Option<Pixels>,
}

/// How u8 images become f32 network inputs.
#[derive(Debug)]
struct Pixels {
    /// `C * 256` values, `lut[c * 256 + v]` ([`Normalization::pixel_lut`]).
    lut: Tensor,
    /// `c * 256` shaped `1 x C x 1 x 1`: the offset of channel `c` in `lut`.
    channel_offset: Tensor,
    /// Hand the inputs over in channels-last memory format (NHWC strides).
    channels_last: bool,
}

/// The random order and draws of one epoch, on the device.
#[derive(Debug)]
pub struct EpochPlan {
    /// The shuffled sample indices (int64), of which the first `steps * batch` are used.
    pub order: Tensor,
    /// With augmentation: `dy, dx, flip` (int64) of each used position of `order`.
    crops: Option<Tensor>,
    batch: usize,
    steps: usize,
}

impl EpochPlan {
    /// Number of batches of the epoch.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// Samples per batch.
    pub fn batch(&self) -> usize {
        self.batch
    }
}

impl DeviceSplit {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.y.size()[0] as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The network inputs of samples `start..start + len`, in order (no augmentation).
    pub fn inputs(&self, start: usize, len: usize) -> Tensor {
        let x = self.x.narrow(0, start as i64, len as i64);
        self.to_inputs(&x)
    }

    /// f32 inputs from stored samples: images through the normalisation table (and into
    /// channels-last strides when asked), vectors as they are.
    fn to_inputs(&self, x: &Tensor) -> Tensor {
        let Some(p) = &self.pixels else {
            return x.shallow_clone();
        };
        let f = p.lut.take(&(x.to_kind(Kind::Int64) + &p.channel_offset));
        if p.channels_last {
            to_channels_last(&f)
        } else {
            f
        }
    }
}

/// The same values with NHWC strides (PyTorch's `torch.channels_last`), shape unchanged.
pub fn to_channels_last(t: &Tensor) -> Tensor {
    t.permute([0, 2, 3, 1]).contiguous().permute([0, 3, 1, 2])
}

impl DeviceData {
    pub fn num_train(&self) -> usize {
        self.train.len()
    }

    pub fn num_test(&self) -> usize {
        self.test.len()
    }

    /// The draws of one epoch of `steps` batches of `batch` samples: a Fisher-Yates shuffle of
    /// the training indices by `rng`, then (with augmentation) one [`CropFlip`] per used
    /// position, in order, from the same generator; both copied to the device once.
    pub fn plan_epoch(&self, rng: &mut Rng, batch: usize, steps: usize) -> EpochPlan {
        let mut order: Vec<i64> = (0..self.num_train() as i64).collect();
        rng.shuffle(&mut order);
        let crops = self.augment.then(|| {
            let draws: Vec<i64> = (0..steps * batch)
                .flat_map(|_| {
                    let c = CropFlip::draw(rng);
                    [c.dy as i64, c.dx as i64, c.flip as i64]
                })
                .collect();
            Tensor::from_slice(&draws)
                .reshape([(steps * batch) as i64, 3])
                .to_device(self.train.y.device())
        });
        EpochPlan {
            order: Tensor::from_slice(&order).to_device(self.train.y.device()),
            crops,
            batch,
            steps,
        }
    }

    /// Inputs and labels of batch `step` of an epoch (positions `step * batch ..` of its
    /// order), augmented when the epoch has draws.
    pub fn train_batch(&self, plan: &EpochPlan, step: usize) -> (Tensor, Tensor) {
        let (start, len) = ((step * plan.batch) as i64, plan.batch as i64);
        let idx = plan.order.narrow(0, start, len);
        let y = self.train.y.index_select(0, &idx);
        let x = self.train.x.index_select(0, &idx);
        let x = match &plan.crops {
            Some(c) => crop_flip(&x, &c.narrow(0, start, len)),
            None => x,
        };
        (self.train.to_inputs(&x), y)
    }
}

/// Crops and flips a batch of images `B x C x H x W` as the rows `dy, dx, flip` of `draws`
/// say ([`CropFlip`]): the batch is zero-padded by [`CROP_PADDING`], then two gathers pick
/// row `y + dy` and column `x' + dx` (`x' = W - 1 - x` when flipped) for output `(y, x)`.
fn crop_flip(x: &Tensor, draws: &Tensor) -> Tensor {
    let (b, c, h, w) = x.size4().expect("images are B x C x H x W");
    let p = CROP_PADDING as i64;
    let padded = x.constant_pad_nd([p, p, p, p]);
    let dev = x.device();
    let (dy, dx, flip) = (draws.select(1, 0), draws.select(1, 1), draws.select(1, 2));
    let ys = Tensor::arange(h, (Kind::Int64, dev));
    let xs = Tensor::arange(w, (Kind::Int64, dev));
    let rows = ys.unsqueeze(0) + dy.unsqueeze(1); // B x H
                                                  // x' = x + flip * (W - 1 - 2x)
    let mirrored = xs.unsqueeze(0) + flip.unsqueeze(1) * (xs.neg() * 2 + (w - 1)).unsqueeze(0);
    let cols = mirrored + dx.unsqueeze(1); // B x W
    let rows = rows.view([b, 1, h, 1]).expand([b, c, h, w + 2 * p], false);
    let cols = cols.view([b, 1, 1, w]).expand([b, c, h, w], false);
    padded.gather(2, &rows, false).gather(3, &cols, false)
}

/// The data root of the config (`data.root`).
pub fn root(config: &Config) -> PathBuf {
    PathBuf::from(&config.data.root)
}

/// Loads the configured dataset onto `device`: balanced subsets (`data.per_class`,
/// `data.test_per_class`, drawn with the run's seed), zero padding to `data.pad_to`, and the
/// training subset's per-channel mean and std for both sets. Images in channels-last format
/// when `channels_last`.
pub fn load(config: &Config, device: Device, channels_last: bool) -> anyhow::Result<DeviceData> {
    let (train, test) = load_host(config)?;
    Ok(DeviceData::new(
        &train,
        &test,
        device,
        config.data.augment,
        channels_last,
    ))
}

impl DeviceData {
    /// Both sets on `device`, normalised with the training set's statistics; `augment` crops
    /// and flips training images (vectors are never augmented).
    pub fn new(
        train: &Dataset,
        test: &Dataset,
        device: Device,
        augment: bool,
        channels_last: bool,
    ) -> DeviceData {
        let norm = Normalization::compute(train);
        DeviceData {
            train: to_device(train, &norm, device, channels_last),
            test: to_device(test, &norm, device, channels_last),
            input_shape: train.sample_shape().iter().map(|&s| s as i64).collect(),
            num_classes: train.num_classes(),
            class_names: train.class_names.clone(),
            augment: augment && matches!(train.inputs, Inputs::Images { .. }),
        }
    }
}

/// The training and test sets of the config on the host, subsets and padding applied.
fn load_host(config: &Config) -> anyhow::Result<(Dataset, Dataset)> {
    let d = &config.data;
    let (train, test) = if d.name == DatasetName::Synthetic {
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
        // A missing or unreadable dataset is blamed on data.name and data.root; only a subset
        // the data cannot give is blamed on the per-class key.
        let load = |split: Split, per_class: usize, key: &str| -> anyhow::Result<Dataset> {
            let full = data::load(d.name.as_str(), &root(config), split).with_context(|| {
                format!(
                    "data.name = {:?}, data.root = {:?}",
                    d.name.as_str(),
                    d.root
                )
            })?;
            Ok(if per_class > 0 {
                full.subset_balanced(per_class, config.seed)
                    .with_context(|| {
                        format!("key `{key}`: {split} subset of {per_class} per class")
                    })?
            } else {
                full
            })
        };
        (
            load(Split::Train, d.per_class, "data.per_class")?,
            load(Split::Test, d.test_per_class, "data.test_per_class")?,
        )
    };
    Ok(if d.pad_to > 0 {
        (
            train.pad_to(d.pad_to).context("key `data.pad_to`")?,
            test.pad_to(d.pad_to).context("key `data.pad_to`")?,
        )
    } else {
        (train, test)
    })
}

/// One split on `device`: u8 images with their normalisation table, or normalised vectors.
fn to_device(
    ds: &Dataset,
    norm: &Normalization,
    device: Device,
    channels_last: bool,
) -> DeviceSplit {
    let n = ds.len() as i64;
    let labels: Vec<i64> = ds.labels.iter().map(|&c| c as i64).collect();
    let y = Tensor::from_slice(&labels).to_device(device);
    match &ds.inputs {
        Inputs::Images {
            data,
            channels,
            height,
            width,
        } => {
            let c = *channels as i64;
            let x = Tensor::from_slice(data)
                .reshape([n, c, *height as i64, *width as i64])
                .to_device(device);
            let offsets: Vec<i64> = (0..c).map(|ch| ch * 256).collect();
            let pixels = Pixels {
                lut: Tensor::from_slice(&norm.pixel_lut()).to_device(device),
                channel_offset: Tensor::from_slice(&offsets)
                    .view([1, c, 1, 1])
                    .to_device(device),
                channels_last,
            };
            DeviceSplit {
                x,
                y,
                pixels: Some(pixels),
            }
        }
        Inputs::Vectors { dim, .. } => {
            let all: Vec<usize> = (0..ds.len()).collect();
            let mut buf = Vec::new();
            ds.batch(&all, norm, None, &mut buf);
            let x = Tensor::from_slice(&buf)
                .reshape([n, *dim as i64])
                .to_device(device);
            DeviceSplit { x, y, pixels: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nclab_core::data::Split;

    /// 7 images of 2 x 5 x 6 with varied pixels, labels 0..3.
    fn images() -> Dataset {
        let (n, c, h, w) = (7usize, 2usize, 5usize, 6usize);
        let data: Vec<u8> = (0..n * c * h * w)
            .map(|i| ((i * 37 + 11) % 256) as u8)
            .collect();
        Dataset {
            name: "t".into(),
            split: Split::Train,
            inputs: Inputs::Images {
                data,
                channels: c,
                height: h,
                width: w,
            },
            labels: (0..n as u32).map(|i| i % 3).collect(),
            class_names: vec!["a".into(), "b".into(), "c".into()],
            coarse_labels: None,
            coarse_names: None,
        }
    }

    fn device_data(ds: &Dataset, augment: bool, channels_last: bool) -> DeviceData {
        DeviceData::new(ds, ds, Device::Cpu, augment, channels_last)
    }

    fn floats(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(&t.contiguous().view(-1)).unwrap()
    }

    /// The device pipeline gives the host builder's batches bit for bit, with the same
    /// generator stream: shuffle, then one CropFlip per used position.
    #[test]
    fn device_batches_equal_the_host_builder() {
        let ds = images();
        let norm = Normalization::compute(&ds);
        for augment in [false, true] {
            for channels_last in [false, true] {
                let dd = device_data(&ds, augment, channels_last);
                let (batch, steps) = (3, 2);
                let mut rng = Rng::new(9);
                let plan = dd.plan_epoch(&mut rng, batch, steps);
                // The host reference: the same shuffle, then the draws batch by batch.
                let mut host_rng = Rng::new(9);
                let mut order: Vec<i64> = (0..7).collect();
                host_rng.shuffle(&mut order);
                for s in 0..steps {
                    let idx: Vec<usize> = order[s * batch..(s + 1) * batch]
                        .iter()
                        .map(|&i| i as usize)
                        .collect();
                    let mut want = Vec::new();
                    ds.batch(&idx, &norm, augment.then_some(&mut host_rng), &mut want);
                    let (x, y) = dd.train_batch(&plan, s);
                    assert_eq!(x.size(), vec![3, 2, 5, 6]);
                    assert_eq!(floats(&x), want, "augment {augment}, step {s}");
                    let labels: Vec<i64> = idx.iter().map(|&i| ds.labels[i] as i64).collect();
                    assert_eq!(Vec::<i64>::try_from(&y).unwrap(), labels);
                    if channels_last {
                        // NHWC strides: channel stride 1.
                        assert_eq!(x.stride()[1], 1);
                    }
                }
                // The generators end in the same state (nothing drawn for dropped samples).
                assert_eq!(rng.state(), host_rng.state(), "augment {augment}");
            }
        }
    }

    #[test]
    fn eval_inputs_are_the_plain_normalised_images() {
        let ds = images();
        let norm = Normalization::compute(&ds);
        let dd = device_data(&ds, true, false);
        let mut want = Vec::new();
        ds.batch(&[2, 3, 4], &norm, None, &mut want);
        assert_eq!(floats(&dd.test.inputs(2, 3)), want);
    }
}
