//! A synthetic Gaussian mixture for tests and demos.

use super::{Dataset, Inputs, Split};
use crate::rng::Rng;
use crate::{Error, Result};

/// Parameters of the mixture; see [`synthetic`].
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticSpec {
    /// Number of classes `K`.
    pub classes: usize,
    /// Dimension `d` of the vectors.
    pub dim: usize,
    /// Samples per class `n` (in each split).
    pub per_class: usize,
    /// Norm of every class mean, `s`.
    pub separation: f64,
    pub seed: u64,
}

impl Default for SyntheticSpec {
    /// `K = 10, d = 32, n = 100, s = 4, seed = 0`.
    fn default() -> Self {
        SyntheticSpec {
            classes: 10,
            dim: 32,
            per_class: 100,
            separation: 4.0,
            seed: 0,
        }
    }
}

/// The most values a synthetic dataset may hold: `2^32` (16 GB of f32).
pub const MAX_SYNTHETIC_VALUES: u128 = 1 << 32;

impl SyntheticSpec {
    /// Parses `synthetic` or `synthetic:k=10,d=32,n=100,sep=4,seed=0` (any subset of the
    /// keys, in any order; the others keep their [`Default`] values).
    pub fn parse(name: &str) -> Result<Self> {
        let mut spec = SyntheticSpec::default();
        let rest = match name.strip_prefix("synthetic") {
            Some("") => return Ok(spec),
            Some(r) => r
                .strip_prefix(':')
                .ok_or_else(|| bad(name, "expected ':' after 'synthetic'"))?,
            None => return Err(bad(name, "does not start with 'synthetic'")),
        };
        // (key, as typed) of the keys given so far.
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for kv in rest.split(',').filter(|s| !s.is_empty()) {
            let (typed, v) = kv
                .split_once('=')
                .ok_or_else(|| bad(name, &format!("{kv:?} is not key=value")))?;
            // The names of a config's `[data]` keys are taken too.
            let k = match typed {
                "classes" => "k",
                "dim" => "d",
                "per_class" => "n",
                "separation" => "sep",
                short => short,
            };
            if let Some((_, earlier)) = seen.iter().find(|(key, _)| *key == k) {
                let msg = if *earlier == typed {
                    format!("{typed} is given twice")
                } else {
                    format!("{earlier} and {typed} are the same key, given twice")
                };
                return Err(bad(name, &msg));
            }
            seen.push((k, typed));
            let int = || {
                v.parse::<usize>().map_err(|_| {
                    bad(
                        name,
                        &format!("{typed}={v}: expected a non-negative integer"),
                    )
                })
            };
            match k {
                "k" => spec.classes = int()?,
                "d" => spec.dim = int()?,
                "n" => spec.per_class = int()?,
                "seed" => spec.seed = int()? as u64,
                "sep" => {
                    spec.separation = v
                        .parse::<f64>()
                        .ok()
                        .filter(|s| s.is_finite() && *s >= 0.0)
                        .ok_or_else(|| bad(name, &format!("{typed}={v}: expected a number >= 0")))?
                }
                _ => {
                    return Err(bad(
                        name,
                        &format!(
                            "unknown key {k:?} (expected k, d, n, sep, seed, or a config's \
                             classes, dim, per_class, separation)"
                        ),
                    ))
                }
            }
        }
        if spec.classes < 2 || spec.dim == 0 || spec.per_class == 0 {
            return Err(bad(
                name,
                "needs k (classes) >= 2, d (dim) >= 1 and n (per_class) >= 1",
            ));
        }
        let values = spec.classes as u128 * spec.per_class as u128 * spec.dim as u128;
        if values > MAX_SYNTHETIC_VALUES {
            return Err(bad(
                name,
                &format!(
                    "k x n x d = {values} values, more than the {MAX_SYNTHETIC_VALUES} \
                     (16 GB of f32) a synthetic dataset may hold"
                ),
            ));
        }
        Ok(spec)
    }
}

fn bad(name: &str, why: &str) -> Error {
    Error::invalid(format!("dataset {name:?}: {why}"))
}

/// The Gaussian mixture: class means `mu_k = s * u_k` with `u_k` unit vectors drawn from
/// `Rng::new(seed)` (orthonormalised by Gram-Schmidt when `d >= K`, so that
/// `||mu_k - mu_l|| = s * sqrt(2)` exactly), and samples `x = mu_k + z`, `z ~ N(0, I_d)`,
/// `n` per class in class order. The means are shared by both splits; the noise of each split
/// comes from its own stream, so train and test are independent draws.
pub fn synthetic(spec: &SyntheticSpec, split: Split) -> Dataset {
    let (k, d) = (spec.classes, spec.dim);
    let mut rng = Rng::new(spec.seed);
    let mut means: Vec<Vec<f64>> = Vec::with_capacity(k);
    for _ in 0..k {
        let mut g: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        if d >= k {
            for m in &means {
                let dot: f64 = g.iter().zip(m).map(|(a, b)| a * b).sum();
                g.iter_mut().zip(m).for_each(|(a, b)| *a -= dot * b);
            }
        }
        let norm = g
            .iter()
            .map(|a| a * a)
            .sum::<f64>()
            .sqrt()
            .max(f64::MIN_POSITIVE);
        means.push(g.into_iter().map(|a| a / norm).collect());
    }
    let stream = match split {
        Split::Train => 0x7472_6169_6e00_0001u64,
        Split::Test => 0x7465_7374_0000_0002u64,
    };
    let mut noise = Rng::new(spec.seed ^ stream);
    let mut data = Vec::with_capacity(k * spec.per_class * d);
    let mut labels = Vec::with_capacity(k * spec.per_class);
    for (c, u) in means.iter().enumerate() {
        for _ in 0..spec.per_class {
            data.extend(
                u.iter()
                    .map(|&m| (spec.separation * m + noise.normal()) as f32),
            );
            labels.push(c as u32);
        }
    }
    Dataset {
        name: "synthetic".into(),
        split,
        inputs: Inputs::Vectors { data, dim: d },
        labels,
        class_names: (0..k).map(|c| format!("class{c}")).collect(),
        coarse_labels: None,
        coarse_names: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_and_spread_match_the_definition() {
        let spec = SyntheticSpec {
            classes: 3,
            dim: 8,
            per_class: 4000,
            separation: 5.0,
            seed: 11,
        };
        let d = synthetic(&spec, Split::Train);
        assert_eq!(
            (d.len(), d.sample_shape(), d.class_counts()),
            (12000, vec![8], vec![4000; 3])
        );
        let Inputs::Vectors { data, .. } = &d.inputs else {
            unreachable!()
        };
        // Class means: norm close to 5, pairwise distance close to 5 sqrt(2);
        // per-coordinate variance around the mean close to 1.
        let mut mu = vec![vec![0.0f64; 8]; 3];
        for (i, &y) in d.labels.iter().enumerate() {
            for j in 0..8 {
                mu[y as usize][j] += data[i * 8 + j] as f64 / 4000.0;
            }
        }
        let norm = |v: &[f64]| v.iter().map(|a| a * a).sum::<f64>().sqrt();
        for m in &mu {
            assert!((norm(m) - 5.0).abs() < 0.1, "{}", norm(m));
        }
        let diff: Vec<f64> = mu[0].iter().zip(&mu[1]).map(|(a, b)| a - b).collect();
        assert!((norm(&diff) - 5.0 * 2f64.sqrt()).abs() < 0.1);
        let var: f64 = d
            .labels
            .iter()
            .enumerate()
            .map(|(i, &y)| {
                (0..8)
                    .map(|j| (data[i * 8 + j] as f64 - mu[y as usize][j]).powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / (12000.0 * 8.0);
        assert!((var - 1.0).abs() < 0.03, "{var}");
    }

    #[test]
    fn deterministic_and_splits_differ() {
        let spec = SyntheticSpec {
            per_class: 5,
            ..Default::default()
        };
        assert_eq!(
            synthetic(&spec, Split::Train),
            synthetic(&spec, Split::Train)
        );
        assert_ne!(
            synthetic(&spec, Split::Train).inputs,
            synthetic(&spec, Split::Test).inputs
        );
        let other = SyntheticSpec {
            seed: 1,
            ..spec.clone()
        };
        assert_ne!(
            synthetic(&spec, Split::Train).inputs,
            synthetic(&other, Split::Train).inputs
        );
    }

    #[test]
    fn parse_names() {
        assert_eq!(
            SyntheticSpec::parse("synthetic").unwrap(),
            SyntheticSpec::default()
        );
        let s = SyntheticSpec::parse("synthetic:k=3,d=5,n=7,sep=2.5,seed=9").unwrap();
        assert_eq!(
            s,
            SyntheticSpec {
                classes: 3,
                dim: 5,
                per_class: 7,
                separation: 2.5,
                seed: 9
            }
        );
        // A config's key names mean the same.
        assert_eq!(
            SyntheticSpec::parse("synthetic:classes=3,dim=5,per_class=7,separation=2.5,seed=9")
                .unwrap(),
            s
        );
        let e = SyntheticSpec::parse("synthetic:k=3,classes=4")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("k and classes are the same key, given twice"),
            "{e}"
        );
        let e = SyntheticSpec::parse("synthetic:classes=x")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("classes=x: expected a non-negative integer"),
            "{e}"
        );
        let e = SyntheticSpec::parse("synthetic:k=3,k=4")
            .unwrap_err()
            .to_string();
        assert!(e.contains("k is given twice"), "{e}");
        // A size that cannot be allocated is refused by its count (data check aborted).
        let e = SyntheticSpec::parse("synthetic:n=99999999999999")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("k x n x d = 31999999999999680 values, more than the 4294967296"),
            "{e}"
        );
        let e = SyntheticSpec::parse("synthetic:k=1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs k (classes) >= 2"), "{e}");
        let e = SyntheticSpec::parse("synthetic:q=1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown key \"q\""), "{e}");
        let e = SyntheticSpec::parse("synthetic:sep=-1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("sep=-1: expected a number >= 0"), "{e}");
    }
}
