//! Summary statistics and the tests used to compare conditions over seeds.
//!
//! Everything is f64. Functions that need a minimum number of samples return `None` below it
//! rather than invent a value (a report prints `n/a`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Arithmetic mean `(1/n) sum x_i`; `NaN` for an empty slice.
///
/// Evaluated as `x_0 + (1/n) sum (x_i - x_0)`, which is the same number in exact arithmetic
/// but returns `v` exactly when every value is `v` (a plain sum divided by n need not).
pub fn mean(x: &[f64]) -> f64 {
    let Some(&x0) = x.first() else {
        return f64::NAN;
    };
    x0 + x.iter().map(|v| v - x0).sum::<f64>() / x.len() as f64
}

/// Sample variance with the n-1 divisor, `sum (x_i - m)^2 / (n-1)` with `m` the mean; `NaN`
/// when n < 2; infinite when it exceeds f64 (not a wrong finite number).
///
/// Evaluated as `c^2 v` from [`scaled_variance`].
pub fn variance(x: &[f64]) -> f64 {
    let (c, v) = scaled_variance(x);
    c * c * v
}

/// Sample standard deviation with the n-1 divisor, `sqrt(variance(x))`; `NaN` when n < 2.
///
/// Evaluated as `c sqrt(v)` from [`scaled_variance`], so that values whose squares overflow
/// f64 (GNC2's Riesz energy reaches 1e201 and more at large d) still have a finite sd when it
/// is representable.
pub fn sd(x: &[f64]) -> f64 {
    let (c, v) = scaled_variance(x);
    c * v.sqrt()
}

/// `(c, v)` with `c` the power of two at or below `max |x_i|` (1 when that is 0 or not
/// finite) and `v` the sample variance
/// of `x / c`, so that `variance(x) = c^2 v` in exact arithmetic while no square overflows.
///
/// `v` uses the corrected two-pass form `(sum d_i^2 - (sum d_i)^2 / n) / (n-1)`, `d_i = y_i -
/// m`, `y = x / c`, whose second term cancels the rounding error of the mean `m` (so equal
/// values give exactly 0).
fn scaled_variance(x: &[f64]) -> (f64, f64) {
    if x.len() < 2 {
        return (1.0, f64::NAN);
    }
    let top = x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    // A power of two, so that x / c and the products with c are exact.
    let c = if top > 0.0 && top.is_finite() {
        2f64.powi(top.log2().floor() as i32)
    } else {
        1.0
    };
    let y: Vec<f64> = x.iter().map(|v| v / c).collect();
    let m = mean(&y);
    let n = y.len() as f64;
    let (mut ss, mut s) = (0.0, 0.0);
    for v in &y {
        let d = v - m;
        ss += d * d;
        s += d;
    }
    let v = (ss - s * s / n) / (n - 1.0);
    (c, if v.is_nan() { v } else { v.max(0.0) })
}

/// Ranks 1..n of `x`, ties sharing the average of the ranks they span (the "average" method).
/// E.g. `[10, 20, 20, 30]` gives `[1, 2.5, 2.5, 4]`; `-0.0` ties with `0.0`. NaN is not
/// allowed: a NaN ties with nothing, `-NaN` sorts first and `NaN` last, and which of several
/// NaNs gets which rank is not fixed.
///
/// The values are sorted with their positions beside them, by an unstable sort: the ranks of
/// values that are not NaN depend on the values alone, and sorting the pairs themselves
/// rather than indices into `x` keeps the comparisons in cache.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut sorted: Vec<(f64, usize)> = x.iter().copied().zip(0..).collect();
    sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        // Positions i..j (0-based) hold equal values: ranks i+1..=j, average (i+1+j)/2.
        let avg = (i + 1 + j) as f64 / 2.0;
        for &(_, k) in &sorted[i..j] {
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
/// `NaN` when the lengths differ, n < 2, either input is constant or holds a NaN.
///
/// Takes the values by value and drops each list once ranked, so that at most one list and
/// two rank lists are held at a time. When `y` takes few distinct values,
/// [`spearman_grouped`] needs no list beyond `x`, and its sums are exact.
pub fn spearman(x: Vec<f64>, y: Vec<f64>) -> f64 {
    if x.len() != y.len() || x.iter().chain(&y).any(|v| v.is_nan()) {
        return f64::NAN;
    }
    let x_ranks = ranks(&x);
    drop(x);
    let y_ranks = ranks(&y);
    drop(y);
    pearson(&x_ranks, &y_ranks)
}

/// The largest Spearman correlation any `x` without ties reaches against a `y` whose ties
/// come in groups of the sizes `ties` (`n = sum t` observations):
///
/// ```text
/// rho_max = sqrt( 1 - sum_g (t_g^3 - t_g) / (n^3 - n) )
/// ```
///
/// The ranks of such an `x` are a permutation of `1..n`; `y`'s average ranks are constant on
/// each tie, so the covariance is largest, and equal to the variance of `y`'s ranks, when `x`
/// ranks the ties in `y`'s order; the correlation is then the ratio of the two rank standard
/// deviations, whose squares are `(n^2 - 1) / 12` and that less the tie correction `sum (t^3 -
/// t) / (12 n)`. `1` without ties; `None` when n < 2 or every `y` is tied (no correlation). An
/// `x` with ties of its own can exceed it (ties matching `y`'s give 1).
pub fn spearman_ceiling(ties: &[u64]) -> Option<f64> {
    let n: u128 = ties.iter().map(|&t| u128::from(t)).sum();
    // t^3 - t, exact while it fits (n below about 7e12), else in floating point.
    let cube = |t: u128| t.checked_mul(t)?.checked_mul(t).map(|c| c - t);
    let exact = ties
        .iter()
        .try_fold(0u128, |acc, &t| acc.checked_add(cube(u128::from(t))?))
        .zip(cube(n));
    let share = match exact {
        _ if n < 2 => return None,
        Some((tied, all)) => (all - tied) as f64 / all as f64,
        None => {
            let n = n as f64;
            1.0 - ties
                .iter()
                .map(|&t| (t as f64 / n) * ((t as f64 / n).powi(2) - 1.0 / (n * n)))
                .sum::<f64>()
                / (1.0 - 1.0 / (n * n))
        }
    };
    (share > 0.0).then(|| share.sqrt())
}

/// [`spearman`] of `x` against `y` when `y` takes few distinct values, given grouped by them:
/// `groups[g] = (y_g, xs)` holds the `x` of every observation whose `y` is `y_g` (the `y_g`
/// need not be distinct nor sorted). The same correlation as `spearman` of the flattened
/// lists, but no list is held beyond `groups` (each group is sorted in place), and its sums
/// are exact.
///
/// With `n` observations, ranks are counted in halves: an observation whose tie spans
/// positions `a + 1 ..= a + t` has average rank `a + (t + 1) / 2`, so twice its centred rank,
/// `2 a + t - n`, is an integer, and
///
/// ```text
/// rho = sum_g cy_g Sx_g / sqrt( sum_ties t cx^2 * sum_g c_g cy_g^2 )
/// ```
///
/// with `cx`, `cy_g` twice the centred ranks of `x` and of `y_g`, `c_g` the size of group `g`
/// and `Sx_g` the sum of `cx` over group `g`. The three sums are exact integers (`i128`);
/// converting them to f64, their product, the square root and the division round, a few
/// units in the last place in all.
///
/// `NaN` when n < 2, either side is constant or holds a NaN.
pub fn spearman_grouped(mut groups: Vec<(f64, Vec<f64>)>) -> f64 {
    let n: usize = groups.iter().map(|(_, xs)| xs.len()).sum();
    let nan_in = |(y, xs): &(f64, Vec<f64>)| y.is_nan() || xs.iter().any(|x| x.is_nan());
    if n < 2 || groups.iter().any(nan_in) {
        return f64::NAN;
    }
    let (cy, syy) = group_ranks(&mut groups, n as i128);
    let (sx, sxx) = merged_ranks(&mut groups, n as i128);
    let sxy: i128 = sx.iter().zip(&cy).map(|(s, c)| s * c).sum();
    if sxx == 0 || syy == 0 {
        return f64::NAN;
    }
    sxy as f64 / ((sxx as f64) * (syy as f64)).sqrt()
}

/// The `y` side of [`spearman_grouped`]: sorts the groups by `y_g` and returns `cy_g`, twice
/// the centred average rank of `y_g` (groups of equal `y_g` tie), and `sum_g c_g cy_g^2`.
fn group_ranks(groups: &mut [(f64, Vec<f64>)], n: i128) -> (Vec<i128>, i128) {
    groups.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut cy = vec![0i128; groups.len()];
    let (mut before, mut syy) = (0i128, 0i128);
    let mut g = 0;
    while g < groups.len() {
        let run_end = (g..groups.len())
            .find(|&h| groups[h].0 != groups[g].0)
            .unwrap_or(groups.len());
        let t: i128 = groups[g..run_end]
            .iter()
            .map(|(_, xs)| xs.len() as i128)
            .sum();
        let centred = 2 * before + t - n;
        cy[g..run_end].fill(centred);
        syy += t * centred * centred;
        before += t;
        g = run_end;
    }
    (cy, syy)
}

/// The `x` side of [`spearman_grouped`]: sorts each group's `x`, merges the groups by a heap
/// of their smallest remaining values (`O(n log G)`), and returns per group `Sx_g`, the sum
/// of `cx` (twice the centred average rank) over its values, and `sum_ties t cx^2`.
fn merged_ranks(groups: &mut [(f64, Vec<f64>)], n: i128) -> (Vec<i128>, i128) {
    for (_, xs) in groups.iter_mut() {
        xs.sort_unstable_by(f64::total_cmp);
    }
    let groups = &*groups;
    let mut next = vec![0usize; groups.len()];
    let head = |g: usize, next: &[usize]| groups[g].1.get(next[g]).map(|&x| Reverse(Head(x, g)));
    let mut heads: BinaryHeap<Reverse<Head>> =
        (0..groups.len()).filter_map(|g| head(g, &next)).collect();
    let mut sx = vec![0i128; groups.len()];
    let (mut before, mut sxx) = (0i128, 0i128);
    let mut tie: Vec<(usize, i128)> = Vec::new();
    while let Some(Reverse(Head(x, first))) = heads.pop() {
        // The tie of `x`: every head equal to it (`-0.0` ties with `0.0`), each with the
        // values equal to it behind it in its group.
        tie.clear();
        let mut take = |g: usize, next: &mut [usize]| {
            let start = next[g];
            while groups[g].1.get(next[g]).is_some_and(|&v| v == x) {
                next[g] += 1;
            }
            tie.push((g, (next[g] - start) as i128));
        };
        take(first, &mut next);
        while let Some(&Reverse(Head(v, g))) = heads.peek() {
            if v != x {
                break;
            }
            heads.pop();
            take(g, &mut next);
        }
        let t: i128 = tie.iter().map(|&(_, c)| c).sum();
        let centred = 2 * before + t - n;
        sxx += t * centred * centred;
        for &(g, c) in &tie {
            sx[g] += c * centred;
            heads.extend(head(g, &next));
        }
        before += t;
    }
    (sx, sxx)
}

/// A group's smallest remaining value and the group, ordered by the value's total order
/// (`f64::total_cmp`), then the group; equal when that order says so (`-0.0` is not `0.0`
/// here, unlike under `==`).
#[derive(Clone, Copy, Debug)]
struct Head(f64, usize);

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// `ln Gamma(x)` for `x > 0`, by the Lanczos approximation (g = 7, 9 coefficients), with the
/// reflection formula below 0.5; relative error about 1e-15.
pub(crate) fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Gamma(x) Gamma(1-x) = pi / sin(pi x)
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised incomplete beta function
/// `I_x(a, b) = (1/B(a,b)) int_0^x t^(a-1) (1-t)^(b-1) dt`, for `a, b > 0`, `0 <= x <= 1`.
///
/// Evaluated with the continued fraction
/// `I_x(a,b) = x^a (1-x)^b / (a B(a,b)) * 1/(1+ d1/(1+ d2/(1+ ...)))`, with
/// `d_{2m+1} = -(a+m)(a+b+m) x / ((a+2m)(a+2m+1))` and `d_{2m} = m(b-m) x / ((a+2m-1)(a+2m))`,
/// summed by the modified Lentz method; it converges fast for `x < (a+1)/(a+b+2)`, otherwise
/// the symmetry `I_x(a,b) = 1 - I_{1-x}(b,a)` is used.
pub(crate) fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x.is_nan() || a <= 0.0 || b <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    if x > (a + 1.0) / (a + b + 2.0) {
        return 1.0 - incomplete_beta(b, a, 1.0 - x);
    }
    let ln_front = a * x.ln() + b * (1.0 - x).ln() - ln_beta(a, b) - a.ln();
    ln_front.exp() * beta_continued_fraction(a, b, x)
}

fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// `1/(1+ d1/(1+ d2/(1+ ...)))` of [`incomplete_beta`], by modified Lentz.
fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-15;
    let coef = |n: usize| {
        let m = (n / 2) as f64;
        if n % 2 == 1 {
            -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0))
        } else {
            m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m))
        }
    };
    // Lentz on f = 1/(1 + d1/(1 + d2/(1 + ...))): after the first level C = 1, D = 1/(1 + d1).
    let mut c = 1.0;
    let mut d = 1.0 / nonzero(1.0 + coef(1), TINY);
    let mut f = d;
    for n in 2..=10_000usize {
        let coef = coef(n);
        d = 1.0 / nonzero(1.0 + coef * d, TINY);
        c = nonzero(1.0 + coef / c, TINY);
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < EPS {
            break;
        }
    }
    f
}

fn nonzero(v: f64, tiny: f64) -> f64 {
    if v.abs() < tiny {
        tiny
    } else {
        v
    }
}

/// Cumulative distribution function of Student's t with `df > 0` degrees of freedom:
/// `P(T <= t) = 1 - I_{df/(df+t^2)}(df/2, 1/2) / 2` for `t >= 0`, and by symmetry for `t < 0`.
pub(crate) fn student_t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
    if t >= 0.0 {
        1.0 - tail
    } else {
        tail
    }
}

/// Two-sided p-value of a t statistic, `P(|T| >= |t|) = I_{df/(df+t^2)}(df/2, 1/2)`
/// (computed directly, not as `2 (1 - cdf)`, so that tiny p-values keep their precision).
pub(crate) fn student_t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
}

/// Quantile of Student's t: the `t` with `student_t_cdf(t, df) = p`, for `0 < p < 1`, found by
/// bisection on the monotone CDF (to about 1e-12 relative accuracy).
pub(crate) fn student_t_quantile(p: f64, df: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p < 0.5 {
        return -student_t_quantile(1.0 - p, df);
    }
    if p == 0.5 {
        return 0.0;
    }
    // Bracket: grow hi until cdf(hi) >= p.
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while student_t_cdf(hi, df) < p {
        lo = hi;
        hi *= 2.0;
        if hi > 1e300 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if student_t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// A t-test of a difference and its confidence interval: Welch's two-sample test of
/// `mean(a) - mean(b)` with unequal variances, or the paired test of `mean(a_i - b_i)`
/// (then `df = n - 1` and `se = sd(d)/sqrt(n)`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct WelchTest {
    /// `mean(a) - mean(b)`.
    pub diff: f64,
    /// Standard error `sqrt(s_a^2/n_a + s_b^2/n_b)` (sample variances with n-1).
    pub se: f64,
    /// `t = diff / se`.
    pub t: f64,
    /// Welch-Satterthwaite degrees of freedom
    /// `df = (v_a + v_b)^2 / (v_a^2/(n_a-1) + v_b^2/(n_b-1))`, `v = s^2/n`.
    pub df: f64,
    /// Two-sided p-value `P(|T_df| >= |t|)`.
    pub p: f64,
    /// Confidence interval `diff -+ t_{(1+level)/2, df} se`.
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Paired t-test of `mean(a_i - b_i)` (the pairs share an index, e.g. runs with the same
/// seed), with its `level` confidence interval: `d_i = a_i - b_i`, `se = sd(d) / sqrt(n)`,
/// `t = mean(d) / se`, `df = n - 1`. `None` with fewer than 2 pairs, slices of different
/// lengths, or differences without spread: `sd(d)` at most `1e-12 max_i(|a_i|, |b_i|)`, the
/// rounding of the subtractions (0.3 - 0.1 and 0.4 - 0.2 differ by 6e-17 in float64; their
/// "spread" would give t = 4e15 and p = 0 for differences that are equal).
pub fn paired_t_test(a: &[f64], b: &[f64], level: f64) -> Option<WelchTest> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len() as f64;
    let scale = a.iter().chain(b).fold(0.0f64, |m, v| m.max(v.abs()));
    let s = sd(&d);
    if s.is_nan() || s <= 1e-12 * scale || !s.is_finite() {
        return None;
    }
    let se = s / n.sqrt();
    let diff = mean(&d);
    let (t, df) = (diff / se, n - 1.0);
    let q = student_t_quantile(0.5 + level / 2.0, df);
    Some(WelchTest {
        diff,
        se,
        t,
        df,
        p: student_t_two_sided_p(t, df),
        ci_low: diff - q * se,
        ci_high: diff + q * se,
    })
}

/// Welch's t-test of `a` against `b` with a `level` (e.g. 0.95) confidence interval of the
/// difference of means. `None` when a side has fewer than 2 values or both variances are 0
/// (the statistic is undefined): a report prints `n/a`.
pub fn welch_t_test(a: &[f64], b: &[f64], level: f64) -> Option<WelchTest> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (va, vb) = (variance(a) / na, variance(b) / nb);
    let se2 = va + vb;
    if se2.is_nan() || se2 <= 0.0 || !se2.is_finite() {
        return None;
    }
    let diff = mean(a) - mean(b);
    let se = se2.sqrt();
    let t = diff / se;
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    let p = student_t_two_sided_p(t, df);
    let q = student_t_quantile(0.5 + level / 2.0, df);
    Some(WelchTest {
        diff,
        se,
        t,
        df,
        p,
        ci_low: diff - q * se,
        ci_high: diff + q * se,
    })
}

/// The mean of paired differences `d_i = a_i - b_i` with its `level` t interval: an effect size
/// that stays defined where the paired t-test is not (one pair: no interval; differences
/// without spread: a zero-width interval at their common value, which is what the t interval
/// `mean -+ t_{(1+level)/2, n-1} sd / sqrt(n)` gives with `sd = 0`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct PairedDifference {
    /// Number of pairs.
    pub n: usize,
    /// `mean(d)`.
    pub mean: f64,
    /// `sd(d)` with the n-1 divisor (`NaN` with one pair).
    pub sd: f64,
    /// The interval `mean -+ t_{(1+level)/2, n-1} sd / sqrt(n)` (`NaN` with one pair).
    pub ci_low: f64,
    pub ci_high: f64,
    /// The confidence level of the interval (e.g. 0.95).
    pub level: f64,
}

impl PairedDifference {
    /// The interval's bound on the side of harm: the largest worsening the interval still
    /// allows, so that "no worse than this" holds at the interval's confidence level (one-sided
    /// level `(1+level)/2`). `lower_is_better`: a rise is harm (errors, severities), so the upper
    /// bound; otherwise (accuracies) the lower bound. `NaN` when there is no interval.
    pub fn harm_bound(&self, lower_is_better: bool) -> f64 {
        if lower_is_better {
            self.ci_high
        } else {
            self.ci_low
        }
    }
}

/// [`PairedDifference`] of `a` against `b` (`a_i` and `b_i` a pair, e.g. runs with one seed).
/// `None` when the lengths differ, there is no pair, or a value is not finite.
pub fn paired_difference(a: &[f64], b: &[f64], level: f64) -> Option<PairedDifference> {
    if a.len() != b.len() || a.is_empty() || a.iter().chain(b).any(|v| !v.is_finite()) {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let n = d.len();
    let m = mean(&d);
    let s = sd(&d);
    let half = if n >= 2 {
        student_t_quantile(0.5 + level / 2.0, (n - 1) as f64) * s / (n as f64).sqrt()
    } else {
        f64::NAN
    };
    Some(PairedDifference {
        n,
        mean: m,
        sd: s,
        ci_low: m - half,
        ci_high: m + half,
        level,
    })
}

/// The geometric mean of paired ratios `r_i = a_i / b_i` with its `level` interval: the
/// [`paired_difference`] of `ln a_i - ln b_i`, exponentiated, so `ratio = exp(mean(ln r))` and
/// the interval `exp(mean(ln r) -+ t_{(1+level)/2, n-1} sd(ln r) / sqrt(n))`. For quantities
/// compared by factors rather than by differences (NC1 spans orders of magnitude during the
/// terminal phase).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct PairedRatio {
    /// Number of pairs.
    pub n: usize,
    /// `exp(mean(ln a_i - ln b_i))`.
    pub ratio: f64,
    /// The interval (`NaN` with one pair).
    pub ci_low: f64,
    pub ci_high: f64,
    /// The confidence level of the interval (e.g. 0.95).
    pub level: f64,
}

/// [`PairedRatio`] of two paired samples; `None` unless both have the same non-zero length
/// and every value is positive and finite.
pub fn paired_ratio(a: &[f64], b: &[f64], level: f64) -> Option<PairedRatio> {
    if a.iter().chain(b).any(|&v| !(v > 0.0 && v.is_finite())) {
        return None;
    }
    let ln = |v: &[f64]| v.iter().map(|x| x.ln()).collect::<Vec<f64>>();
    let d = paired_difference(&ln(a), &ln(b), level)?;
    Some(PairedRatio {
        n: d.n,
        ratio: d.mean.exp(),
        ci_low: d.ci_low.exp(),
        ci_high: d.ci_high.exp(),
        level,
    })
}

/// The exact sign-flip (paired permutation) test of paired differences.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct SignFlip {
    /// Number of differences.
    pub n: usize,
    /// Observed mean difference.
    pub mean: f64,
    /// Sign patterns enumerated, `2^n`.
    pub patterns: u64,
    /// Patterns whose `|mean|` is at least the observed `|mean|` (the observed one included).
    pub at_least: u64,
    /// Two-sided p-value `at_least / patterns`.
    pub p: f64,
}

/// The largest number of differences [`sign_flip_test`] enumerates exactly (`2^20` patterns).
pub const SIGN_FLIP_MAX_N: usize = 20;

/// Exact sign-flip permutation test of `d` (paired differences) against a distribution
/// symmetric about 0: under the null hypothesis each `d_i` is as likely as `-d_i`, so all `2^n`
/// sign patterns `s` are equally likely. Two-sided `p = #{s : |sum s_i d_i| >= |sum d_i| - tol}
/// / 2^n` with `tol = 1e-12 sum |d_i|`, a tolerance above the rounding of sums taken in another
/// order, so that patterns equal to the observed one in exact arithmetic count as ties (the
/// observed pattern counts itself, so `p >= 2 / 2^n` unless every `d_i` is 0, then `p = 1`).
/// Unlike the paired t-test it is defined for differences without spread: `n` equal non-zero
/// differences give `p = 2 / 2^n`. `None` when `d` is empty, longer than [`SIGN_FLIP_MAX_N`], or
/// holds a non-finite value.
pub fn sign_flip_test(d: &[f64]) -> Option<SignFlip> {
    let n = d.len();
    if n == 0 || n > SIGN_FLIP_MAX_N || d.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let observed: f64 = d.iter().sum::<f64>().abs();
    let scale: f64 = d.iter().map(|v| v.abs()).sum();
    let threshold = observed - 1e-12 * scale;
    // A pattern and its negation give the same |sum|: enumerate the patterns with the last
    // sign +, and count each twice.
    let half = 1u64 << (n - 1);
    let mut count = 0u64;
    for mask in 0..half {
        let mut s = 0.0;
        for (i, v) in d.iter().enumerate() {
            if mask >> i & 1 == 1 {
                s -= v;
            } else {
                s += v;
            }
        }
        if s.abs() >= threshold {
            count += 2;
        }
    }
    let patterns = half * 2;
    Some(SignFlip {
        n,
        mean: mean(d),
        patterns,
        at_least: count,
        p: count as f64 / patterns as f64,
    })
}

/// Holm's step-down adjusted p-values of a family, in the input's order:
/// with the `m` defined p-values sorted, `p_(1) <= ... <= p_(m)`,
/// `adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))`. Rejecting where `adj <= alpha` controls
/// the family-wise error rate at `alpha` under any dependence.
///
/// Undefined values: a `NaN` (or other non-finite) p-value is a comparison that could not be
/// tested; it stays `NaN` and is not counted in the family size `m`.
pub fn holm_adjust(p: &[f64]) -> Vec<f64> {
    let (order, m) = defined_order(p);
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        let v = ((m - rank) as f64 * p[i]).min(1.0);
        running = running.max(v);
        out[i] = running;
    }
    out
}

/// Benjamini-Hochberg adjusted p-values (q-values of the step-up procedure), in the input's
/// order: with the `m` defined p-values sorted, `adj_(i) = min_{j >= i} min(1, m p_(j) / j)`.
/// Rejecting where `adj <= alpha` controls the false discovery rate at `alpha` for independent
/// or positively dependent tests (as `scipy.stats.false_discovery_control(p, method='bh')`).
///
/// Undefined values as in [`holm_adjust`]: `NaN` stays `NaN` and is not counted in `m`.
pub fn benjamini_hochberg_adjust(p: &[f64]) -> Vec<f64> {
    let (order, m) = defined_order(p);
    let mut out = vec![f64::NAN; p.len()];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let v = (m as f64 * p[i] / (rank + 1) as f64).min(1.0);
        running = running.min(v);
        out[i] = running;
    }
    out
}

/// Indices of the finite values of `p` in increasing order of value (ties by index), and their
/// count.
fn defined_order(p: &[f64]) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    let m = order.len();
    (order, m)
}

/// Mann-Whitney U test of `a` against `b` (two-sided).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct MannWhitney {
    /// `U_a = R_a - n_a (n_a + 1) / 2`, `R_a` the sum of the average ranks of `a` in the pooled
    /// sample: the number of pairs (a_i, b_j) with a_i > b_j, ties counting 1/2.
    pub u: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Whether `p` is exact (all `C(n_a+n_b, n_a)` rank arrangements, no ties) or from the normal
    /// approximation with tie and continuity corrections.
    pub exact: bool,
}

/// Mann-Whitney U test. Without ties and with `n_a + n_b <= 40`, the exact two-sided p-value
/// `min(1, 2 min(P(U <= u), P(U >= u)))` from the exact null distribution of U (counted by the
/// recursion `N(u; m, n) = N(u - n; m - 1, n) + N(u; m, n - 1)`); otherwise the normal
/// approximation `z = (|U - n_a n_b / 2| - 1/2) / sigma` with
/// `sigma^2 = n_a n_b / 12 ((N+1) - sum(t^3 - t) / (N (N-1)))`, `N = n_a + n_b`, t the tie-group
/// sizes. `None` when a side is empty or every value is the same.
pub fn mann_whitney_u(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (na, nb) = (a.len(), b.len());
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let r = ranks(&pooled);
    let ra: f64 = r[..na].iter().sum();
    let u = ra - (na * (na + 1)) as f64 / 2.0;
    // Tie groups of the pooled sample.
    let mut sorted = pooled.clone();
    sorted.sort_by(|x, y| x.total_cmp(y));
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i + 1;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let n = (na + nb) as f64;
    if sorted[0] == sorted[sorted.len() - 1] {
        // Every value tied: the statistic carries no information.
        return None;
    }
    if tie_term == 0.0 && na + nb <= 40 {
        let counts = u_distribution(na, nb);
        let total: f64 = counts.iter().sum();
        // U is an integer without ties.
        let k = u.round() as usize;
        let below: f64 = counts[..=k].iter().sum::<f64>() / total;
        let above: f64 = counts[k..].iter().sum::<f64>() / total;
        let p = (2.0 * below.min(above)).min(1.0);
        return Some(MannWhitney { u, p, exact: true });
    }
    let mu = (na * nb) as f64 / 2.0;
    let var = (na * nb) as f64 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)));
    if var.is_nan() || var <= 0.0 {
        return Some(MannWhitney {
            u,
            p: 1.0,
            exact: false,
        });
    }
    let z = ((u - mu).abs() - 0.5).max(0.0) / var.sqrt();
    let p = erfc(z / std::f64::consts::SQRT_2).min(1.0);
    Some(MannWhitney { u, p, exact: false })
}

/// Number of arrangements giving each value `U = 0..=m n` of the Mann-Whitney statistic for
/// samples of sizes `m` and `n` without ties (`sum = C(m+n, m)`).
fn u_distribution(m: usize, n: usize) -> Vec<f64> {
    // table[i][j][u] over i <= m, j <= n: N(u; i, j) = N(u - j; i - 1, j) + N(u; i, j - 1)
    // (the largest of the i + j values belongs either to the first sample, which then beats all
    // j of the second, or to the second).
    let mut table = vec![vec![Vec::<f64>::new(); n + 1]; m + 1];
    // With an empty sample U is always 0: one arrangement.
    for row in table.iter_mut() {
        row[0] = vec![1.0];
    }
    for cell in table[0].iter_mut() {
        *cell = vec![1.0];
    }
    for i in 1..=m {
        for j in 1..=n {
            let mut v = vec![0.0; i * j + 1];
            for (u, slot) in v.iter_mut().enumerate() {
                let from_a = if u >= j {
                    table[i - 1][j].get(u - j).copied().unwrap_or(0.0)
                } else {
                    0.0
                };
                let from_b = table[i][j - 1].get(u).copied().unwrap_or(0.0);
                *slot = from_a + from_b;
            }
            table[i][j] = v;
        }
    }
    std::mem::take(&mut table[m][n])
}

/// Complementary error function `erfc(x) = 1 - erf(x)`, as the regularised upper incomplete
/// gamma function `Q(1/2, x^2)` for `x >= 0` (series of `P` below `x^2 < 1.5`, Lentz continued
/// fraction of `Q` above), and `erfc(-x) = 2 - erfc(x)`.
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    let a = 0.5;
    let y = x * x;
    if y < a + 1.0 {
        // Series: P(a, y) = e^-y y^a / Gamma(a+1) * sum_k y^k / ((a+1)...(a+k)).
        let mut term = 1.0 / a;
        let mut sum = term;
        for k in 1..500 {
            term *= y / (a + k as f64);
            sum += term;
            if term < sum * 1e-17 {
                break;
            }
        }
        1.0 - sum * (-y + a * y.ln() - ln_gamma(a)).exp()
    } else {
        // Continued fraction for Q(a, y) (modified Lentz).
        const TINY: f64 = 1e-300;
        let mut b = y + 1.0 - a;
        let mut c = 1.0 / TINY;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..500 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = nonzero(an * d + b, TINY);
            c = nonzero(b + an / c, TINY);
            d = 1.0 / d;
            let delta = d * c;
            h *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        (-y + a * y.ln() - ln_gamma(a)).exp() * h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sd_of_values_whose_squares_overflow() {
        // sd(1e201, 3e201) = sqrt(((-1e201)^2 + (1e201)^2) / 1) = sqrt(2) 1e201, although the
        // variance (2e402) is beyond f64.
        let s = sd(&[1e201, 3e201]);
        assert!(
            (s / (std::f64::consts::SQRT_2 * 1e201) - 1.0).abs() < 1e-15,
            "{s}"
        );
        assert!(variance(&[1e201, 3e201]).is_infinite());
        // Ordinary values are unchanged: sd(2, 4, 4, 4, 5, 5, 7, 9) = sqrt(32 / 7).
        let s = sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert!((s - (32.0f64 / 7.0).sqrt()).abs() < 1e-15);
        assert_eq!(sd(&[3.0, 3.0]), 0.0);
        assert!(sd(&[1.0]).is_nan());
    }

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
        // 0.1 + 0.1 + 0.1 = 0.30000000000000004 in f64, and /3 is not 0.1 again; the shifted
        // mean and corrected two-pass variance still give exactly 0.1 and 0.
        let same = [0.1, 0.1, 0.1];
        assert_eq!(mean(&same), 0.1);
        assert_eq!(variance(&same), 0.0);
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
        assert!(close(spearman(x.to_vec(), y.to_vec()), 0.8, 1e-15));
        // Monotone but non-linear: exactly 1; reversed: exactly -1.
        let z: Vec<f64> = x.iter().map(|v: &f64| v.exp()).collect();
        assert!(close(spearman(x.to_vec(), z.to_vec()), 1.0, 1e-15));
        let r: Vec<f64> = x.iter().map(|v| -v * v * v).collect();
        assert!(close(spearman(x.to_vec(), r.to_vec()), -1.0, 1e-15));
    }

    #[test]
    fn spearman_with_ties_matches_hand_computation() {
        // x = [1, 2, 2, 3] -> ranks [1, 2.5, 2.5, 4], y = [1, 3, 2, 4] -> ranks [1, 3, 2, 4].
        // rx - 2.5 = [-1.5, 0, 0, 1.5]; ry - 2.5 = [-1.5, 0.5, -0.5, 1.5].
        // sxy = 2.25 + 0 + 0 + 2.25 = 4.5; sxx = 4.5; syy = 2.25+0.25+0.25+2.25 = 5.
        // rho = 4.5 / sqrt(4.5 * 5) = 0.9486832980505138 (scipy.stats.spearmanr gives the same).
        let rho = spearman(vec![1.0, 2.0, 2.0, 3.0], vec![1.0, 3.0, 2.0, 4.0]);
        assert!(close(rho, 4.5 / (22.5f64).sqrt(), 1e-15));
        assert!(close(rho, 0.948_683_298_050_513_8, 1e-15));
    }

    #[test]
    fn spearman_degenerate_inputs_are_nan() {
        assert!(spearman(vec![1.0, 1.0, 1.0], vec![1.0, 2.0, 3.0]).is_nan());
        assert!(spearman(vec![1.0], vec![1.0]).is_nan());
        assert!(spearman(vec![1.0, 2.0], vec![1.0]).is_nan());
    }

    /// scipy.stats.spearmanr(x, y).statistic of the flattened groups (scipy 1.17.1):
    /// 0.07470330055620492. Ties in `x` within and across groups (2.5 three times, 1.0 twice,
    /// -0.0 with 0.0) and in `y` across groups (two groups at 0.5).
    #[test]
    fn spearman_ceiling_is_reached_by_the_best_untied_ranking() {
        // By hand: y = (0, 0, 1) has average ranks (1.5, 1.5, 3); x ranked (1, 2, 3) gives
        // centred products 0.5 + 0 + 1 = 1.5 over sqrt(1.5 * 2): sqrt(3) / 2.
        let hand = spearman(vec![1.0, 2.0, 3.0], vec![0.0, 0.0, 1.0]);
        assert!((hand - 3f64.sqrt() / 2.0).abs() < 1e-15);
        assert!((spearman_ceiling(&[2, 1]).unwrap() - hand).abs() < 1e-15);
        // 45 pairs (a 10-class tree's) in ties of 5, 13 and 27 at three distances: the
        // ceiling equals spearman of y against an x that lists the ties in y's order, and no
        // other x does better (every order of a shuffled x within the ties gives the same).
        let y: Vec<f64> = [(1.0, 5), (2.0, 13), (3.0, 27)]
            .iter()
            .flat_map(|&(v, t)| std::iter::repeat_n(v, t))
            .collect();
        let x: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
        let best = spearman(x.clone(), y.clone());
        let ceiling = spearman_ceiling(&[5, 13, 27]).unwrap();
        assert!((best - ceiling).abs() < 1e-14, "{best} vs {ceiling}");
        let mut worse = x;
        worse.swap(4, 5); // one pair across two ties out of order
        assert!(spearman(worse, y) < ceiling);
        // No ties: 1; every value tied, or fewer than two: none.
        assert_eq!(spearman_ceiling(&[1, 1, 1, 1]), Some(1.0));
        assert_eq!(spearman_ceiling(&[4]), None);
        assert_eq!(spearman_ceiling(&[1]), None);
        assert_eq!(spearman_ceiling(&[]), None);
        // Beyond u128's cubes (n = 2e13), the floating-point route: ties of 1e13 and 1e13 give
        // 1 - 2 (t^3 - t) / (n^3 - n) = 1 - 2/8 (to about 1e-26), sqrt(3) / 2.
        let big = spearman_ceiling(&[10_000_000_000_000, 10_000_000_000_000]).unwrap();
        assert!((big - 3f64.sqrt() / 2.0).abs() < 1e-15, "{big}");
    }

    #[test]
    fn spearman_grouped_matches_scipy() {
        let groups = vec![
            (0.5, vec![3.0, -1.0, 0.0, 2.5]),
            (-1.0, vec![-0.0, 7.0, 2.5]),
            (0.5, vec![1.0, 1.0]),
            (2.0, vec![9.0, -4.0, 2.5, 0.25, 8.0]),
        ];
        let (x, y): (Vec<f64>, Vec<f64>) = groups
            .iter()
            .flat_map(|(y, xs)| xs.iter().map(move |&x| (x, *y)))
            .unzip();
        let scipy = 0.074_703_300_556_204_92;
        assert!(close(spearman_grouped(groups), scipy, 1e-16));
        assert!(close(spearman(x, y), scipy, 1e-15));
    }

    /// On random groups with many ties (x on a grid of 0.25 around 0, so -0.0 and 0.0 both
    /// occur), the grouped form gives the correlation of the flattened lists.
    #[test]
    fn spearman_grouped_equals_spearman_of_the_lists() {
        let mut rng = crate::rng::Rng::new(7);
        for case in 0..50 {
            let num_groups = 1 + rng.below(6) as usize;
            let groups: Vec<(f64, Vec<f64>)> = (0..num_groups)
                .map(|_| {
                    let y = rng.below(4) as f64;
                    let size = rng.below(40) as usize;
                    let xs = (0..size)
                        .map(|_| (rng.normal() * 4.0).round() / 4.0 * (case % 3) as f64)
                        .collect();
                    (y, xs)
                })
                .collect();
            let (x, y): (Vec<f64>, Vec<f64>) = groups
                .iter()
                .flat_map(|(y, xs)| xs.iter().map(move |&x| (x, *y)))
                .unzip();
            let (grouped, lists) = (spearman_grouped(groups), spearman(x, y));
            assert!(
                close(grouped, lists, 1e-14) || (grouped.is_nan() && lists.is_nan()),
                "case {case}: {grouped} vs {lists}"
            );
        }
    }

    #[test]
    fn spearman_grouped_degenerate_inputs_are_nan() {
        // One observation; one value of y (one group, or two groups at the same y); constant x;
        // a NaN in x or in y.
        assert!(spearman_grouped(vec![(1.0, vec![2.0])]).is_nan());
        assert!(spearman_grouped(vec![(1.0, vec![2.0, 3.0])]).is_nan());
        assert!(spearman_grouped(vec![(1.0, vec![2.0]), (1.0, vec![3.0])]).is_nan());
        assert!(spearman_grouped(vec![(1.0, vec![2.0]), (0.0, vec![2.0])]).is_nan());
        assert!(spearman_grouped(vec![(1.0, vec![f64::NAN]), (0.0, vec![2.0])]).is_nan());
        assert!(spearman_grouped(vec![(f64::NAN, vec![1.0]), (0.0, vec![2.0])]).is_nan());
        assert!(spearman(vec![f64::NAN, 1.0, 2.0], vec![1.0, 2.0, 3.0]).is_nan());
        // Two observations in two groups: +-1 exactly.
        assert_eq!(
            spearman_grouped(vec![(1.0, vec![2.0]), (0.0, vec![1.0])]),
            1.0
        );
        assert_eq!(
            spearman_grouped(vec![(1.0, vec![1.0]), (0.0, vec![2.0])]),
            -1.0
        );
    }

    // Reference values below were computed independently with mpmath 1.3.0 at 30 digits
    // (mpmath.betainc(..., regularized=True), mpmath.loggamma, mpmath.erfc, mpmath.findroot on
    // the t CDF), or by closed forms worked out in the comments.

    #[test]
    fn ln_gamma_matches_known_values() {
        // Gamma(5) = 24, Gamma(1/2) = sqrt(pi).
        assert!(close(ln_gamma(5.0), 24f64.ln(), 1e-13));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-13
        ));
        assert!(close(ln_gamma(0.1), 2.252_712_651_734_206, 1e-13));
        assert!(close(ln_gamma(50.5), 146.519_255_490_720_6, 1e-11));
    }

    #[test]
    fn incomplete_beta_matches_closed_form_and_mpmath() {
        // I_x(2,3) = sum_{j=2}^{4} C(4,j) x^j (1-x)^(4-j); at x = 0.4:
        // 6 * 0.16 * 0.36 + 4 * 0.064 * 0.6 + 0.0256 = 0.3456 + 0.1536 + 0.0256 = 0.5248.
        assert!(close(incomplete_beta(2.0, 3.0, 0.4), 0.5248, 1e-14));
        assert!(close(
            incomplete_beta(0.5, 7.5, 0.3),
            0.977_153_386_842_315_4,
            1e-13
        ));
        assert!(close(
            incomplete_beta(10.0, 3.5, 0.9),
            0.937_301_337_500_076_2,
            1e-13
        ));
        assert_eq!(incomplete_beta(2.0, 3.0, 0.0), 0.0);
        assert_eq!(incomplete_beta(2.0, 3.0, 1.0), 1.0);
        assert!(incomplete_beta(-1.0, 3.0, 0.5).is_nan());
    }

    #[test]
    fn t_cdf_matches_closed_forms_for_one_and_two_df() {
        // df = 1 is the Cauchy distribution: F(t) = 1/2 + atan(t)/pi.
        // df = 2: F(t) = 1/2 + t / (2 sqrt(2 + t^2)).
        for t in [-30.0, -2.0, -0.3, 0.0, 0.7, 4.0, 100.0] {
            let cauchy = 0.5 + f64::atan(t) / std::f64::consts::PI;
            assert!(close(student_t_cdf(t, 1.0), cauchy, 1e-14), "t = {t}");
            let two = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
            assert!(close(student_t_cdf(t, 2.0), two, 1e-14), "t = {t}");
        }
        assert!(close(
            student_t_cdf(2.5, 7.3),
            0.980_174_882_667_199_8,
            1e-13
        ));
        assert!(close(
            student_t_cdf(-1.2, 30.0),
            0.119_765_175_444_831_2,
            1e-13
        ));
        // Two-sided p = 2 (1 - F(|t|)).
        assert!(close(
            student_t_two_sided_p(2.5, 7.3),
            2.0 * (1.0 - 0.980_174_882_667_199_8),
            1e-13
        ));
    }

    #[test]
    fn t_quantiles_match_tables() {
        // df = 1: t_0.975 = tan(0.475 pi) = 12.706204736174698 (the classic table value 12.706).
        assert!(close(
            student_t_quantile(0.975, 1.0),
            (0.475 * std::f64::consts::PI).tan(),
            1e-9
        ));
        // Published two-sided 95% critical values: 3.182 (3 df), 2.042 (30 df); mpmath digits.
        assert!(close(
            student_t_quantile(0.975, 3.0),
            3.182_446_305_283_71,
            1e-10
        ));
        assert!(close(
            student_t_quantile(0.975, 30.0),
            2.042_272_456_301_238,
            1e-10
        ));
        assert!(close(
            student_t_quantile(0.975, 7.3),
            2.345_066_736_547_704,
            1e-10
        ));
        assert!(close(
            student_t_quantile(0.025, 7.3),
            -2.345_066_736_547_704,
            1e-10
        ));
        assert!(student_t_quantile(1.0, 3.0).is_nan());
    }

    #[test]
    fn welch_matches_independent_computation() {
        // a: mean 0.1425, var 0.001225; b: mean 0.31, var 0.0016. mpmath gives:
        let a = [0.12, 0.15, 0.11, 0.19];
        let b = [0.31, 0.27, 0.35];
        let w = welch_t_test(&a, &b, 0.95).unwrap();
        assert!(close(w.diff, -0.1675, 1e-14));
        assert!(close(w.t, -5.724_196_306_702_3, 1e-10));
        assert!(close(w.df, 4.142_623_580_671_797, 1e-10));
        assert!(close(w.p, 0.004_140_968_743_340_309, 1e-12));
        assert!(close(w.ci_low, -0.247_652_328_650_410_7, 1e-10));
        assert!(close(w.ci_high, -0.087_347_671_349_589_29, 1e-10));
    }

    #[test]
    fn welch_needs_two_values_a_side_and_some_spread() {
        assert!(welch_t_test(&[1.0], &[1.0, 2.0], 0.95).is_none());
        assert!(welch_t_test(&[1.0, 1.0], &[2.0, 2.0], 0.95).is_none());
        // Equal values whose naive mean is off by rounding are still "no spread".
        assert!(welch_t_test(&[0.1, 0.1, 0.1], &[0.7, 0.7, 0.7], 0.95).is_none());
        // Equal means: t = 0, p = 1, a symmetric interval.
        let w = welch_t_test(&[1.0, 3.0], &[0.0, 4.0], 0.95).unwrap();
        assert_eq!(w.t, 0.0);
        assert!(close(w.p, 1.0, 1e-14));
        assert!(close(w.ci_low, -w.ci_high, 1e-12));
    }

    #[test]
    fn mann_whitney_exact_small_samples() {
        // [1,2,3] vs [4,5,6]: U = 0, the most extreme of C(6,3) = 20 arrangements on each
        // side, p = 2 / 20 = 0.1.
        let m = mann_whitney_u(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert_eq!(m.u, 0.0);
        assert!(m.exact);
        assert!(close(m.p, 0.1, 1e-15));
        // 2 vs 2: C(4,2) = 6, the smallest attainable p is 2/6.
        let m = mann_whitney_u(&[3.0, 4.0], &[1.0, 2.0]).unwrap();
        assert_eq!(m.u, 4.0);
        assert!(close(m.p, 1.0 / 3.0, 1e-15));
        // [1,4] vs [2,3]: U = 2 (1 beats none, 4 beats both) = the median: p = 1.
        // U distribution for 2x2 is counts [1,1,2,1,1]: P(U <= 2) = 4/6, so p = min(1, 8/6) = 1.
        let m = mann_whitney_u(&[1.0, 4.0], &[2.0, 3.0]).unwrap();
        assert_eq!(m.u, 2.0);
        assert_eq!(m.p, 1.0);
        // [1,3,5] vs [2,4]: U = 0 + 1 + 2 = 3 of 6; counts for 3x2 are [1,1,2,2,2,1,1] (sum 10):
        // P(U >= 3) = 6/10, P(U <= 3) = 6/10, p = 1.
        let m = mann_whitney_u(&[1.0, 3.0, 5.0], &[2.0, 4.0]).unwrap();
        assert_eq!(m.u, 3.0);
        assert_eq!(m.p, 1.0);
        assert_eq!(
            u_distribution(3, 2),
            vec![1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0]
        );
        assert!(mann_whitney_u(&[], &[1.0]).is_none());
        assert!(mann_whitney_u(&[1.0, 1.0, 1.0], &[1.0, 1.0, 1.0]).is_none());
    }

    #[test]
    fn mann_whitney_normal_with_ties_matches_mpmath() {
        let a = [1.0, 2.0, 2.0, 3.0, 5.0, 8.0, 9.0, 9.0, 10.0, 4.0, 4.0, 6.0];
        let b = [7.0, 7.0, 11.0, 12.0, 2.0, 13.0, 14.0, 9.0, 15.0, 16.0, 3.0];
        let m = mann_whitney_u(&a, &b).unwrap();
        assert!(!m.exact);
        assert_eq!(m.u, 28.5);
        assert!(close(m.p, 0.022_406_467_455_193_7, 1e-12));
    }

    #[test]
    fn erfc_matches_mpmath() {
        assert!(close(erfc(0.3), 0.671_373_240_540_872_6, 1e-14));
        assert!(close(erfc(2.7), 1.343_327_399_405_242e-4, 1e-17));
        assert!(close(erfc(-0.3), 2.0 - 0.671_373_240_540_872_6, 1e-14));
        assert_eq!(erfc(0.0), 1.0);
    }

    /// Hand-computed: d = (1, 1.5, 2), mean 1.5, sd 0.5, se = 0.5/sqrt(3), t = sqrt(27),
    /// df = 2. For df = 2 the t distribution has closed forms: two-sided p = 1 - t/sqrt(2 + t^2)
    /// = 1 - sqrt(27/29), and the quantile at q is (2q - 1)/sqrt(2q(1 - q)).
    #[test]
    fn paired_t_test_matches_the_closed_forms_of_two_degrees_of_freedom() {
        let r = paired_t_test(&[1.0, 2.0, 4.0], &[0.0, 0.5, 2.0], 0.95).unwrap();
        let se = 0.5 / 3f64.sqrt();
        assert!((r.diff - 1.5).abs() < 1e-15);
        assert!((r.se - se).abs() < 1e-15);
        assert!((r.t - 27f64.sqrt()).abs() < 1e-12);
        assert_eq!(r.df, 2.0);
        assert!(
            (r.p - (1.0 - (27.0f64 / 29.0).sqrt())).abs() < 1e-10,
            "{}",
            r.p
        );
        let q = 0.95 / (2.0f64 * 0.975 * 0.025).sqrt();
        assert!((r.ci_low - (1.5 - q * se)).abs() < 1e-9);
        assert!((r.ci_high - (1.5 + q * se)).abs() < 1e-9);
        // A constant shift has no spread; unequal lengths or one pair are refused.
        assert!(paired_t_test(&[1.0, 2.0], &[0.0, 1.0], 0.95).is_none());
        assert!(paired_t_test(&[1.0, 2.0], &[0.0], 0.95).is_none());
        assert!(paired_t_test(&[1.0], &[0.0], 0.95).is_none());
    }

    // The reference values of the tests below were computed with scipy 1.17.1 and statsmodels
    // 0.15.0 (Python 3.11), outside this repository.

    fn all_close(got: &[f64], want: &[f64], tol: f64) {
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g.is_nan() && w.is_nan()) || close(*g, *w, tol),
                "[{i}]: {g} vs {w}"
            );
        }
    }

    /// A family of 7 p-values and its adjustments by the references: BH by
    /// `scipy.stats.false_discovery_control(FAMILY, method='bh')`, Holm by
    /// `statsmodels.stats.multitest.multipletests(FAMILY, method='holm')[1]`.
    const FAMILY: [f64; 7] = [0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.04];
    const FAMILY_BH: [f64; 7] = [
        0.035,
        0.056,
        0.056,
        0.035,
        0.233_333_333_333_333_36,
        0.5,
        0.056,
    ];
    const FAMILY_HOLM: [f64; 7] = [0.06, 0.16, 0.15, 0.035, 0.4, 0.5, 0.16];

    #[test]
    fn benjamini_hochberg_matches_scipy() {
        all_close(&benjamini_hochberg_adjust(&FAMILY), &FAMILY_BH, 1e-15);
        // scipy.stats.false_discovery_control([0.001, 0.0101, 0.0102, 0.9, 1.0, 0.0499, 0.03,
        //     0.7, 0.02, 0.06, 0.06], method='bh')
        let p = [
            0.001, 0.0101, 0.0102, 0.9, 1.0, 0.0499, 0.03, 0.7, 0.02, 0.06, 0.06,
        ];
        let want = [
            0.011,
            0.0374,
            0.0374,
            0.990_000_000_000_000_1,
            1.0,
            0.082_499_999_999_999_99,
            0.066,
            0.855_555_555_555_555_6,
            0.055,
            0.082_499_999_999_999_99,
            0.082_499_999_999_999_99,
        ];
        all_close(&benjamini_hochberg_adjust(&p), &want, 1e-15);
    }

    #[test]
    fn holm_matches_statsmodels_and_a_hand_computation() {
        // FAMILY_HOLM by hand (m = 7): sorted 0.005 x 7 = 0.035, 0.01 x 6 = 0.06,
        // 0.03 x 5 = 0.15, 0.04 x 4 = 0.16, 0.04 x 3 = 0.12 -> max 0.16, 0.2 x 2 = 0.4, 0.5 x 1.
        all_close(&holm_adjust(&FAMILY), &FAMILY_HOLM, 1e-15);
        // multipletests([0.001, 0.0101, 0.0102, 0.9, 1.0, 0.0499, 0.03, 0.7, 0.02, 0.06, 0.06],
        //     method='holm')[1]
        let p = [
            0.001, 0.0101, 0.0102, 0.9, 1.0, 0.0499, 0.03, 0.7, 0.02, 0.06, 0.06,
        ];
        let want = [
            0.011, 0.101, 0.101, 1.0, 1.0, 0.2994, 0.21, 1.0, 0.16, 0.3, 0.3,
        ];
        all_close(&holm_adjust(&p), &want, 1e-15);
    }

    #[test]
    fn adjustments_leave_undefined_p_values_out_of_the_family() {
        // The NaN is neither adjusted nor counted: the others are adjusted as a family of 7,
        // the same numbers as without it.
        let p = [0.01, 0.04, f64::NAN, 0.03, 0.005, 0.2, 0.5, 0.04];
        let bh = benjamini_hochberg_adjust(&p);
        let holm = holm_adjust(&p);
        assert!(bh[2].is_nan() && holm[2].is_nan());
        let without = |v: &[f64]| -> Vec<f64> {
            v.iter()
                .enumerate()
                .filter(|&(i, _)| i != 2)
                .map(|(_, x)| *x)
                .collect()
        };
        all_close(&without(&bh), &FAMILY_BH, 1e-15);
        all_close(&without(&holm), &FAMILY_HOLM, 1e-15);
        // Empty and all-undefined families.
        assert!(holm_adjust(&[]).is_empty());
        assert!(benjamini_hochberg_adjust(&[f64::NAN])[0].is_nan());
        // One test: unchanged.
        assert_eq!(holm_adjust(&[0.03]), vec![0.03]);
        assert_eq!(benjamini_hochberg_adjust(&[0.03]), vec![0.03]);
    }

    #[test]
    fn sign_flip_by_hand() {
        // d = (1, 2, 3): of the 8 sums +-1 +-2 +-3 only +-6 reach |6|: p = 2/8.
        let s = sign_flip_test(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.patterns, s.at_least, s.p), (8, 2, 0.25));
        assert_eq!(s.mean, 2.0);
        // A constant difference (the paired t-test is undefined): p = 2/2^n.
        assert!(paired_t_test(&[1.5, 2.5, 3.5], &[1.0, 2.0, 3.0], 0.95).is_none());
        let s = sign_flip_test(&[0.5, 0.5, 0.5]).unwrap();
        assert_eq!(s.p, 0.25);
        assert_eq!(sign_flip_test(&[0.1; 4]).unwrap().p, 0.125);
        // d = (2, 1, 1): sums 4, 2, 2, 0 and their negatives; |sum| >= 4 twice: 2/8.
        assert_eq!(sign_flip_test(&[2.0, 1.0, 1.0]).unwrap().p, 0.25);
        // d = (1, 2, -4): |sum| = 1, and every sum of +-1 +-2 +-4 is odd: all 8 reach it.
        assert_eq!(sign_flip_test(&[1.0, 2.0, -4.0]).unwrap().p, 1.0);
        // d = (3, 1, -1, 1), observed sum 4. With +3 the three +-1 add up to 3, 1, -1, -3 in
        // 1, 3, 3, 1 ways: sums 6, 4, 2, 0, of which 1 + 3 reach |4|; the same with -3: 8 of 16.
        let s = sign_flip_test(&[3.0, 1.0, -1.0, 1.0]).unwrap();
        assert_eq!((s.at_least, s.p), (8, 0.5));
        // No difference at all, or differences that cancel: p = 1.
        assert_eq!(sign_flip_test(&[0.0, 0.0]).unwrap().p, 1.0);
        assert_eq!(sign_flip_test(&[1.0, -1.0]).unwrap().p, 1.0);
        // Equal to the observed sum only in exact arithmetic: 0.1 + 0.2 - 0.3 is 5.6e-17 in
        // f64, and the tolerance counts every pattern as at least as extreme.
        assert_eq!(sign_flip_test(&[0.1, 0.2, -0.3]).unwrap().p, 1.0);
        assert!(sign_flip_test(&[]).is_none());
        assert!(sign_flip_test(&[1.0, f64::NAN]).is_none());
        assert!(sign_flip_test(&[1.0; 21]).is_none());
    }

    /// scipy.stats.permutation_test((x, y), lambda a, b, axis: np.mean(a - b, axis=axis),
    /// permutation_type='samples', alternative='two-sided', n_resamples=np.inf), confirmed by an
    /// explicit enumeration of the 2^n sign patterns (itertools.product([1, -1], repeat=n)).
    #[test]
    fn sign_flip_matches_scipy_permutation_test() {
        let diff =
            |x: &[f64], y: &[f64]| -> Vec<f64> { x.iter().zip(y).map(|(a, b)| a - b).collect() };
        let x = [0.112, 0.095, 0.131, 0.104, 0.120, 0.099];
        let y = [0.101, 0.097, 0.118, 0.090, 0.121, 0.087];
        let s = sign_flip_test(&diff(&x, &y)).unwrap();
        assert_eq!((s.at_least, s.patterns), (8, 64));
        assert_eq!(s.p, 0.125);
        assert!(close(s.mean, 0.007_833_333_333_333_336, 1e-15));
        let x = [1.3, 0.2, 2.9, 1.1, 0.4, 1.7, 2.2, 0.9, 1.5, 0.8];
        let y = [0.7, 0.5, 1.1, 1.4, 0.1, 0.6, 1.9, 1.0, 0.2, 0.3];
        let s = sign_flip_test(&diff(&x, &y)).unwrap();
        assert_eq!((s.at_least, s.patterns, s.p), (52, 1024, 0.050_781_25));
        let x = [3.1, 2.7, 4.0, 3.3, 2.9, 3.8, 3.5, 3.0, 2.6, 3.9, 3.4, 3.2];
        let y = [3.0, 2.9, 3.6, 3.4, 2.5, 3.3, 3.6, 2.8, 2.7, 3.5, 3.0, 3.3];
        let s = sign_flip_test(&diff(&x, &y)).unwrap();
        assert_eq!((s.at_least, s.patterns, s.p), (376, 4096, 0.091_796_875));
        // 20 differences (2^20 patterns), np.round(default_rng(7).normal(0.3, 1, 20), 3).
        let d = [
            0.301, 0.599, 0.026, -0.591, -0.155, -0.692, 0.36, 1.64, -0.192, -0.32, 0.79, 0.657,
            0.405, -0.63, 0.271, 0.995, -1.044, -0.158, -1.601, -0.99,
        ];
        let s = sign_flip_test(&d).unwrap();
        assert_eq!((s.at_least, s.patterns), (970_952, 1_048_576));
        assert_eq!(s.p, 0.925_971_984_863_281_2);
    }

    /// scipy.stats.ttest_rel(x, y).confidence_interval(0.95) (and .statistic, .pvalue, against
    /// paired_t_test).
    /// x, y, then scipy's interval (low, high), t and p.
    type PairedCase<'a> = (&'a [f64], &'a [f64], f64, f64, f64, f64);

    #[test]
    fn paired_difference_interval_matches_scipy_ttest_rel() {
        let cases: [PairedCase; 3] = [
            (
                &[0.112, 0.095, 0.131, 0.104, 0.120, 0.099],
                &[0.101, 0.097, 0.118, 0.090, 0.121, 0.087],
                0.000_166_944_407_603_665_7,
                0.015_499_722_259_063_008,
                2.626_559_202_021_519_4,
                0.046_726_653_105_639_23,
            ),
            (
                &[1.3, 0.2, 2.9, 1.1, 0.4, 1.7, 2.2, 0.9, 1.5, 0.8],
                &[0.7, 0.5, 1.1, 1.4, 0.1, 0.6, 1.9, 1.0, 0.2, 0.3],
                0.018_909_635_462_116_99,
                1.021_090_364_537_883,
                2.347_524_135_172_5,
                0.043_481_079_673_054,
            ),
            (
                &[3.1, 2.7, 4.0, 3.3, 2.9, 3.8, 3.5, 3.0, 2.6, 3.9, 3.4, 3.2],
                &[3.0, 2.9, 3.6, 3.4, 2.5, 3.3, 3.6, 2.8, 2.7, 3.5, 3.0, 3.3],
                -0.015_905_498_753_733_51,
                0.315_905_498_753_733_5,
                1.989_974_874_213_240_8,
                0.072_029_887_657_552_82,
            ),
        ];
        for (x, y, low, high, t, p) in cases {
            let d = paired_difference(x, y, 0.95).unwrap();
            assert!(close(d.ci_low, low, 1e-10), "{} vs {low}", d.ci_low);
            assert!(close(d.ci_high, high, 1e-10), "{} vs {high}", d.ci_high);
            let test = paired_t_test(x, y, 0.95).unwrap();
            assert!(close(test.t, t, 1e-10));
            assert!(close(test.p, p, 1e-12));
            assert!(close(test.ci_low, d.ci_low, 1e-14));
            // Lower is better (an error): harm is a rise, bounded by the upper end.
            assert_eq!(d.harm_bound(true), d.ci_high);
            assert_eq!(d.harm_bound(false), d.ci_low);
        }
        // No spread: the interval shrinks to the common difference; one pair: no interval.
        let d = paired_difference(&[1.5, 2.5, 3.5], &[1.0, 2.0, 3.0], 0.95).unwrap();
        assert_eq!((d.mean, d.ci_low, d.ci_high), (0.5, 0.5, 0.5));
        let d = paired_difference(&[2.0], &[1.0], 0.95).unwrap();
        assert_eq!(d.mean, 1.0);
        assert!(d.ci_low.is_nan() && d.harm_bound(true).is_nan());
        assert!(paired_difference(&[1.0], &[1.0, 2.0], 0.95).is_none());
        assert!(paired_difference(&[], &[], 0.95).is_none());
    }

    /// Ratios 2 and 4: the geometric mean 2^1.5; the logs' sd is ln 2 / sqrt 2, so with
    /// t_{0.975, 1} = 12.706204736174698 the interval is 2^(1.5 -+ t / 2). The scipy-checked
    /// cases above give the same as exp of the logs' paired difference.
    #[test]
    fn differences_equal_but_for_rounding_have_no_spread() {
        // 0.3 - 0.1 = 0.19999999999999998 and 0.4 - 0.2 = 0.2 in float64.
        assert_ne!(0.3 - 0.1, 0.4 - 0.2);
        assert!(paired_t_test(&[0.3, 0.4], &[0.1, 0.2], 0.95).is_none());
        // Differences of 1e-9 each on values near 1 (equal but for rounding) have none; a real
        // spread of 1e-9 among them is kept.
        assert!(paired_t_test(&[1.0 + 1e-9, 1.0], &[1.0, 1.0 - 1e-9], 0.95).is_none());
        assert!(paired_t_test(&[1.0 + 2e-9, 1.0], &[1.0, 1.0 - 1e-9], 0.95).is_some());
    }

    #[test]
    fn paired_ratio_is_the_paired_difference_of_the_logs() {
        let r = paired_ratio(&[2.0, 8.0], &[1.0, 2.0], 0.95).unwrap();
        let t = 12.706_204_736_174_698;
        assert!(close(r.ratio, 2f64.powf(1.5), 1e-15));
        // Relative: the upper end is about 231.
        assert!(close(r.ci_low / 2f64.powf(1.5 - t / 2.0), 1.0, 1e-12));
        assert!(close(r.ci_high / 2f64.powf(1.5 + t / 2.0), 1.0, 1e-12));
        let x = [0.112, 0.095, 0.131, 0.104, 0.120, 0.099];
        let y = [0.101, 0.097, 0.118, 0.090, 0.121, 0.087];
        let ln = |v: &[f64]| v.iter().map(|a| a.ln()).collect::<Vec<_>>();
        let d = paired_difference(&ln(&x), &ln(&y), 0.95).unwrap();
        let r = paired_ratio(&x, &y, 0.95).unwrap();
        assert_eq!(
            (r.n, r.ratio, r.ci_low, r.ci_high),
            (6, d.mean.exp(), d.ci_low.exp(), d.ci_high.exp())
        );
        // A zero, a negative or a non-finite value: no ratio.
        assert!(paired_ratio(&[0.0, 1.0], &[1.0, 1.0], 0.95).is_none());
        assert!(paired_ratio(&[1.0, 1.0], &[-1.0, 1.0], 0.95).is_none());
        assert!(paired_ratio(&[f64::INFINITY], &[1.0], 0.95).is_none());
        assert!(paired_ratio(&[], &[], 0.95).is_none());
    }
}
