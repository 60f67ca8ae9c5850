//! The geometry of the class means and of the classifier's rows: everything that comes from
//! their Gram matrices (`M M^T`, `W M^T`, `W W^T`), each visited once, in blocks, whatever
//! K is (O(K^2 d) time, bounded memory; see `pairs`).
//!
//! Besides the metrics over pairs of classes (NC2, NC3, equiangularity, GNC2, and CDNV's
//! per-class weights), the visit gives each class two certificates that let pass 2 decide
//! most samples without scoring them against all K classes:
//! - `ncm_radius[y]`: half the distance from `mu_y` to the nearest other mean. A sample of
//!   class `y` with `||h - mu_y||` below it has `mu_y` as its one nearest mean (by the triangle
//!   inequality, every other mean is farther);
//! - `margin[y]` and `spread[y]`: with `z_{y,k} = w_k . mu_y + b_k`, the margin
//!   `z_{y,y} - max_{k != y} z_{y,k}` and `max_{k != y} ||w_k - w_y||`. A sample of class `y`
//!   with `spread[y] ||h - mu_y|| < margin[y]` is decided `y` by the classifier, since
//!   `w_k . h + b_k = z_{y,k} + w_k . (h - mu_y)`.

use super::pairs::{squared_norms, EtfDistance, Gram, MeanVariance};
use super::scatter::Classifier;
use super::statistics::ClassStatistics;

/// What the Gram matrix of the centred means gives.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MeanGeometry {
    /// NC2.
    pub nc2: f64,
    /// Mean over ordered pairs of `|cos(M_i, M_j) + 1/(K-1)|`.
    pub equiangularity: f64,
    /// GNC2's log kernel over pairs.
    pub log_kernel: MeanVariance,
    /// GNC2's Riesz kernel over pairs.
    pub riesz_kernel: MeanVariance,
    /// `q_i = sum_{j != i} 1 / (2 ||mu_i - mu_j||^2)`: CDNV is `sum_i s_i q_i` over the pairs.
    pub cdnv_weights: Vec<f64>,
    /// Half the distance from each class mean to the nearest other one.
    pub ncm_radius: Vec<f64>,
}

/// What the Gram matrices `W M^T` and `W W^T` give.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WeightGeometry {
    pub nc3: f64,
    pub nc2_weights: f64,
    /// Mean over ordered pairs of `|cos(w_i, w_j) + 1/(K-1)|`.
    pub equiangularity: f64,
    /// `z_{y,y} - max_{k != y} z_{y,k}`, `z_{y,k} = w_k . mu_y + b_k`.
    pub margin: Vec<f64>,
    /// `max_{k != y} ||w_k - w_y||`.
    pub spread: Vec<f64>,
}

/// One visit of `M M^T`.
pub fn mean_geometry(stats: &ClassStatistics) -> MeanGeometry {
    let (k, d, m) = (stats.k, stats.d, &stats.centred_means);
    let gram = Gram::new(m, k, m, k, d);
    let sq = squared_norms(m, d);
    let mut etf = EtfDistance::new(k, gram.frobenius());
    let shift = 1.0 / (k - 1) as f64;
    let riesz_s = d as f64 - 2.0;
    let riesz_sign = if riesz_s >= 0.0 { 1.0 } else { -1.0 };
    let mut out = MeanGeometry {
        nc2: 0.0,
        equiangularity: 0.0,
        log_kernel: MeanVariance::default(),
        riesz_kernel: MeanVariance::default(),
        cdnv_weights: vec![0.0; k],
        ncm_radius: vec![f64::INFINITY; k],
    };
    let mut equi = 0.0;
    gram.for_each_entry(|i, j, g| {
        etf.push(i, j, g);
        if i >= j {
            return;
        }
        let cos = g / (sq[i] * sq[j]).sqrt();
        equi += 2.0 * (cos + shift).abs();
        // ||u_i - u_j|| of the normalised means (GNC2).
        let unit_dist = (2.0 - 2.0 * cos).max(0.0).sqrt();
        out.log_kernel.push(-unit_dist.ln());
        out.riesz_kernel.push(riesz_sign * unit_dist.powf(-riesz_s));
        // ||mu_i - mu_j||^2 = ||M_i||^2 + ||M_j||^2 - 2 M_i . M_j.
        let dist2 = (sq[i] + sq[j] - 2.0 * g).max(0.0);
        let q = 1.0 / (2.0 * dist2);
        out.cdnv_weights[i] += q;
        out.cdnv_weights[j] += q;
        out.ncm_radius[i] = out.ncm_radius[i].min(dist2);
        out.ncm_radius[j] = out.ncm_radius[j].min(dist2);
    });
    out.nc2 = etf.value();
    out.equiangularity = equi / (k * (k - 1)) as f64;
    out.ncm_radius.iter_mut().for_each(|r| *r = 0.5 * r.sqrt());
    out
}

/// One visit of `W M^T` and one of `W W^T`.
pub fn weight_geometry(stats: &ClassStatistics, c: &Classifier) -> WeightGeometry {
    let (k, d, m, w) = (stats.k, stats.d, &stats.centred_means, &c.weights);
    // z_{y,k} = w_k . M_y + (w_k . mu_G + b_k).
    let offset: Vec<f64> = w
        .chunks_exact(d)
        .zip(&c.bias)
        .map(|(wk, b)| {
            wk.iter()
                .zip(&stats.global_mean)
                .map(|(a, g)| a * g)
                .sum::<f64>()
                + b
        })
        .collect();
    let wm = Gram::new(w, k, m, k, d);
    let mut nc3 = EtfDistance::new(k, wm.frobenius());
    let mut own = vec![0.0; k];
    let mut best_other = vec![f64::NEG_INFINITY; k];
    wm.for_each_entry(|row, y, g| {
        nc3.push(row, y, g);
        let z = g + offset[row];
        if row == y {
            own[y] = z;
        } else {
            best_other[y] = best_other[y].max(z);
        }
    });
    let ww = Gram::new(w, k, w, k, d);
    let sq = squared_norms(w, d);
    let mut nc2 = EtfDistance::new(k, ww.frobenius());
    let shift = 1.0 / (k - 1) as f64;
    let (mut equi, mut spread) = (0.0, vec![0.0f64; k]);
    ww.for_each_entry(|i, j, g| {
        nc2.push(i, j, g);
        if i < j {
            equi += 2.0 * (g / (sq[i] * sq[j]).sqrt() + shift).abs();
            let dist2 = (sq[i] + sq[j] - 2.0 * g).max(0.0);
            spread[i] = spread[i].max(dist2);
            spread[j] = spread[j].max(dist2);
        }
    });
    WeightGeometry {
        nc3: nc3.value(),
        nc2_weights: nc2.value(),
        equiangularity: equi / (k * (k - 1)) as f64,
        margin: own.iter().zip(&best_other).map(|(o, b)| o - b).collect(),
        spread: spread.iter().map(|s| s.sqrt()).collect(),
    }
}
