//! The final geometry of a run, from its `final.safetensors`: cosines of the centred class
//! means beside the simplex ETF and the hierarchy target T (figure 2), and the class means and
//! classifier rows in the plane of the two leading principal components of the means (figure 3).
//! Both need only `K x K` matrices (`M M^T`, `W M^T`, `||W||_F^2`), which a run whose
//! final.safetensors is gone may keep in `final_geometry.json` ([`KEPT`]).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use nclab_core::hierarchy::Hierarchy;
use nclab_core::labels::to_classes as labels_from_integers;
use nclab_core::metrics::collapse::class_statistics;
use nclab_core::metrics::embedding::{
    cosine_matrix, principal_plane, principal_plane_of_grams, simplex_etf_cosines, PrincipalPlane,
};
use nclab_core::metrics::tree_geometry::hierarchy_target;
use nclab_core::tensor::MatrixView;
use serde::Deserialize;

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
    Ok(assemble(
        k,
        cosine_matrix(&stats.centred_gram(), k),
        plane,
        hierarchy,
    ))
}

/// The same geometry from the `K x K` matrices alone: the Gram matrix `M M^T` of the centred
/// means and, for the classifier, `W M^T` with `||W||_F^2`.
pub fn from_grams(
    k: usize,
    gram: &[f64],
    classifier: Option<(&[f64], f64)>,
    hierarchy: Option<&Hierarchy>,
) -> FinalGeometry {
    let plane = principal_plane_of_grams(gram, k, classifier);
    assemble(k, cosine_matrix(gram, k), plane, hierarchy)
}

fn assemble(
    k: usize,
    cosines: Vec<f64>,
    plane: PrincipalPlane,
    hierarchy: Option<&Hierarchy>,
) -> FinalGeometry {
    FinalGeometry {
        k,
        order: hierarchy.map_or_else(|| (0..k).collect(), tree_order),
        class_names: match hierarchy {
            Some(h) => h.class_names(),
            None => (0..k).map(|i| i.to_string()).collect(),
        },
        cosines,
        etf: simplex_etf_cosines(k),
        target: hierarchy.map(|h| hierarchy_target(&h.normalized_distance_matrix(), k)),
        means_2d: plane.means,
        weights_2d: plane.weights,
        explained: plane.explained,
    }
}

/// The file in a run directory that keeps the final geometry once `final.safetensors` is gone
/// (scripts/keep_final.py writes it; docs/report.md).
pub const KEPT: &str = "final_geometry.json";

/// The contents of [`KEPT`]: the `K x K` matrices [`from_grams`] needs, with the sizes they
/// came from.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Kept {
    /// Classes `K`.
    k: usize,
    /// Feature dimension `d` (not used: a record of what the matrices summarise).
    #[allow(dead_code)]
    d: usize,
    /// Training samples `N` (not used, as `d`).
    #[allow(dead_code)]
    n: usize,
    /// `M M^T`: row `i`, column `j` is `(mu_i - mu_G) . (mu_j - mu_G)`.
    means_gram: Vec<Vec<f64>>,
    /// `W M^T`: row `r`, column `i` is `w_r . (mu_i - mu_G)` (absent without a classifier).
    classifier_means: Option<Vec<Vec<f64>>>,
    /// `||W||_F^2` (with `classifier_means`).
    classifier_frobenius_sq: Option<f64>,
}

/// A `K x K` matrix of [`Kept`] as one row-major vector; the error names the field.
fn square(rows: &[Vec<f64>], k: usize, field: &str) -> Result<Vec<f64>> {
    if rows.len() != k || rows.iter().any(|r| r.len() != k) {
        bail!("{field} must be {k} rows of {k} numbers (k)");
    }
    let flat: Vec<f64> = rows.concat();
    if flat.iter().any(|v| !v.is_finite()) {
        bail!("{field} has a value that is not a finite number");
    }
    Ok(flat)
}

/// The checked matrices of [`KEPT`], row-major.
struct Grams {
    k: usize,
    /// `M M^T`.
    means: Vec<f64>,
    /// `W M^T` and `||W||_F^2`.
    classifier: Option<(Vec<f64>, f64)>,
}

/// A Gram matrix as [`from_grams`] needs it: symmetric (to 1e-9 of its largest entry: the PCA
/// reads one triangle, the cosines both), a non-negative diagonal and a positive trace (else
/// there is no plane to draw); the error names `means_gram`.
fn check_gram(g: &[f64], k: usize) -> Result<()> {
    let scale = g.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    for i in 0..k {
        if g[i * k + i] < 0.0 {
            bail!(
                "means_gram[{i}][{i}] is {}: a squared norm cannot be negative",
                g[i * k + i]
            );
        }
        for j in 0..i {
            if (g[i * k + j] - g[j * k + i]).abs() > 1e-9 * scale {
                bail!(
                    "means_gram is not symmetric: [{i}][{j}] is {}, [{j}][{i}] is {}",
                    g[i * k + j],
                    g[j * k + i]
                );
            }
        }
    }
    if (0..k).map(|i| g[i * k + i]).sum::<f64>() <= 0.0 {
        bail!("means_gram has a zero trace: every class mean is the global mean");
    }
    Ok(())
}

/// Reads [`KEPT`]; the error names the field at fault.
fn read_kept(path: &Path) -> Result<Grams> {
    let text = std::fs::read_to_string(path)?;
    let de = &mut serde_json::Deserializer::from_str(&text);
    let kept: Kept = serde_path_to_error::deserialize(de).map_err(|e| {
        let at = e.path().to_string();
        anyhow!("{} (at `{at}`)", e.into_inner())
    })?;
    let k = kept.k;
    if k < 2 {
        bail!("k is {k}: the geometry needs two classes or more");
    }
    let means = square(&kept.means_gram, k, "means_gram")?;
    check_gram(&means, k)?;
    let classifier = match (kept.classifier_means, kept.classifier_frobenius_sq) {
        (Some(wm), Some(w2)) if w2.is_finite() && w2 > 0.0 => {
            Some((square(&wm, k, "classifier_means")?, w2))
        }
        (None, None) => None,
        (Some(_), Some(w2)) => bail!("classifier_frobenius_sq is {w2}: it must be positive"),
        _ => bail!("classifier_means and classifier_frobenius_sq come together"),
    };
    Ok(Grams {
        k,
        means,
        classifier,
    })
}

/// Resolves the run's hierarchy over `k` classes; when it cannot be, a warning instead.
fn hierarchy_of(
    run_dir: &Path,
    spec: Option<&str>,
    k: usize,
    warnings: &mut Vec<String>,
) -> Option<Hierarchy> {
    let spec = spec?;
    match Hierarchy::resolve(spec, Some(k)) {
        Ok(h) => Some(h),
        Err(e) => {
            warnings.push(format!(
                "{}: hierarchy '{spec}' not usable ({e}); the target T is not drawn",
                run_dir.display()
            ));
            None
        }
    }
}

/// Reads a run's final geometry: from `final.safetensors` (`train.features`, `train.labels`,
/// `weights`) when it is there, else from [`KEPT`]; `Ok(None)` when the run has neither. Returns
/// the geometry, warnings, and the file it came from. The hierarchy is the run config's
/// `hierarchy` spec; when it cannot be resolved the T panel is left out and the reason returned
/// as a warning.
pub fn load(
    run_dir: &Path,
    hierarchy_spec: Option<&str>,
) -> Result<Option<(FinalGeometry, Vec<String>, PathBuf)>> {
    let path = run_dir.join("final.safetensors");
    let mut warnings = Vec::new();
    if !path.is_file() {
        let kept = run_dir.join(KEPT);
        if !kept.is_file() {
            return Ok(None);
        }
        let grams = read_kept(&kept).with_context(|| format!("{}", kept.display()))?;
        let hierarchy = hierarchy_of(run_dir, hierarchy_spec, grams.k, &mut warnings);
        let classifier = grams
            .classifier
            .as_ref()
            .map(|(wm, w2)| (wm.as_slice(), *w2));
        let geometry = from_grams(grams.k, &grams.means, classifier, hierarchy.as_ref());
        return Ok(Some((geometry, warnings, kept)));
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
    let hierarchy = hierarchy_of(run_dir, hierarchy_spec, k, &mut warnings);
    let w = weights.map(|w| w.to_f64_vec());
    let geometry = compute(features, &labels, k, w.as_deref(), hierarchy.as_ref())
        .with_context(|| format!("{}: class means", path.display()))?;
    Ok(Some((geometry, warnings, path)))
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

    /// Classes of `counts[c]` samples in five dimensions (a fixed pattern, not random) and a
    /// classifier: the geometry from the kept `K x K` matrices (`M M^T`, `W M^T` summed here
    /// by hand about the sample mean, `||W||_F^2`) is the geometry from the features, to
    /// rounding.
    fn kept_matrices_agree(counts: &[usize]) {
        let (k, d, n) = (counts.len(), 5, counts.iter().sum::<usize>());
        let y: Vec<u32> = (0..k).flat_map(|c| vec![c as u32; counts[c]]).collect();
        let value = |i: usize, j: usize| ((i * 7 + j * 3) % 11) as f64 / 11.0 - 0.4;
        let h: Vec<f64> = (0..n)
            .flat_map(|i| {
                let c = y[i] as usize;
                (0..d).map(move |j| value(i, j) + if j == c { 2.0 } else { 0.0 })
            })
            .collect();
        let w: Vec<f64> = (0..k * d).map(|i| value(i, i + 1)).collect();
        let spec = format!("flat:{k}");
        let tree = Hierarchy::resolve(&spec, Some(k)).unwrap();
        let direct = compute(MatrixView::f64(&h, n, d), &y, k, Some(&w), Some(&tree)).unwrap();

        // The centred means by hand: class means minus the mean of all samples.
        let mean = |rows: Vec<usize>| -> Vec<f64> {
            let mut m = vec![0.0; d];
            for &i in &rows {
                (0..d).for_each(|j| m[j] += h[i * d + j] / rows.len() as f64);
            }
            m
        };
        let global = mean((0..n).collect());
        let centred: Vec<Vec<f64>> = (0..k)
            .map(|c| {
                let m = mean((0..n).filter(|&i| y[i] as usize == c).collect());
                m.iter().zip(&global).map(|(a, b)| a - b).collect()
            })
            .collect();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let gram: Vec<Vec<f64>> = (0..k)
            .map(|i| (0..k).map(|j| dot(&centred[i], &centred[j])).collect())
            .collect();
        let wm: Vec<Vec<f64>> = (0..k)
            .map(|r| {
                (0..k)
                    .map(|i| dot(&w[r * d..(r + 1) * d], &centred[i]))
                    .collect()
            })
            .collect();
        let w2 = dot(&w, &w);
        let dir = nclab_testkit::scratch("kept-geometry");
        let json = serde_json::json!({
            "k": k, "d": d, "n": n, "means_gram": gram, "classifier_means": wm,
            "classifier_frobenius_sq": w2,
        });
        std::fs::write(dir.join(KEPT), json.to_string()).unwrap();
        let (kept, warnings, source) = load(&dir, Some(&spec)).unwrap().unwrap();
        assert!(warnings.is_empty());
        assert_eq!(source, dir.join(KEPT));
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-12);
        assert!(close(&kept.cosines, &direct.cosines), "{counts:?}");
        assert_eq!(kept.target, direct.target);
        assert_eq!(
            (kept.order.clone(), kept.class_names.clone()),
            (direct.order.clone(), direct.class_names.clone())
        );
        let flat = |p: &[(f64, f64)]| p.iter().flat_map(|&(x, y)| [x, y]).collect::<Vec<_>>();
        let (means, weights) = (flat(&kept.means_2d), flat(&kept.weights_2d.unwrap()));
        assert!(close(&means, &flat(&direct.means_2d)), "{counts:?}");
        assert!(
            close(&weights, &flat(&direct.weights_2d.unwrap())),
            "{counts:?}"
        );
        assert!(means
            .iter()
            .chain(&weights)
            .all(|v| v.is_finite() && v.abs() <= 1.0));
        assert!(close(
            &[kept.explained.0, kept.explained.1],
            &[direct.explained.0, direct.explained.1]
        ));
    }

    #[test]
    fn the_kept_matrices_give_the_geometry_of_the_features() {
        kept_matrices_agree(&[3, 3, 3, 3]);
        // Unbalanced: the centring is about the mean of all samples, not of the class means.
        kept_matrices_agree(&[1, 4, 2]);
    }

    /// Two classes have one axis: the second is 0 for the means and the classifier alike (not
    /// rounding noise divided by rounding noise), from the features and from the kept file.
    #[test]
    fn two_classes_lie_on_one_axis() {
        kept_matrices_agree(&[2, 5]);
        let h = [1.0, 0.0, 1.2, 0.1, -1.0, 0.0, -0.8, -0.1];
        let w = [1.0, 0.5, -1.0, 0.3];
        let geo = compute(MatrixView::f64(&h, 4, 2), &[0, 0, 1, 1], 2, Some(&w), None).unwrap();
        assert_eq!(geo.explained.1, 0.0);
        for &(_, y) in geo.means_2d.iter().chain(geo.weights_2d.as_ref().unwrap()) {
            assert_eq!(y, 0.0);
        }
    }

    /// A kept file that is not what [`KEPT`] must hold is an error naming the file and the
    /// field; a run with neither file has no geometry.
    #[test]
    fn a_bad_kept_file_names_its_fault() {
        let dir = nclab_testkit::scratch("bad-kept-geometry");
        assert!(load(&dir, None).unwrap().is_none());
        let cases = [
            (
                r#"{"k": 2, "d": 3, "n": 4, "means_gram": [[1, 0], [0]]}"#,
                "means_gram must be 2 rows of 2",
            ),
            (
                r#"{"k": 2, "d": 3, "n": 4, "means_gram": [[1, 0.5], [0.4, 1]]}"#,
                "means_gram is not symmetric: [1][0] is 0.4",
            ),
            (
                r#"{"k": 2, "d": 3, "n": 4, "means_gram": [[-1, 0], [0, 1]]}"#,
                "means_gram[0][0] is -1",
            ),
            (
                r#"{"k": 2, "d": 3, "n": 4, "means_gram": [[0, 0], [0, 0]]}"#,
                "zero trace",
            ),
            (
                r#"{"k": 2, "d": 3, "n": 4, "means_gram": [[1, 0], [0, 1]], "classifier_means": [[1, 0], [0, 1]]}"#,
                "come together",
            ),
            (
                r#"{"k": 2, "d": 3, "n": 4, "means_gram": [[1, "x"], [0, 1]]}"#,
                "means_gram[0][1]",
            ),
            (
                r#"{"k": 2, "d": 3, "n": 4, "means_gram": [[1, 0], [0, 1]], "extra": 1}"#,
                "unknown field `extra`",
            ),
            (
                r#"{"k": 1, "d": 3, "n": 4, "means_gram": [[1]]}"#,
                "two classes or more",
            ),
        ];
        for (text, expected) in cases {
            std::fs::write(dir.join(KEPT), text).unwrap();
            let err = format!("{:#}", load(&dir, None).unwrap_err());
            assert!(
                err.contains(KEPT) && err.contains(expected),
                "{text}: {err}"
            );
        }
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
