//! Per-channel normalisation statistics.

use super::{Dataset, Inputs};

/// Per-channel mean and standard deviation; a value `v` of channel `c` becomes
/// `(s * v - mean[c]) / std[c]`, where `s = 1/255` for u8 images (so `mean` and `std` are in
/// the familiar `[0, 1]` pixel units, e.g. MNIST 0.1307 / 0.3081) and `s = 1` for vectors,
/// whose "channels" are their coordinates.
#[derive(Clone, Debug, PartialEq)]
pub struct Normalization {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

impl Normalization {
    /// No change: mean 0 and std 1 for each of `channels` channels (pixels are still divided
    /// by 255).
    pub fn identity(channels: usize) -> Self {
        Normalization {
            mean: vec![0.0; channels],
            std: vec![1.0; channels],
        }
    }

    /// The normalisation of `data` (use the training split): each channel's mean and standard
    /// deviation from [`channel_moments`], except that a channel with zero spread gets
    /// `std = 1`, so it is centred but not divided by zero.
    pub fn compute(data: &Dataset) -> Self {
        let (mean, std) = channel_moments(data);
        let std = std
            .into_iter()
            .map(|s| if s > 0.0 { s } else { 1.0 })
            .collect();
        Normalization { mean, std }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.mean.len()
    }

    /// The normalised value of every u8 pixel value of every channel, as one table of
    /// `channels() * 256` entries: `lut[c * 256 + v] = ((v / 255 - mean[c]) / std[c]) as f32`
    /// (computed in f64, rounded once). Batches on the host and on the training device are both
    /// normalised through it, so the two give the same bits.
    pub fn pixel_lut(&self) -> Vec<f32> {
        (0..self.channels())
            .flat_map(|c| {
                (0..256).map(move |v| ((v as f64 / 255.0 - self.mean[c]) / self.std[c]) as f32)
            })
            .collect()
    }
}

/// Mean and population standard deviation of each channel over every sample and pixel of
/// `data`: `mean_c = (1/M) sum x`, `std_c = sqrt((1/M) sum x^2 - mean_c^2)` over the `M`
/// values `x` of channel `c` (in `[0, 1]` for images), computed from 256-bin histograms for
/// images. A channel whose values are all equal has `std_c = 0` exactly: the formula leaves a
/// rounding residue there (up to 1e-8 for some pixel values), which the normalisation would
/// divide by.
pub fn channel_moments(data: &Dataset) -> (Vec<f64>, Vec<f64>) {
    let (mean, var): (Vec<f64>, Vec<f64>) = match &data.inputs {
        Inputs::Images {
            data: px,
            channels,
            height,
            width,
        } => {
            let plane = height * width;
            let mut hist = vec![[0u64; 256]; *channels];
            for (j, chunk) in px.chunks_exact(plane).enumerate() {
                let h = &mut hist[j % channels];
                for &v in chunk {
                    h[v as usize] += 1;
                }
            }
            hist.iter()
                .map(|h| {
                    let m: u64 = h.iter().sum();
                    let s1: u64 = h.iter().enumerate().map(|(v, &c)| v as u64 * c).sum();
                    let s2: u64 = h.iter().enumerate().map(|(v, &c)| (v * v) as u64 * c).sum();
                    let (mean, var) =
                        moments(m as f64, s1 as f64 / 255.0, s2 as f64 / (255.0 * 255.0));
                    let constant = h.iter().filter(|&&c| c > 0).count() <= 1;
                    (mean, if constant { 0.0 } else { var })
                })
                .unzip()
        }
        Inputs::Vectors { data: xs, dim } => {
            let mut s1 = vec![0.0f64; *dim];
            let mut s2 = vec![0.0f64; *dim];
            let mut constant = vec![true; *dim];
            let first = xs.get(..*dim).unwrap_or_default();
            for row in xs.chunks_exact(*dim) {
                for j in 0..*dim {
                    let v = row[j] as f64;
                    s1[j] += v;
                    s2[j] += v * v;
                    constant[j] &= row[j] == first[j];
                }
            }
            let m = (xs.len() / dim.max(&1)) as f64;
            (0..*dim)
                .map(|j| {
                    let (mean, var) = moments(m, s1[j], s2[j]);
                    (mean, if constant[j] { 0.0 } else { var })
                })
                .unzip()
        }
    };
    (mean, var.into_iter().map(f64::sqrt).collect())
}

/// (mean, variance) from count `m`, sum `s1` and sum of squares `s2`.
fn moments(m: f64, s1: f64, s2: f64) -> (f64, f64) {
    if m == 0.0 {
        return (0.0, 0.0);
    }
    let mean = s1 / m;
    (mean, (s2 / m - mean * mean).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Split;

    #[test]
    fn image_statistics_by_hand() {
        // Two 2-channel 1 x 2 images. Channel 0 values: 0, 255, 255, 255 -> in [0, 1]:
        // 0, 1, 1, 1: mean 3/4, variance 3/4 - 9/16 = 3/16.
        // Channel 1 values: 51 everywhere (0.2): mean 0.2, variance 0 -> std set to 1.
        let mut d = Dataset {
            name: "t".into(),
            split: Split::Train,
            inputs: Inputs::Images {
                data: vec![0, 255, 51, 51, 255, 255, 51, 51],
                channels: 2,
                height: 1,
                width: 2,
            },
            labels: vec![0, 1],
            class_names: vec!["a".into(), "b".into()],
            coarse_labels: None,
            coarse_names: None,
        };
        let n = Normalization::compute(&d);
        assert!((n.mean[0] - 0.75).abs() < 1e-12);
        assert!((n.std[0] - (3.0f64 / 16.0).sqrt()).abs() < 1e-12);
        assert!((n.mean[1] - 0.2).abs() < 1e-12);
        assert_eq!(n.std[1], 1.0);
        // The moments themselves give the constant channel its true spread, 0.
        assert_eq!(channel_moments(&d).1[1], 0.0);
        // Every pixel value, as a constant channel, has std exactly 0 (the sums left up to
        // 1.5e-8 for 1, 2, 7, ...).
        for v in 0..=255u8 {
            if let Inputs::Images { data, .. } = &mut d.inputs {
                data.iter_mut().skip(2).step_by(4).for_each(|p| *p = v);
                data.iter_mut().skip(3).step_by(4).for_each(|p| *p = v);
            }
            assert_eq!(channel_moments(&d).1[1], 0.0, "pixel value {v}");
        }
    }

    #[test]
    fn vector_statistics_by_hand() {
        // Rows (1, 10), (3, 10): coordinate 0 mean 2, variance 1; coordinate 1 constant.
        let mut d = Dataset {
            name: "v".into(),
            split: Split::Train,
            inputs: Inputs::Vectors {
                data: vec![1.0, 10.0, 3.0, 10.0],
                dim: 2,
            },
            labels: vec![0, 1],
            class_names: vec!["a".into(), "b".into()],
            coarse_labels: None,
            coarse_names: None,
        };
        let n = Normalization::compute(&d);
        assert_eq!(n.mean, vec![2.0, 10.0]);
        assert_eq!(n.std, vec![1.0, 1.0]);
        assert_eq!(channel_moments(&d), (vec![2.0, 10.0], vec![1.0, 0.0]));
        // Coordinate 0 is 0.1 in 51 rows: the sums leave a variance of 1.7e-18 (std 1.3e-9,
        // reproduced in NumPy), the check gives 0.
        if let Inputs::Vectors { data, .. } = &mut d.inputs {
            *data = (0..51).flat_map(|i| [0.1, i as f32]).collect();
        }
        d.labels = (0..51).map(|i| i % 2).collect();
        assert_eq!(channel_moments(&d).1[0], 0.0);
    }
}
