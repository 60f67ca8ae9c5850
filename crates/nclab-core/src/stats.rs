//! Summary statistics and the tests used to compare conditions over seeds.
//!
//! Everything is f64. Functions that need a minimum number of samples return `None` below it
//! rather than invent a value (a report prints `n/a`).

/// Arithmetic mean `(1/n) sum x_i`; `NaN` for an empty slice.
pub fn mean(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().sum::<f64>() / x.len() as f64
}

/// Sample variance with the n-1 divisor, `sum (x_i - mean)^2 / (n-1)`; `NaN` when n < 2.
pub fn variance(x: &[f64]) -> f64 {
    if x.len() < 2 {
        return f64::NAN;
    }
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() - 1) as f64
}

/// Sample standard deviation with the n-1 divisor, `sqrt(variance(x))`; `NaN` when n < 2.
pub fn sd(x: &[f64]) -> f64 {
    variance(x).sqrt()
}

/// Ranks 1..n of `x`, ties sharing the average of the ranks they span (the "average" method).
/// E.g. `[10, 20, 20, 30]` gives `[1, 2.5, 2.5, 4]`. NaN values are not allowed (they sort last
/// and tie with each other).
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && x[order[j]] == x[order[i]] {
            j += 1;
        }
        // Positions i..j (0-based) hold equal values: ranks i+1..=j, average (i+1+j)/2.
        let avg = (i + 1 + j) as f64 / 2.0;
        for &k in &order[i..j] {
            r[k] = avg;
        }
        i = j;
    }
    r
}

/// Pearson correlation `sum (x-mx)(y-my) / sqrt(sum (x-mx)^2 sum (y-my)^2)`.
/// `NaN` when the lengths differ, n < 2, or either input is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    if x.len() != y.len() || x.len() < 2 {
        return f64::NAN;
    }
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman rank correlation: the Pearson correlation of the average ranks of `x` and `y`
/// (ties get the mean of the ranks they span, as in `scipy.stats.spearmanr`).
/// `NaN` when the lengths differ, n < 2, or either input is constant.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    if x.len() != y.len() {
        return f64::NAN;
    }
    pearson(&ranks(x), &ranks(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn mean_and_sd_by_hand() {
        // [2, 4, 4, 4, 5, 5, 7, 9]: mean 40/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32;
        // variance 32/7; sd sqrt(32/7) = 2.138089935299395.
        let x = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&x), 5.0);
        assert!(close(variance(&x), 32.0 / 7.0, 1e-15));
        assert!(close(sd(&x), 2.138_089_935_299_395, 1e-15));
        assert!(sd(&[1.0]).is_nan());
        assert!(mean(&[]).is_nan());
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 30.0]), vec![1.0, 2.5, 2.5, 4.0]);
        assert_eq!(ranks(&[3.0, 1.0, 2.0]), vec![3.0, 1.0, 2.0]);
        assert_eq!(ranks(&[5.0, 5.0, 5.0]), vec![2.0, 2.0, 2.0]);
    }

    #[test]
    fn spearman_without_ties_uses_d_squared_formula() {
        // No ties: rho = 1 - 6 sum d^2 / (n (n^2 - 1)).
        // x ranks [1,2,3,4,5], y = [2,1,4,3,5] ranks [2,1,4,3,5]: d = [-1,1,-1,1,0], sum d^2 = 4,
        // rho = 1 - 24/120 = 0.8.
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [20.0, 10.0, 40.0, 30.0, 50.0];
        assert!(close(spearman(&x, &y), 0.8, 1e-15));
        // Monotone but non-linear: exactly 1; reversed: exactly -1.
        let z: Vec<f64> = x.iter().map(|v: &f64| v.exp()).collect();
        assert!(close(spearman(&x, &z), 1.0, 1e-15));
        let r: Vec<f64> = x.iter().map(|v| -v * v * v).collect();
        assert!(close(spearman(&x, &r), -1.0, 1e-15));
    }

    #[test]
    fn spearman_with_ties_matches_hand_computation() {
        // x = [1, 2, 2, 3] -> ranks [1, 2.5, 2.5, 4], y = [1, 3, 2, 4] -> ranks [1, 3, 2, 4].
        // rx - 2.5 = [-1.5, 0, 0, 1.5]; ry - 2.5 = [-1.5, 0.5, -0.5, 1.5].
        // sxy = 2.25 + 0 + 0 + 2.25 = 4.5; sxx = 4.5; syy = 2.25+0.25+0.25+2.25 = 5.
        // rho = 4.5 / sqrt(4.5 * 5) = 0.9486832980505138 (scipy.stats.spearmanr gives the same).
        let rho = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]);
        assert!(close(rho, 4.5 / (22.5f64).sqrt(), 1e-15));
        assert!(close(rho, 0.948_683_298_050_513_8, 1e-15));
    }

    #[test]
    fn spearman_degenerate_inputs_are_nan() {
        assert!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
        assert!(spearman(&[1.0], &[1.0]).is_nan());
        assert!(spearman(&[1.0, 2.0], &[1.0]).is_nan());
    }
}
