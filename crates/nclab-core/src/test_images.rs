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
//!
//! ```text
//! delta_ri = x_ri - y_ri = dmu_i + a_r + e_ri
//! ```
//!
//! image i's difference of the conditions' expected values, a shift that seed r gives every
//! image alike, and the seed's share at that image (mean 0). The difference the report gives is
//! `D = (1/n) sum_i d_i`, `d_i = (1/S) sum_r delta_ri`; a new sample of n images moves it by
//! `var_i(dmu_i) / n` in variance, while the seeds' share (`a_r` and `e_ri`) is in the seeds'
//! interval already. Over the images, `E[var_i(d_i)] = var_i(dmu_i) + sigma_e^2 / S` (the
//! shifts do not vary with i), and the residual mean square of the two-way layout (images x
//! seeds),
//!
//! ```text
//! MS_res = sum_{r,i} (delta_ri - d_i - delta_r + delta)^2 / ((n - 1)(S - 1))
//! ```
//!
//! (`delta_r` the mean of seed r over the images, `delta` the grand mean), estimates
//! `sigma_e^2` whatever the shifts. So the estimate is `var_i(d_i) - MS_res / S`, floored at 0,
//! and the half-width `z_{(1+level)/2} sqrt(var / n)` ([`half_width`]). It needs two seeds or
//! more. With fewer shared seeds, [`half_width_bound`] leaves the seeds' share in: larger in
//! expectation, though not on every data set. The two half-widths, seeds' and images', add in
//! quadrature ([`widened_half_width`]): the two sources are independent.
//!
//! This is the random-effects analysis of variance of a two-way layout without replication;
//! the test-set term is the one Bouthillier et al. 2021, *Accounting for variance in machine
//! learning benchmarks*, separate from the seeds' variation.

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
    let delta = |r: usize, i: usize| a[r][i] - b[r][i];
    // The seeds' means over the images, the images' means over the seeds, the grand mean.
    let by_seed: Vec<f64> = (0..seeds)
        .map(|r| (0..n).map(|i| delta(r, i)).sum::<f64>() / n as f64)
        .collect();
    let d: Vec<f64> = (0..n)
        .map(|i| (0..seeds).map(|r| delta(r, i)).sum::<f64>() / s)
        .collect();
    let grand = mean(&by_seed);
    let residual: f64 = (0..seeds)
        .flat_map(|r| (0..n).map(move |i| (r, i)))
        .map(|(r, i)| (delta(r, i) - d[i] - by_seed[r] + grand).powi(2))
        .sum();
    let ms_res = residual / ((n - 1) as f64 * (s - 1.0));
    let var = sample_variance(&d) - ms_res / s;
    Some(z(level) * (var.max(0.0) / n as f64).sqrt())
}

/// A bound of [`half_width`], larger in expectation, for conditions that share fewer than two
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

    /// Three seeds over eight images: condition A's values per seed ...
    const A: [[f64; 8]; 3] = [
        [0.0, 1.0, 1.0, 0.0, 2.0, 1.0, 0.0, 3.0],
        [1.0, 1.0, 0.0, 0.0, 2.0, 2.0, 0.0, 3.0],
        [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 2.0],
    ];
    /// ... and B's.
    const B: [[f64; 8]; 3] = [
        [0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0],
        [0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0],
        [1.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 2.0],
    ];

    fn rows<const N: usize>(m: &[[f64; N]]) -> Vec<&[f64]> {
        m.iter().map(|r| &r[..]).collect()
    }

    /// Against an independent computation, numpy 2 on [`A`] and [`B`] (2026-11-28):
    /// `D = a - b; S, n = D.shape; d = D.mean(0); res = D - d - D.mean(1)[:, None] + D.mean();
    /// v = d.var(ddof=1) - (res**2).sum() / ((n - 1) * (S - 1)) / S;
    /// 1.959963984540054 * np.sqrt(max(v, 0) / n)` = 0.15121450430978994 (v = 0.0476190).
    #[test]
    fn half_width_matches_numpy() {
        let h = half_width(&rows(&A), &rows(&B), 0.95).unwrap();
        assert!((h - 0.15121450430978994).abs() < 1e-15, "{h}");
    }

    /// Two seeds over four images: per-seed differences (1, 0, 0, 0) and (1, 1, 0, -1), d =
    /// (1, .5, 0, -.5), var(d) = 1.25 / 3. Both seeds average .25, so the residuals are the
    /// deviations from d: (0, -.5, 0, .5) and (0, .5, 0, -.5), sum of squares 1, over
    /// (4 - 1)(2 - 1) = 3 degrees of freedom: MS_res = 1/3, over 2 seeds 1/6; var = .25,
    /// half-width z sqrt(.25 / 4). The bound from the first seed alone: d = (1, 0, 0, 0), var .25,
    /// z sqrt(.25 / 4) too.
    #[test]
    fn half_width_by_hand_over_four_images() {
        let (x0, x1) = ([1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]);
        let (y0, y1) = ([0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]);
        let z = 1.959963984540054;
        let h = half_width(&[&x0, &x1], &[&y0, &y1], 0.95).unwrap();
        assert!((h - z * 0.25).abs() < 1e-15, "{h}");
        let b = half_width_bound(&[&x0], &[&y0], 0.95).unwrap();
        assert!((b - z * 0.25).abs() < 1e-15);
    }

    /// A seed that shifts every image alike (a_r in the module docs) is the seeds' share: adding
    /// a constant per seed to one condition's values leaves the estimate as it was.
    #[test]
    fn a_shift_per_seed_does_not_change_the_estimate() {
        let mut shifted = A;
        for (r, c) in shifted.iter_mut().zip([0.5, -2.0, 7.0]) {
            r.iter_mut().for_each(|v| *v += c);
        }
        let h = half_width(&rows(&A), &rows(&B), 0.95).unwrap();
        let g = half_width(&rows(&shifted), &rows(&B), 0.95).unwrap();
        assert!(h > 0.0 && (h - g).abs() < 1e-14 * h, "{h} vs {g}");
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
