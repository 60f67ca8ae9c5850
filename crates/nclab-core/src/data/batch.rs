//! Building normalised f32 batches for the trainer.

use super::{Dataset, Inputs, Normalization};
use crate::rng::Rng;

/// Padding of the random-crop augmentation, in pixels.
pub const CROP_PADDING: usize = 4;

/// The random draws of one augmented image: a crop of the image zero-padded by
/// [`CROP_PADDING`] on every side, at offset `(dy, dx)` in `0..=2 * CROP_PADDING`, then a
/// horizontal flip when `flip`. Output pixel `(y, x)` is the padded image at row `y + dy` and
/// column `x' + dx`, `x' = W - 1 - x` when flipped, else `x` (torchvision's
/// `RandomCrop(H, padding=4)` then `RandomHorizontalFlip()`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CropFlip {
    pub dy: usize,
    pub dx: usize,
    pub flip: bool,
}

impl CropFlip {
    /// Draws `dy = rng.below(9)`, `dx = rng.below(9)`, `flip = rng.below(2) == 1`, in that
    /// order: the order every augmented batch uses, on the host or on the device.
    pub fn draw(rng: &mut Rng) -> Self {
        let span = 2 * CROP_PADDING as u64 + 1;
        let dy = rng.below(span) as usize;
        let dx = rng.below(span) as usize;
        CropFlip {
            dy,
            dx,
            flip: rng.below(2) == 1,
        }
    }
}

impl Dataset {
    /// Writes the samples at `indices` into `out` (cleared first) as f32, normalised:
    /// images as NCHW, `out[((b * C + c) * H + y) * W + x] = (px / 255 - mean[c]) / std[c]`
    /// for the `b`-th index; vectors as `out[b * d + j] = (x_j - mean[j]) / std[j]`.
    ///
    /// With `augment = Some(rng)`, each image is first randomly cropped and flipped by a
    /// [`CropFlip`] drawn from `rng` (in the order of `indices`); a pixel outside the image is
    /// 0 (black, before normalisation). Vectors are never augmented.
    ///
    /// Panics if an index is out of range or `norm` has the wrong number of channels.
    pub fn batch(
        &self,
        indices: &[usize],
        norm: &Normalization,
        augment: Option<&mut Rng>,
        out: &mut Vec<f32>,
    ) {
        let s = self.sample_len();
        out.clear();
        out.resize(indices.len() * s, 0.0);
        match &self.inputs {
            Inputs::Images {
                data,
                channels,
                height,
                width,
            } => {
                let shape = ImageShape {
                    c: *channels,
                    h: *height,
                    w: *width,
                };
                assert_eq!(
                    norm.channels(),
                    shape.c,
                    "batch: normalisation has {} channels, the images {}",
                    norm.channels(),
                    shape.c
                );
                let table = norm.pixel_lut();
                let lut: Vec<&[f32]> = table.chunks_exact(256).collect();
                let mut augment = augment;
                for (b, &i) in indices.iter().enumerate() {
                    let src = &data[i * s..(i + 1) * s];
                    let dst = &mut out[b * s..(b + 1) * s];
                    match augment.as_deref_mut() {
                        None => shape.normalise(&lut, src, dst),
                        Some(rng) => shape.crop_flip_normalise(&lut, CropFlip::draw(rng), src, dst),
                    }
                }
            }
            Inputs::Vectors { data, dim } => {
                assert_eq!(
                    norm.channels(),
                    *dim,
                    "batch: normalisation has {} channels, the vectors {dim} coordinates",
                    norm.channels()
                );
                normalise_vectors(data, *dim, indices, norm, out);
            }
        }
    }
}

/// The shape of one CHW image: channels, height, width.
#[derive(Clone, Copy)]
struct ImageShape {
    c: usize,
    h: usize,
    w: usize,
}

impl ImageShape {
    /// Normalises one image through the per-channel tables: `dst[p] = lut[ch][src[p]]` for
    /// every pixel `p` of channel `ch`.
    fn normalise(self, lut: &[&[f32]], src: &[u8], dst: &mut [f32]) {
        let plane = self.h * self.w;
        for ch in 0..self.c {
            let l = lut[ch];
            for (o, &v) in dst[ch * plane..(ch + 1) * plane]
                .iter_mut()
                .zip(&src[ch * plane..(ch + 1) * plane])
            {
                *o = l[v as usize];
            }
        }
    }

    /// Normalises one image cropped and flipped by `cf` (see [`CropFlip`]): `dst(ch, y, x) =
    /// lut[ch][src(ch, y + dy - 4, x' + dx - 4)]` with `x' = W - 1 - x` when flipped, and
    /// `lut[ch][0]` (a black pixel) where that falls outside the image.
    fn crop_flip_normalise(self, lut: &[&[f32]], cf: CropFlip, src: &[u8], dst: &mut [f32]) {
        let (h, w) = (self.h, self.w);
        let plane = h * w;
        let p = CROP_PADDING as isize;
        let CropFlip { dy, dx, flip } = cf;
        let (dy, dx) = (dy as isize, dx as isize);
        for ch in 0..self.c {
            let l = lut[ch];
            let sp = &src[ch * plane..(ch + 1) * plane];
            let dp = &mut dst[ch * plane..(ch + 1) * plane];
            for y in 0..h {
                let sy = y as isize + dy - p;
                let row = &mut dp[y * w..(y + 1) * w];
                if sy < 0 || sy >= h as isize {
                    row.fill(l[0]);
                    continue;
                }
                let srow = &sp[sy as usize * w..(sy as usize + 1) * w];
                for (x, o) in row.iter_mut().enumerate() {
                    let xx = if flip { w - 1 - x } else { x };
                    let sx = xx as isize + dx - p;
                    *o = if sx < 0 || sx >= w as isize {
                        l[0]
                    } else {
                        l[srow[sx as usize] as usize]
                    };
                }
            }
        }
    }
}

/// Normalises the vectors at `indices` (each of `dim` coordinates) into `out`:
/// `out[b * dim + j] = (x_j - mean[j]) / std[j]`, computed in f64 as `(x_j - mean[j]) *
/// (1 / std[j])`.
fn normalise_vectors(
    data: &[f32],
    dim: usize,
    indices: &[usize],
    norm: &Normalization,
    out: &mut [f32],
) {
    let s = dim;
    let inv: Vec<f64> = norm.std.iter().map(|s| 1.0 / s).collect();
    for (b, &i) in indices.iter().enumerate() {
        let src = &data[i * s..(i + 1) * s];
        for (j, (o, &v)) in out[b * s..(b + 1) * s].iter_mut().zip(src).enumerate() {
            *o = ((v as f64 - norm.mean[j]) * inv[j]) as f32;
        }
    }
}

impl Dataset {
    /// Writes the labels of the samples at `indices` into `out` (cleared first) as i64, the
    /// type cross-entropy losses take: `out[b] = labels[indices[b]]`.
    pub fn batch_labels(&self, indices: &[usize], out: &mut Vec<i64>) {
        out.clear();
        out.extend(indices.iter().map(|&i| self.labels[i] as i64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{Split, SyntheticSpec};

    fn image_set() -> Dataset {
        // Two 2-channel 3 x 3 images; image i, channel c, pixel (y, x) = 100 i + 10 c + 3 y + x.
        let mut data = Vec::new();
        for i in 0..2u8 {
            for c in 0..2u8 {
                for y in 0..3u8 {
                    for x in 0..3u8 {
                        data.push(100 * i + 10 * c + 3 * y + x);
                    }
                }
            }
        }
        Dataset {
            name: "img".into(),
            split: Split::Train,
            inputs: Inputs::Images {
                data,
                channels: 2,
                height: 3,
                width: 3,
            },
            labels: vec![0, 1],
            class_names: vec!["a".into(), "b".into()],
            coarse_labels: None,
            coarse_names: None,
        }
    }

    #[test]
    fn plain_batch_normalises_each_channel() {
        let d = image_set();
        let norm = Normalization {
            mean: vec![0.5, 0.0],
            std: vec![0.25, 2.0],
        };
        let mut out = vec![99.0; 3];
        d.batch(&[1, 0], &norm, None, &mut out);
        let mut y = vec![7];
        d.batch_labels(&[1, 0, 1], &mut y);
        assert_eq!(y, vec![1, 0, 1]);
        assert_eq!(out.len(), 2 * 18);
        for (b, i) in [(0usize, 1u32), (1, 0)] {
            for c in 0..2 {
                for p in 0..9 {
                    let px = (100 * i + 10 * c + p) as f64;
                    let want = (px / 255.0 - norm.mean[c as usize]) / norm.std[c as usize];
                    let got = out[b * 18 + c as usize * 9 + p as usize] as f64;
                    assert!((got - want).abs() < 1e-6, "{b} {c} {p}: {got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn augmentation_crops_and_flips_as_documented() {
        let d = image_set();
        let norm = Normalization::identity(2);
        let mut rng = Rng::new(5);
        let mut out = Vec::new();
        d.batch(&[0, 1, 0, 1, 0, 1, 0, 1], &norm, Some(&mut rng), &mut out);
        // Replay the draws with the same seed and rebuild every pixel by the formula.
        let mut r = Rng::new(5);
        let mut any_flip = false;
        let mut any_shift = false;
        for (b, i) in [0usize, 1, 0, 1, 0, 1, 0, 1].into_iter().enumerate() {
            let dy = r.below(9) as isize;
            let dx = r.below(9) as isize;
            let flip = r.below(2) == 1;
            any_flip |= flip;
            any_shift |= dy != 4 || dx != 4;
            for c in 0..2isize {
                for y in 0..3isize {
                    for x in 0..3isize {
                        let xx = if flip { 2 - x } else { x };
                        let (sy, sx) = (y + dy - 4, xx + dx - 4);
                        let want = if (0..3).contains(&sy) && (0..3).contains(&sx) {
                            (100 * i as isize + 10 * c + 3 * sy + sx) as f32 / 255.0
                        } else {
                            0.0
                        };
                        let got = out[b * 18 + (c * 9 + y * 3 + x) as usize];
                        assert!((got - want).abs() < 1e-6, "{b} {c} {y} {x}");
                    }
                }
            }
        }
        assert!(any_flip && any_shift);
        // Same seed, same batch.
        let mut again = Vec::new();
        d.batch(
            &[0, 1, 0, 1, 0, 1, 0, 1],
            &norm,
            Some(&mut Rng::new(5)),
            &mut again,
        );
        assert_eq!(out, again);
    }

    #[test]
    fn flip_without_shift_by_hand() {
        // One 1-channel 1 x 3 image [10, 20, 30] (x / 255 with identity normalisation).
        // Find a seed whose first draw is dy = 4, dx = 4, flip: output reversed, [30, 20, 10].
        let d = Dataset {
            name: "row".into(),
            split: Split::Train,
            inputs: Inputs::Images {
                data: vec![10, 20, 30],
                channels: 1,
                height: 1,
                width: 3,
            },
            labels: vec![0],
            class_names: vec!["a".into()],
            coarse_labels: None,
            coarse_names: None,
        };
        let seed = (0..10_000u64)
            .find(|&s| {
                let mut r = Rng::new(s);
                (r.below(9), r.below(9), r.below(2)) == (4, 4, 1)
            })
            .unwrap();
        let mut out = Vec::new();
        d.batch(
            &[0],
            &Normalization::identity(1),
            Some(&mut Rng::new(seed)),
            &mut out,
        );
        let px: Vec<u32> = out.iter().map(|v| (v * 255.0).round() as u32).collect();
        assert_eq!(px, vec![30, 20, 10]);
    }

    #[test]
    fn vector_batch_standardises() {
        let d = crate::data::synthetic(
            &SyntheticSpec {
                classes: 2,
                dim: 3,
                per_class: 4,
                separation: 1.0,
                seed: 1,
            },
            Split::Train,
        );
        let norm = Normalization::compute(&d);
        let mut out = Vec::new();
        let all: Vec<usize> = (0..d.len()).collect();
        d.batch(&all, &norm, None, &mut out);
        // Each standardised coordinate has mean 0 and population variance 1.
        for j in 0..3 {
            let col: Vec<f64> = (0..8).map(|i| out[i * 3 + j] as f64).collect();
            let m = col.iter().sum::<f64>() / 8.0;
            let v = col.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 8.0;
            assert!(m.abs() < 1e-6 && (v - 1.0).abs() < 1e-5, "{j}: {m} {v}");
        }
    }
}
