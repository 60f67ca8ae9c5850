//! The final geometry of a run, from its `final.safetensors`: cosines of the centred class
//! means beside the simplex ETF and the hierarchy target T (figure 2), and the class means and
//! classifier rows in the plane of the two leading principal components of the means (figure 3).

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use nclab_core::hierarchy::Hierarchy;
use nclab_core::labels::to_classes as labels_from_integers;
use nclab_core::metrics::collapse::class_statistics;
use nclab_core::metrics::embedding::{cosine_matrix, principal_plane, simplex_etf_cosines};
use nclab_core::metrics::tree_geometry::hierarchy_target;
use nclab_core::tensor::MatrixView;

/// What figures 2 and 3 show for one run.
#[derive(Debug, Clone)]
pub struct FinalGeometry {
    pub k: usize,
    pub class_names: Vec<String>,
    /// `cos(mu_i - mu_G, mu_j - mu_G)`, `K x K` row-major.
    pub cosines: Vec<f64>,
    /// Cosines of the simplex ETF: 1 on the diagonal, `-1/(K-1)` off it.
    pub etf: Vec<f64>,
    /// The hierarchy target `T` of metrics.md (`T_ii = 1`), when the hierarchy is known.
    pub target: Option<Vec<f64>>,
    /// Centred class means on the first two principal axes, divided by `||M||_F`.
    pub means_2d: Vec<(f64, f64)>,
    /// Classifier rows on the same axes, divided by `||W||_F`.
    pub weights_2d: Option<Vec<(f64, f64)>>,
    /// Share of `tr(M M^T)` on each of the two axes.
    pub explained: (f64, f64),
    /// Class order for the heatmaps: depth-first over the hierarchy (siblings side by side, so
    /// that the tree's blocks show), or `0..K` without one.
    pub order: Vec<usize>,
}

/// The classes in depth-first order of the tree (children in their stored order).
pub fn tree_order(h: &Hierarchy) -> Vec<usize> {
    let k = h.num_classes();
    let class_of: std::collections::HashMap<usize, usize> =
        (0..k).map(|c| (h.class_node(c), c)).collect();
    let mut order = Vec::with_capacity(k);
    let mut stack = vec![h.root()];
    while let Some(n) = stack.pop() {
        if let Some(&c) = class_of.get(&n) {
            order.push(c);
        }
        stack.extend(h.children(n).iter().rev());
    }
    order
}

/// Computes the geometry from features `H` (N x d), labels, the class count and optionally the
/// classifier `W` (K x d) and the class hierarchy; the numbers come from
/// [`nclab_core::metrics::embedding`].
pub fn compute(
    features: MatrixView<'_>,
    labels: &[u32],
    k: usize,
    weights: Option<&[f64]>,
    hierarchy: Option<&Hierarchy>,
) -> Result<FinalGeometry> {
    let stats = class_statistics(features, labels, k)?;
    let plane = principal_plane(&stats, weights);
    Ok(FinalGeometry {
        k,
        order: hierarchy.map_or_else(|| (0..k).collect(), tree_order),
        class_names: match hierarchy {
            Some(h) => h.class_names(),
            None => (0..k).map(|i| i.to_string()).collect(),
        },
        cosines: cosine_matrix(&stats.centred_gram(), k),
        etf: simplex_etf_cosines(k),
        target: hierarchy.map(|h| hierarchy_target(&h.normalized_distance_matrix(), k)),
        means_2d: plane.means,
        weights_2d: plane.weights,
        explained: plane.explained,
    })
}

/// Reads `final.safetensors` of a run (`train.features`, `train.labels`, `weights`) and
/// computes its [`FinalGeometry`]; `Ok(None)` when the run has no such file. The hierarchy is
/// the run config's `hierarchy` spec; when it cannot be resolved the T panel is left out and
/// the reason returned as a warning.
pub fn load(
    run_dir: &Path,
    hierarchy_spec: Option<&str>,
) -> Result<Option<(FinalGeometry, Vec<String>)>> {
    let path = run_dir.join("final.safetensors");
    if !path.is_file() {
        return Ok(None);
    }
    let file = nclab_core::io::safetensors::read(&path)?;
    let what = |t: &str| format!("{}: tensor {t}", path.display());
    let features = file
        .get("train.features")?
        .matrix(&what("train.features"))?;
    let raw_labels = file.get("train.labels")?.integers(&what("train.labels"))?;
    let weights = match file.tensors.get("weights") {
        Some(t) => {
            let w = t.matrix(&what("weights"))?;
            if w.d != features.d {
                return Err(anyhow!(
                    "{}: weights are {} x {} but train.features have {} columns",
                    path.display(),
                    w.n,
                    w.d,
                    features.d
                ));
            }
            Some(w)
        }
        None => None,
    };
    let k = match &weights {
        Some(w) => w.n,
        None => raw_labels.iter().copied().max().unwrap_or(0).max(0) as usize + 1,
    };
    let labels = labels_from_integers(&raw_labels, k, &what("train.labels"))?;
    let mut warnings = Vec::new();
    let hierarchy = match hierarchy_spec {
        Some(spec) => match Hierarchy::resolve(spec, Some(k)) {
            Ok(h) => Some(h),
            Err(e) => {
                warnings.push(format!(
                    "{}: hierarchy '{spec}' not usable ({e}); the target T is not drawn",
                    run_dir.display()
                ));
                None
            }
        },
        None => None,
    };
    let w = weights.map(|w| w.to_f64_vec());
    let geometry = compute(features, &labels, k, w.as_deref(), hierarchy.as_ref())
        .with_context(|| format!("{}: class means", path.display()))?;
    Ok(Some((geometry, warnings)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Features at the vertices of a regular triangle (a 3-class simplex ETF in the plane), two
    /// samples per class symmetric about the vertex, classifier rows = 2 x the means.
    #[test]
    fn simplex_features_give_etf_cosines_and_exact_pca() {
        let s3 = 3f64.sqrt() / 2.0;
        let vertices = [(1.0, 0.0), (-0.5, s3), (-0.5, -s3)];
        let mut h = Vec::new();
        let mut y = Vec::new();
        for (c, &(a, b)) in vertices.iter().enumerate() {
            for e in [-0.1, 0.1] {
                // third coordinate: noise that cancels within the class
                h.extend_from_slice(&[a, b, e]);
                y.push(c as u32);
            }
        }
        let w: Vec<f64> = vertices
            .iter()
            .flat_map(|&(a, b)| [2.0 * a, 2.0 * b, 0.0])
            .collect();
        let geo = compute(MatrixView::f64(&h, 6, 3), &y, 3, Some(&w), None).unwrap();
        // cos between vertices of a regular triangle = cos 120 deg = -1/2 = -1/(K-1).
        for i in 0..3 {
            for j in 0..3 {
                let expect = if i == j { 1.0 } else { -0.5 };
                assert!((geo.cosines[i * 3 + j] - expect).abs() < 1e-12);
                assert_eq!(geo.etf[i * 3 + j], expect);
            }
        }
        // The means span the plane equally: each axis carries half of tr(M M^T).
        assert!((geo.explained.0 - 0.5).abs() < 1e-12);
        assert!((geo.explained.1 - 0.5).abs() < 1e-12);
        // ||M||_F = sqrt(3); each mean has norm 1, so projected norms are 1/sqrt(3), and the
        // classifier rows, proportional to the means, land on the same points.
        let w2 = geo.weights_2d.unwrap();
        for (&(x, yv), &(wx, wy)) in geo.means_2d.iter().zip(&w2) {
            assert!(((x * x + yv * yv).sqrt() - 1.0 / 3f64.sqrt()).abs() < 1e-12);
            assert!((wx - x).abs() < 1e-12 && (wy - yv).abs() < 1e-12);
        }
        // Pairwise angles are preserved: the projected means keep cosine -1/2.
        let (a, b) = (geo.means_2d[0], geo.means_2d[1]);
        let cos = (a.0 * b.0 + a.1 * b.1) / ((a.0.hypot(a.1)) * (b.0.hypot(b.1)));
        assert!((cos + 0.5).abs() < 1e-12);
        assert_eq!(geo.class_names, vec!["0", "1", "2"]);
        assert_eq!(geo.order, vec![0, 1, 2]);
    }

    #[test]
    fn tree_order_puts_siblings_together() {
        // Classes a, b, c, d with a and c under x, b and d under y: depth-first a, c, b, d.
        let h = nclab_core::hierarchy::parse_edges("root x\nroot y\nx a\ny b\nx c\ny d\n", "t")
            .unwrap();
        let names = h.class_names();
        let order: Vec<&str> = tree_order(&h).iter().map(|&c| names[c].as_str()).collect();
        assert_eq!(order, vec!["a", "c", "b", "d"]);
    }

    #[test]
    fn tree_order_of_builtin_cifar10_groups_the_mammals() {
        let h = nclab_core::hierarchy::cifar10();
        let names = h.class_names();
        let order: Vec<&str> = tree_order(&h).iter().map(|&c| names[c].as_str()).collect();
        // entity -> animal (mammal: cat deer dog horse; frog; bird), vehicle (land: automobile
        // truck; ship; airplane), as the built-in lists them.
        assert_eq!(
            order,
            vec![
                "cat",
                "deer",
                "dog",
                "horse",
                "frog",
                "bird",
                "automobile",
                "truck",
                "ship",
                "airplane"
            ]
        );
    }

    #[test]
    fn flat_hierarchy_target_has_unit_diagonal() {
        let h = Hierarchy::resolve("flat:3", Some(3)).unwrap();
        let feats = [1.0, 0.0, 0.0, 1.0, -1.0, -1.0];
        let geo = compute(MatrixView::f64(&feats, 3, 2), &[0, 1, 2], 3, None, Some(&h)).unwrap();
        let t = geo.target.unwrap();
        for i in 0..3 {
            assert!((t[i * 3 + i] - 1.0).abs() < 1e-12);
        }
        // Flat tree: equal off-diagonal entries, at or above the ETF's -1/2 (T stays PSD).
        assert!((t[1] - t[2]).abs() < 1e-12 && t[1] >= -0.5 - 1e-12 && t[1] < 0.0);
    }
}
