//! What a new sample of test images would add to a difference between two conditions.
//!
//! The report's intervals vary the seeds on one fixed test set: they say how far another seed
//! could move a difference, not how far another test set could. Every test metric of a run
//! that is a mean over the test images (top-k error, `hdist@k`) has a second source of
//! variation, the images themselves, and this module measures it from the per-image values of
//! the runs (`test_predictions.csv`, docs/run-directory.md).
//!
//! Two conditions A and B, S seeds shared by both (runs of a seed paired), n test images, and
//! per run r and image i the values `x_ri` (A) and `y_ri` (B). Write
//! `delta_ri = x_ri - y_ri = dmu_i + e_ri`: image i's difference of the conditions' expected
//! values plus the seed's share `e_ri` (mean 0 at each image). With `d_i = (1/S) sum_r delta_ri`,
//!
//! ```text
//! var_i(d_i) = var_i(dmu_i) + E_i[s2_i] / S
//! ```
//!
//! where `s2_i` is the sample variance of `delta_ri` over the seeds at image i. A new sample of
//! n images moves the difference by `var_i(dmu_i) / n` in variance; the seeds' share is already
//! in the seeds' interval. So the estimate subtracts the mean of `s2_i` over the images,
//! divided by S, from the sample variance of `d_i` over the images, floors it at 0, and gives
//! the half-width `z_{(1+level)/2} sqrt(var / n)` ([`half_width`]). It needs two seeds or more;
//! with fewer shared seeds, [`half_width_bound`] leaves the seeds' share in (an upper bound in
//! expectation). The two half-widths, seeds' and images', add in quadrature
//! ([`widened_half_width`]): the two sources are independent.
//!
//! This is the variance decomposition of a two-way layout (images x seeds) as in a random-
//! effects ANOVA; it is the test-set term of Bouthillier et al. 2021, *Accounting for variance
//! in machine learning benchmarks*, which separates the sampling of the data from the seeds.

use crate::stats::mean;

/// The standard normal quantile `z_p`: the `z` with `Phi(z) = p`, `0 < p < 1`, `Phi(z) =
/// erfc(-z / sqrt 2) / 2`, by bisection to about 1e-15 (`z_0.975 = 1.959963984540054`).
pub fn normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    let cdf = |z: f64| 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-15 * hi.abs().max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The `level` half-width that a new sample of test images puts on the difference of two
/// conditions' mean test metric, estimated from their runs' per-image values (module docs).
/// `a[r]` and `b[r]` are the per-image values of the runs of seed r (every slice the same n
/// images in the same order). `None` with fewer than two seeds, fewer than two images, slices
/// of different lengths or a value that is not finite.
pub fn half_width(a: &[&[f64]], b: &[&[f64]], level: f64) -> Option<f64> {
    let seeds = a.len();
    let n = images(a, b)?;
    if seeds < 2 || b.len() != seeds {
        return None;
    }
    let s = seeds as f64;
    let mut d = Vec::with_capacity(n);
    let mut seed_var_sum = 0.0;
    let mut delta = vec![0.0; seeds];
    for i in 0..n {
        for (r, v) in delta.iter_mut().enumerate() {
            *v = a[r][i] - b[r][i];
        }
        let m = mean(&delta);
        d.push(m);
        seed_var_sum += delta.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (s - 1.0);
    }
    let var = sample_variance(&d) - seed_var_sum / n as f64 / s;
    Some(z(level) * (var.max(0.0) / n as f64).sqrt())
}

/// An upper bound (in expectation) of [`half_width`] for conditions that share fewer than two
/// seeds with per-image values: `z_{(1+level)/2} sd_i(d_i) / sqrt(n)`, with `d_i` the difference
/// of the two conditions' per-image means over all their runs (`a` and `b` need not pair). The
/// seeds' share of `var_i(d_i)`, which one run cannot tell apart, stays in. `None` without a
/// run on either side, with fewer than two images, with slices of different lengths or a value
/// that is not finite.
pub fn half_width_bound(a: &[&[f64]], b: &[&[f64]], level: f64) -> Option<f64> {
    let n = images(a, b)?;
    let per_image =
        |runs: &[&[f64]], i: usize| runs.iter().map(|r| r[i]).sum::<f64>() / runs.len() as f64;
    let d: Vec<f64> = (0..n).map(|i| per_image(a, i) - per_image(b, i)).collect();
    Some(z(level) * (sample_variance(&d) / n as f64).sqrt())
}

/// The half-width of an interval whose two independent sources of error have half-widths
/// `seeds` and `images`: `sqrt(seeds^2 + images^2)`.
pub fn widened_half_width(seeds: f64, images: f64) -> f64 {
    seeds.hypot(images)
}

/// The number of images every run has (`None` when none on a side, fewer than two, lengths
/// that differ, or a value that is not finite).
fn images(a: &[&[f64]], b: &[&[f64]]) -> Option<usize> {
    let n = a.first()?.len();
    let runs = a.iter().chain(b);
    if b.is_empty()
        || n < 2
        || runs
            .clone()
            .any(|r| r.len() != n || r.iter().any(|v| !v.is_finite()))
    {
        return None;
    }
    Some(n)
}

/// The sample variance (n - 1 divisor) about the mean.
fn sample_variance(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64
}

/// `z_{(1+level)/2}`, the two-sided normal quantile of a confidence level.
fn z(level: f64) -> f64 {
    normal_quantile(0.5 + level / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles_match_tables() {
        // Python's statistics.NormalDist().inv_cdf(0.975) = 1.9599639845400536, (0.995) =
        // 2.5758293035489, and the symmetric 0.025.
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-14);
        assert!((normal_quantile(0.995) - 2.5758293035489).abs() < 1e-14);
        assert!(normal_quantile(0.5).abs() < 1e-15);
        assert!((normal_quantile(0.025) + 1.959963984540054).abs() < 1e-14);
        assert!(normal_quantile(0.0).is_nan() && normal_quantile(1.0).is_nan());
    }

    /// Two seeds, three images, by hand. Deltas (a - b): seed 0 [1, 0, 0], seed 1 [1, 1, 0].
    /// d = [1, 0.5, 0], mean 0.5, sample variance ((0.5)^2 + 0 + (0.5)^2) / 2 = 0.25. Seed
    /// variances per image: [0, 0.5, 0], mean 1/6, over S = 2: 1/12. var = 0.25 - 1/12 = 1/6;
    /// half-width z sqrt(1/6 / 3) = z sqrt(1/18).
    #[test]
    fn half_width_by_hand() {
        let a0 = [1.0, 1.0, 0.0];
        let a1 = [1.0, 1.0, 1.0];
        let b0 = [0.0, 1.0, 0.0];
        let b1 = [0.0, 0.0, 1.0];
        let h = half_width(&[&a0, &a1], &[&b0, &b1], 0.95).unwrap();
        let want = 1.959963984540054 * (1.0f64 / 18.0).sqrt();
        assert!((h - want).abs() < 1e-15, "{h} vs {want}");
        // The bound: d over all runs is the same d here (every run paired), without the
        // subtraction: z sqrt(0.25 / 3).
        let bound = half_width_bound(&[&a0, &a1], &[&b0, &b1], 0.95).unwrap();
        let want = 1.959963984540054 * (0.25f64 / 3.0).sqrt();
        assert!((bound - want).abs() < 1e-15, "{bound} vs {want}");
        assert!(bound >= h);
    }

    /// When the two conditions differ only by the seed's noise (the same images favour
    /// neither), the estimate is floored at 0; the bound is not.
    #[test]
    fn pure_seed_noise_gives_zero() {
        // Deltas: seed 0 [+1, -1], seed 1 [-1, +1]: d = [0, 0], the seeds disagree everywhere.
        let a = [[1.0, 0.0], [0.0, 1.0]];
        let b = [[0.0, 1.0], [1.0, 0.0]];
        let h = half_width(&[&a[0], &a[1]], &[&b[0], &b[1]], 0.95).unwrap();
        assert_eq!(h, 0.0);
    }

    /// Against an independent computation, numpy 2 on the arrays below (2026-11-28):
    /// `D = a - b; d = D.mean(0); v = d.var(ddof=1) - D.var(0, ddof=1).mean() / 3;
    /// 1.959963984540054 * np.sqrt(max(v, 0) / 8)` = 0.18775378087684996 (v = 0.0734127).
    #[test]
    fn half_width_matches_numpy() {
        let a = [
            [0.0, 1.0, 1.0, 0.0, 2.0, 1.0, 0.0, 3.0],
            [1.0, 1.0, 0.0, 0.0, 2.0, 2.0, 0.0, 3.0],
            [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 2.0],
        ];
        let b = [
            [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
            [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0],
            [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 2.0],
        ];
        let ar: Vec<&[f64]> = a.iter().map(|r| &r[..]).collect();
        let br: Vec<&[f64]> = b.iter().map(|r| &r[..]).collect();
        let h = half_width(&ar, &br, 0.95).unwrap();
        assert!((h - 0.18775378087684996).abs() < 1e-15, "{h}");
    }

    /// The example of the module's first tests, two seeds over four images: per-seed
    /// differences (1, 0, 0, 0) and (1, 1, 0, -1), d = (1, .5, 0, -.5), var(d) = 1.25 / 3; the
    /// seeds' variances (0, .5, 0, .5) average .25, over 2 seeds 1/8; the bound from the first
    /// seed alone: d = (1, 0, 0, 0), var .25, z sqrt(.25 / 4).
    #[test]
    fn half_width_by_hand_over_four_images() {
        let (x0, x1) = ([1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]);
        let (y0, y1) = ([0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]);
        let z = 1.959963984540054;
        let h = half_width(&[&x0, &x1], &[&y0, &y1], 0.95).unwrap();
        assert!((h - z * ((1.25 / 3.0 - 0.125) / 4.0f64).sqrt()).abs() < 1e-15);
        let b = half_width_bound(&[&x0], &[&y0], 0.95).unwrap();
        assert!((b - z * 0.25).abs() < 1e-15);
    }

    /// A simulation: images with fixed expected values mu_x, mu_y, and runs that add the seeds'
    /// noise, of an image-dependent size and shared in part by the two conditions of a seed (the
    /// same initialisation and batch order). Over many draws of the runs, the mean of the
    /// estimate's variance `(h / z)^2 n` is the variance of `mu_x - mu_y` over the images; the
    /// variance of the per-image differences without the subtraction is larger by the seeds'
    /// share, and so is the bound's, the more so for runs of different seeds.
    #[test]
    fn the_estimate_removes_the_seeds_share() {
        let mut rng = crate::rng::Rng::new(11);
        let (n, draws, seeds) = (400, 300, 3);
        let mu_x: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mu_y: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let dmu: Vec<f64> = mu_x.iter().zip(&mu_y).map(|(a, b)| a - b).collect();
        let target = sample_variance(&dmu);
        let sigma: Vec<f64> = (0..n).map(|_| 0.5 + rng.uniform()).collect();
        let z = normal_quantile(0.975);
        let as_var = |h: f64| (h / z).powi(2) * n as f64;
        let (mut estimate, mut unsubtracted, mut same_seed, mut other_seeds) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..draws {
            let mut xs = vec![vec![0.0; n]; seeds];
            let mut ys = vec![vec![0.0; n]; seeds];
            for r in 0..seeds {
                for i in 0..n {
                    let shared = 0.6 * rng.normal();
                    xs[r][i] = mu_x[i] + sigma[i] * (shared + 0.8 * rng.normal());
                    ys[r][i] = mu_y[i] + sigma[i] * (shared + 0.8 * rng.normal());
                }
            }
            let xr: Vec<&[f64]> = xs.iter().map(|v| &v[..]).collect();
            let yr: Vec<&[f64]> = ys.iter().map(|v| &v[..]).collect();
            estimate += as_var(half_width(&xr, &yr, 0.95).unwrap());
            let d: Vec<f64> = (0..n)
                .map(|i| (0..seeds).map(|r| xs[r][i] - ys[r][i]).sum::<f64>() / seeds as f64)
                .collect();
            unsubtracted += sample_variance(&d);
            same_seed += as_var(half_width_bound(&xr[..1], &yr[..1], 0.95).unwrap());
            other_seeds += as_var(half_width_bound(&xr[..1], &yr[1..2], 0.95).unwrap());
        }
        let mean = |v: f64| v / draws as f64;
        // The standard error of the mean estimate is about 0.3% of the target here.
        assert!(
            (mean(estimate) / target - 1.0).abs() < 0.02,
            "{} vs {target}",
            mean(estimate)
        );
        assert!(mean(unsubtracted) > 1.2 * target);
        assert!(mean(same_seed) > 1.2 * target && mean(other_seeds) > mean(same_seed));
    }

    #[test]
    fn unusable_inputs_give_none() {
        let x = [0.0, 1.0];
        let short = [0.0];
        assert!(half_width(&[&x], &[&x], 0.95).is_none(), "one seed");
        assert!(half_width(&[&x, &x], &[&x], 0.95).is_none(), "unpaired");
        assert!(
            half_width(&[&x, &short], &[&x, &x], 0.95).is_none(),
            "lengths"
        );
        assert!(
            half_width(&[&short, &short], &[&short, &short], 0.95).is_none(),
            "one image"
        );
        assert!(half_width_bound(&[], &[&x], 0.95).is_none());
        assert!(half_width_bound(&[&[0.0, f64::NAN]], &[&x], 0.95).is_none());
    }

    #[test]
    fn widened_adds_in_quadrature() {
        assert_eq!(widened_half_width(3.0, 4.0), 5.0);
    }
}
