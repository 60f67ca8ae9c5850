//! f64 reference implementations of the training losses (docs/losses-and-hierarchies.md), per sample and
//! as a batch mean, with their gradients with respect to the logits. They are the yardstick
//! for the training engine's batched losses.
//!
//! Notation: logits `z` in R^K, `p = softmax(z)`, true class `t`,
//! `lse(S) = log sum_{a in S} exp(z_a)` (computed stably), `log p(S) = lse(S) - lse(all)`.
//!
//! * **CE**: `-log p_t`; gradient `p - e_t`.
//! * **MSE** (kappa, weight w): `(w (z_t - kappa)^2 + sum_{a != t} z_a^2) / K`; with `w = 1`
//!   this is `||z - kappa e_t||^2 / K`; `w > 1` is Hui & Belkin's rescaling for many classes.
//!   Gradient `2 (z - kappa e_t) / K`, with the `t` entry multiplied by `w`.
//! * **Soft labels** (beta): `-sum_a q_a log p_a` with `q_a = exp(-beta dn(a,t)) / sum_b
//!   exp(-beta dn(b,t))`; gradient `p - q` (q sums to 1).
//! * **HXE** (alpha, normalize): `sum over nodes C on the path from leaf t up to (not
//!   including) the root, with parent P, of -lambda(C) (log p(C) - log p(P))`, where
//!   `lambda(C) = exp(-alpha depth(C))`, divided by `sum_n exp(-alpha depth(n))` over all
//!   nodes n (root included) when normalize = nodes. With `r_S(a) = [a in S] exp(z_a -
//!   lse(S))`, `d log p(S) / dz = r_S - p`, so the gradient is
//!   `-sum_C lambda(C) (r_C - r_P)` (the `p` terms cancel). Everything is in log space: a
//!   leaf set is never empty, so no log of 0 is taken.
//!
//! The batch versions return the mean over samples; their gradient is the per-sample gradient
//! divided by N.

use std::fmt;
use std::str::FromStr;

use crate::hierarchy::Hierarchy;
use crate::tensor::MatrixView;
use crate::{Error, Result};

/// `log sum_i exp(x_i)`, shifted by the maximum (`-inf` for an empty slice).
pub fn logsumexp(x: &[f64]) -> f64 {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + x.iter().map(|&v| (v - m).exp()).sum::<f64>().ln()
}

/// `log sum_{a in set} exp(z_a)`.
fn logsumexp_over(z: &[f64], set: &[usize]) -> f64 {
    let m = set.iter().map(|&a| z[a]).fold(f64::NEG_INFINITY, f64::max);
    m + set.iter().map(|&a| (z[a] - m).exp()).sum::<f64>().ln()
}

/// `out = softmax(z)`.
pub fn softmax_into(z: &[f64], out: &mut [f64]) {
    let l = logsumexp(z);
    for (o, &v) in out.iter_mut().zip(z) {
        *o = (v - l).exp();
    }
}

crate::named_enum! {
    /// How HXE's weights are normalised.
    pub enum HxeNormalize {
        /// `lambda(C) = exp(-alpha depth(C))` as is (HXE with alpha = 0 equals CE).
        None = "none",
        /// Every lambda divided by `sum_n exp(-alpha depth(n))` over all nodes (the reference
        /// implementation's default).
        Nodes = "nodes",
    }
}

/// A loss and its parameters, as written on the command line or in a config:
/// `ce`, `mse` (kappa 1), `mse:KAPPA`, `mse:KAPPA:WEIGHT`, `soft:BETA`, `hxe:ALPHA`,
/// `hxe:ALPHA:nodes` (or `hxe:ALPHA:none`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossSpec {
    Ce,
    Mse { kappa: f64, weight: f64 },
    Soft { beta: f64 },
    Hxe { alpha: f64, normalize: HxeNormalize },
}

impl LossSpec {
    /// Whether the loss depends on the hierarchy (soft labels and HXE).
    pub fn uses_hierarchy(&self) -> bool {
        matches!(self, LossSpec::Soft { .. } | LossSpec::Hxe { .. })
    }
}

impl FromStr for LossSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<LossSpec> {
        let parts: Vec<&str> = s.trim().split(':').collect();
        let num = |i: usize, what: &str| -> Result<f64> {
            let v: f64 = parts[i].trim().parse().map_err(|_| {
                Error::invalid(format!(
                    "loss '{s}': {what} must be a number, got '{}'",
                    parts[i]
                ))
            })?;
            if !v.is_finite() || v < 0.0 {
                return Err(Error::invalid(format!(
                    "loss '{s}': {what} must be finite and >= 0, got {v}"
                )));
            }
            Ok(v)
        };
        // kappa and weight divide nothing but are > 0 in the config (docs/config.md): the
        // same here, so that a spec and a config accept the same losses.
        let positive = |i: usize, what: &str| -> Result<f64> {
            let v = num(i, what)?;
            if v == 0.0 {
                return Err(Error::invalid(format!(
                    "loss '{s}': {what} must be > 0, got 0"
                )));
            }
            Ok(v)
        };
        let spec = match (parts[0].trim().to_ascii_lowercase().as_str(), parts.len()) {
            ("ce", 1) => LossSpec::Ce,
            ("mse", 1) => LossSpec::Mse {
                kappa: 1.0,
                weight: 1.0,
            },
            ("mse", 2) => LossSpec::Mse {
                kappa: positive(1, "kappa")?,
                weight: 1.0,
            },
            ("mse", 3) => LossSpec::Mse {
                kappa: positive(1, "kappa")?,
                weight: positive(2, "weight")?,
            },
            ("soft", 2) => LossSpec::Soft {
                beta: num(1, "beta")?,
            },
            ("hxe", 2) | ("hxe", 3) => LossSpec::Hxe {
                alpha: num(1, "alpha")?,
                normalize: match parts.get(2).map(|p| p.trim()) {
                    None | Some("none") => HxeNormalize::None,
                    Some("nodes") => HxeNormalize::Nodes,
                    Some(other) => {
                        return Err(Error::invalid(format!(
                            "loss '{s}': normalize must be 'none' or 'nodes', got '{other}'"
                        )))
                    }
                },
            },
            (kind @ ("ce" | "mse" | "soft" | "hxe"), _) => {
                let form = match kind {
                    "ce" => "ce, without parameters",
                    "mse" => "mse[:KAPPA[:WEIGHT]]",
                    "soft" => "soft:BETA (e.g. soft:10)",
                    _ => "hxe:ALPHA[:none|nodes] (e.g. hxe:0.1)",
                };
                return Err(Error::invalid(format!("loss '{s}': expected {form}")));
            }
            _ => {
                return Err(Error::invalid(format!(
                    "unknown loss '{s}': expected ce, mse[:KAPPA[:WEIGHT]], soft:BETA or \
                     hxe:ALPHA[:none|nodes]"
                )))
            }
        };
        Ok(spec)
    }
}

impl fmt::Display for LossSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LossSpec::Ce => write!(f, "ce"),
            LossSpec::Mse { kappa, weight } if *weight == 1.0 => write!(f, "mse:{kappa}"),
            LossSpec::Mse { kappa, weight } => write!(f, "mse:{kappa}:{weight}"),
            LossSpec::Soft { beta } => write!(f, "soft:{beta}"),
            LossSpec::Hxe { alpha, normalize } => match normalize {
                HxeNormalize::None => write!(f, "hxe:{alpha}"),
                HxeNormalize::Nodes => write!(f, "hxe:{alpha}:nodes"),
            },
        }
    }
}

/// Cross-entropy `-log p_t`; writes its gradient `p - e_t` into `grad` when given.
pub fn ce(z: &[f64], t: usize, grad: Option<&mut [f64]>) -> f64 {
    let l = logsumexp(z);
    if let Some(g) = grad {
        for (a, (ga, &za)) in g.iter_mut().zip(z).enumerate() {
            *ga = (za - l).exp() - if a == t { 1.0 } else { 0.0 };
        }
    }
    l - z[t]
}

/// MSE `(w (z_t - kappa)^2 + sum_{a != t} z_a^2) / K`; writes its gradient into `grad`.
pub fn mse(z: &[f64], t: usize, kappa: f64, weight: f64, grad: Option<&mut [f64]>) -> f64 {
    let k = z.len() as f64;
    let mut loss = 0.0;
    for (a, &za) in z.iter().enumerate() {
        if a == t {
            loss += weight * (za - kappa) * (za - kappa);
        } else {
            loss += za * za;
        }
    }
    if let Some(g) = grad {
        for (a, (ga, &za)) in g.iter_mut().zip(z).enumerate() {
            *ga = if a == t {
                2.0 * weight * (za - kappa) / k
            } else {
                2.0 * za / k
            };
        }
    }
    loss / k
}

/// Soft-label targets for every true class. `target(t)[a] = q_a` for true class `t`:
/// `q_a = exp(-beta dn(a,t)) / sum_b exp(-beta dn(b,t))`.
#[derive(Clone, Debug)]
pub struct SoftTargets {
    pub k: usize,
    pub beta: f64,
    /// Row-major K x K, row `t` = the target distribution for true class `t` (that is, the
    /// transpose of the matrix Q whose column t is the target).
    pub by_true_class: Vec<f64>,
}

impl SoftTargets {
    pub fn new(h: &Hierarchy, beta: f64) -> SoftTargets {
        let k = h.num_classes();
        let dn = h.normalized_distance_matrix();
        let mut q = vec![0.0; k * k];
        for t in 0..k {
            // exp(-beta dn) with dn(t,t) = 0 the largest weight: no overflow, sum >= 1.
            let row = &mut q[t * k..(t + 1) * k];
            for a in 0..k {
                row[a] = (-beta * dn[a * k + t]).exp();
            }
            let s: f64 = row.iter().sum();
            row.iter_mut().for_each(|x| *x /= s);
        }
        SoftTargets {
            k,
            beta,
            by_true_class: q,
        }
    }

    /// The target distribution for true class `t`.
    pub fn target(&self, t: usize) -> &[f64] {
        &self.by_true_class[t * self.k..(t + 1) * self.k]
    }

    /// Q row-major: `Q[a][t] = q_a` for true class `t` (column t is the target for t).
    pub fn matrix(&self) -> Vec<f64> {
        let k = self.k;
        let mut m = vec![0.0; k * k];
        for t in 0..k {
            for a in 0..k {
                m[a * k + t] = self.by_true_class[t * k + a];
            }
        }
        m
    }

    /// The mass each target puts on its true class, `q_t(t)`, by class: `1 / sum_b
    /// exp(-beta dn(b, t))`.
    pub fn true_class_mass(&self) -> Vec<f64> {
        (0..self.k).map(|t| self.target(t)[t]).collect()
    }

    /// The mean over classes of [`SoftTargets::true_class_mass`]: the share of the target on
    /// the true class for balanced data.
    pub fn mean_true_class_mass(&self) -> f64 {
        self.true_class_mass().iter().sum::<f64>() / self.k as f64
    }

    /// The `beta` whose targets put, on average over the classes, the mass `mass` on the true
    /// class (see [`SoftTargets::mean_true_class_mass`]), found by bisection to 1e-12
    /// relative: the mean mass grows from `1/K` (beta = 0) towards 1 as beta grows. `mass` must
    /// lie strictly between `1/K` and 1, and the hierarchy must not be a single class.
    pub fn beta_for_mass(h: &Hierarchy, mass: f64) -> crate::Result<f64> {
        let k = h.num_classes();
        if !(mass > 1.0 / k as f64 && mass < 1.0) {
            return Err(crate::Error::invalid(format!(
                "a true-class mass must lie strictly between 1/K = {} and 1, got {mass}",
                1.0 / k as f64
            )));
        }
        let at = |beta: f64| SoftTargets::new(h, beta).mean_true_class_mass();
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        while at(hi) < mass {
            hi *= 2.0;
            if hi > 1e6 {
                return Err(crate::Error::invalid(format!(
                    "no beta up to 1e6 puts a mass of {mass} on the true class"
                )));
            }
        }
        while hi - lo > 1e-12 * hi {
            let mid = 0.5 * (lo + hi);
            if at(mid) < mass {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(0.5 * (lo + hi))
    }
}

/// Soft-label loss `-sum_a q_a log p_a` for one target `q`; gradient `p - q`.
pub fn soft(z: &[f64], q: &[f64], grad: Option<&mut [f64]>) -> f64 {
    let l = logsumexp(z);
    let loss = q.iter().zip(z).map(|(&qa, &za)| -qa * (za - l)).sum();
    if let Some(g) = grad {
        for ((ga, &za), &qa) in g.iter_mut().zip(z).zip(q) {
            *ga = (za - l).exp() - qa;
        }
    }
    loss
}

/// One HXE term `-weight (log p(node) - log p(parent))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HxeTerm {
    /// Node C (a node id of the hierarchy).
    pub node: usize,
    /// Its parent P.
    pub parent: usize,
    /// `lambda(C)`, normalised if asked.
    pub weight: f64,
}

/// Everything HXE needs, precomputed: the leaf set (classes) under each node and, for each
/// true class t, the terms along the path from leaf t up to the root's child.
#[derive(Clone, Debug)]
pub struct HxePlan {
    pub k: usize,
    pub alpha: f64,
    pub normalize: HxeNormalize,
    /// The root's node id (its leaf set is every class, `log p(root) = 0`).
    pub root: usize,
    /// `leaf_sets[n]`: the classes under node n, ascending.
    pub leaf_sets: Vec<Vec<usize>>,
    /// `terms[t]`: the terms for true class t, from the leaf upwards.
    pub terms: Vec<Vec<HxeTerm>>,
}

impl HxePlan {
    pub fn new(h: &Hierarchy, alpha: f64, normalize: HxeNormalize) -> HxePlan {
        let z = match normalize {
            HxeNormalize::None => 1.0,
            HxeNormalize::Nodes => (0..h.num_nodes())
                .map(|n| (-alpha * h.depth(n) as f64).exp())
                .sum(),
        };
        let terms = (0..h.num_classes())
            .map(|t| {
                let mut out = Vec::new();
                let mut c = h.class_node(t);
                while let Some(p) = h.parent(c) {
                    out.push(HxeTerm {
                        node: c,
                        parent: p,
                        weight: (-alpha * h.depth(c) as f64).exp() / z,
                    });
                    c = p;
                }
                out
            })
            .collect();
        HxePlan {
            k: h.num_classes(),
            alpha,
            normalize,
            root: h.root(),
            leaf_sets: (0..h.num_nodes())
                .map(|n| h.leaf_classes(n).to_vec())
                .collect(),
            terms,
        }
    }

    /// HXE of one sample; writes the gradient into `grad` when given.
    pub fn loss(&self, z: &[f64], t: usize, grad: Option<&mut [f64]>) -> f64 {
        let all = logsumexp(z);
        let lse = |n: usize| {
            if n == self.root {
                all
            } else {
                logsumexp_over(z, &self.leaf_sets[n])
            }
        };
        let mut loss = 0.0;
        let mut grad = grad;
        if let Some(g) = grad.as_deref_mut() {
            g.iter_mut().for_each(|x| *x = 0.0);
        }
        for term in &self.terms[t] {
            let lc = lse(term.node);
            let lp = lse(term.parent);
            loss -= term.weight * (lc - lp);
            if let Some(g) = grad.as_deref_mut() {
                for &a in &self.leaf_sets[term.node] {
                    g[a] -= term.weight * (z[a] - lc).exp();
                }
                for &a in &self.leaf_sets[term.parent] {
                    g[a] += term.weight * (z[a] - lp).exp();
                }
            }
        }
        loss
    }
}

/// A loss ready to evaluate: the spec plus what it precomputes from the hierarchy.
#[derive(Clone, Debug)]
pub enum Loss {
    Ce,
    Mse { kappa: f64, weight: f64 },
    Soft(SoftTargets),
    Hxe(HxePlan),
}

impl Loss {
    /// Builds the loss for `spec` on hierarchy `h` (which fixes K).
    pub fn new(spec: LossSpec, h: &Hierarchy) -> Loss {
        match spec {
            LossSpec::Ce => Loss::Ce,
            LossSpec::Mse { kappa, weight } => Loss::Mse { kappa, weight },
            LossSpec::Soft { beta } => Loss::Soft(SoftTargets::new(h, beta)),
            LossSpec::Hxe { alpha, normalize } => Loss::Hxe(HxePlan::new(h, alpha, normalize)),
        }
    }

    /// The loss of one sample (logits `z`, true class `t`), its gradient into `grad`.
    pub fn sample(&self, z: &[f64], t: usize, grad: Option<&mut [f64]>) -> f64 {
        match self {
            Loss::Ce => ce(z, t, grad),
            Loss::Mse { kappa, weight } => mse(z, t, *kappa, *weight, grad),
            Loss::Soft(q) => soft(z, q.target(t), grad),
            Loss::Hxe(plan) => plan.loss(z, t, grad),
        }
    }

    /// Mean loss over the rows of `logits` (N x K) against `labels`; when `grad` is given
    /// (N x K row-major) it receives the gradient of the mean. Errors name a label out of
    /// range or a size mismatch.
    pub fn batch_mean(
        &self,
        logits: MatrixView<'_>,
        labels: &[usize],
        mut grad: Option<&mut [f64]>,
    ) -> Result<f64> {
        let (n, k) = (logits.n, logits.d);
        if labels.len() != n {
            return Err(Error::invalid(format!(
                "loss: {n} rows of logits but {} labels",
                labels.len()
            )));
        }
        if let Some(expected) = self.num_classes() {
            if expected != k {
                return Err(Error::invalid(format!(
                    "loss: logits have {k} columns but the hierarchy has {expected} classes"
                )));
            }
        }
        if let Some(g) = grad.as_deref() {
            if g.len() != n * k {
                return Err(Error::invalid(format!(
                    "loss: gradient buffer has {} entries, expected {n} x {k}",
                    g.len()
                )));
            }
        }
        if n == 0 {
            return Err(Error::invalid("loss: no samples"));
        }
        let mut z = vec![0.0; k];
        let mut total = 0.0;
        for (i, &t) in labels.iter().enumerate() {
            if t >= k {
                return Err(Error::invalid(format!(
                    "loss: label {t} of sample {i} is out of range 0..{k}"
                )));
            }
            logits.row_into(i, &mut z);
            let g = grad.as_deref_mut().map(|g| &mut g[i * k..(i + 1) * k]);
            total += self.sample(&z, t, g);
        }
        if let Some(g) = grad {
            let s = 1.0 / n as f64;
            g.iter_mut().for_each(|x| *x *= s);
        }
        Ok(total / n as f64)
    }

    fn num_classes(&self) -> Option<usize> {
        match self {
            Loss::Ce | Loss::Mse { .. } => None,
            Loss::Soft(q) => Some(q.k),
            Loss::Hxe(p) => Some(p.k),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hierarchy::{cifar10, parse_edges};
    use crate::rng::Rng;

    /// root -> { x -> {a, b}, c }: depth(x) = depth(c) = 1, depth(a) = depth(b) = 2;
    /// d(a,b) = 1, d(a,c) = d(b,c) = 2, so dn(a,b) = 0.5, dn(a,c) = 1.
    fn tree3() -> Hierarchy {
        parse_edges("root x\nx a\nx b\nroot c\n", "tree3").unwrap()
    }

    /// z = (0, ln 2, ln 3): p = (1/6, 2/6, 3/6).
    fn z3() -> Vec<f64> {
        vec![0.0, 2f64.ln(), 3f64.ln()]
    }

    #[test]
    fn beta_for_a_true_class_mass_by_hand() {
        // flat:4: every other class at dn = 1, so the mass is 1 / (1 + 3 e^-beta); a mass of
        // 0.7 needs e^-beta = (1/0.7 - 1) / 3 = 1/7: beta = ln 7.
        let h = Hierarchy::load("flat:4").unwrap();
        let beta = SoftTargets::beta_for_mass(&h, 0.7).unwrap();
        assert!((beta - 7f64.ln()).abs() < 1e-10, "{beta}");
        let mass = SoftTargets::new(&h, beta).mean_true_class_mass();
        assert!((mass - 0.7).abs() < 1e-12);
        // A real tree: the mean mass of the solved beta is the target.
        let f = Hierarchy::load("fashion-mnist").unwrap();
        for m in [0.9, 0.7, 0.5] {
            let b = SoftTargets::beta_for_mass(&f, m).unwrap();
            assert!((SoftTargets::new(&f, b).mean_true_class_mass() - m).abs() < 1e-10);
        }
        for bad in [0.25, 1.0, 0.1, f64::NAN] {
            let e = SoftTargets::beta_for_mass(&h, bad).unwrap_err().to_string();
            assert!(e.contains("strictly between 1/K = 0.25 and 1"), "{e}");
        }
    }

    #[test]
    fn parse_loss_specs() {
        assert_eq!("ce".parse::<LossSpec>().unwrap(), LossSpec::Ce);
        assert_eq!(
            "mse".parse::<LossSpec>().unwrap(),
            LossSpec::Mse {
                kappa: 1.0,
                weight: 1.0
            }
        );
        assert_eq!(
            "mse:15:2".parse::<LossSpec>().unwrap(),
            LossSpec::Mse {
                kappa: 15.0,
                weight: 2.0
            }
        );
        assert_eq!(
            "hxe:0.5:nodes".parse::<LossSpec>().unwrap(),
            LossSpec::Hxe {
                alpha: 0.5,
                normalize: HxeNormalize::Nodes
            }
        );
        assert_eq!(
            "soft:4".parse::<LossSpec>().unwrap(),
            LossSpec::Soft { beta: 4.0 }
        );
        for bad in [
            "hxe",
            "soft:x",
            "hxe:1:all",
            "foo",
            "soft:-1",
            "ce:1",
            "mse:0",
            "mse:1:0",
        ] {
            let e = bad.parse::<LossSpec>().unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
        let e = "mse:0".parse::<LossSpec>().unwrap_err().to_string();
        assert!(e.contains("kappa must be > 0, got 0"), "{e}");
        // A known loss with the wrong parameters is told its form, not called unknown.
        let e = "hxe".parse::<LossSpec>().unwrap_err().to_string();
        assert_eq!(
            e,
            "loss 'hxe': expected hxe:ALPHA[:none|nodes] (e.g. hxe:0.1)"
        );
        let e = "ce:1".parse::<LossSpec>().unwrap_err().to_string();
        assert_eq!(e, "loss 'ce:1': expected ce, without parameters");
        assert_eq!(
            "hxe:0.5:nodes".parse::<LossSpec>().unwrap().to_string(),
            "hxe:0.5:nodes"
        );
    }

    #[test]
    fn ce_and_mse_by_hand() {
        // CE for t = 0: -ln(1/6) = ln 6.
        assert!((ce(&z3(), 0, None) - 6f64.ln()).abs() < 1e-15);
        // MSE with kappa 1, t = 1: ((0)^2 + (ln2 - 1)^2 + (ln3)^2) / 3.
        let want = ((2f64.ln() - 1.0).powi(2) + 3f64.ln().powi(2)) / 3.0;
        assert!((mse(&z3(), 1, 1.0, 1.0, None) - want).abs() < 1e-15);
        // Hui & Belkin weight 4, kappa 2, t = 2: (4 (ln3 - 2)^2 + (ln2)^2) / 3.
        let want = (4.0 * (3f64.ln() - 2.0).powi(2) + 2f64.ln().powi(2)) / 3.0;
        assert!((mse(&z3(), 2, 2.0, 4.0, None) - want).abs() < 1e-15);
    }

    #[test]
    fn hxe_by_hand_on_a_three_class_tree() {
        let h = tree3();
        let alpha = 2f64.ln(); // lambda(depth 1) = 1/2, lambda(depth 2) = 1/4
        let plan = HxePlan::new(&h, alpha, HxeNormalize::None);
        // t = a: p(a) = 1/6, p(x) = 1/2, p(root) = 1.
        // loss = -1/4 ln((1/6)/(1/2)) - 1/2 ln((1/2)/1) = ln3/4 + ln2/2 = 0.6212267...
        let want_a = 3f64.ln() / 4.0 + 2f64.ln() / 2.0;
        assert!((plan.loss(&z3(), 0, None) - want_a).abs() < 1e-14);
        assert!((want_a - 0.621_226_7).abs() < 1e-7);
        // t = c: p(c) = 1/2: loss = -1/2 ln(1/2) = ln2 / 2.
        assert!((plan.loss(&z3(), 2, None) - 2f64.ln() / 2.0).abs() < 1e-14);
        // normalize = nodes: sum over nodes of 2^-depth = 1 + 1/2 + 1/2 + 1/4 + 1/4 = 2.5.
        let plan_n = HxePlan::new(&h, alpha, HxeNormalize::Nodes);
        assert!((plan_n.loss(&z3(), 0, None) - want_a / 2.5).abs() < 1e-14);
    }

    #[test]
    fn soft_labels_by_hand_on_a_three_class_tree() {
        let h = tree3();
        let q = SoftTargets::new(&h, 2.0 * 2f64.ln());
        // t = a: weights exp(-beta dn) = 1 (a), 2^-1 (b, dn 0.5), 2^-2 (c, dn 1): sum 7/4,
        // q = (4/7, 2/7, 1/7).
        let qa = q.target(0);
        for (x, w) in qa.iter().zip([4.0 / 7.0, 2.0 / 7.0, 1.0 / 7.0]) {
            assert!((x - w).abs() < 1e-15);
        }
        // Column 0 of Q is that same target.
        let m = q.matrix();
        assert!((m[3] - 2.0 / 7.0).abs() < 1e-15 && (m[6] - 1.0 / 7.0).abs() < 1e-15);
        // loss = -(4/7 ln(1/6) + 2/7 ln(2/6) + 1/7 ln(3/6)) = (4 ln6 + 2 ln3 + ln2)/7 = 1.4367729
        let want = (4.0 * 6f64.ln() + 2.0 * 3f64.ln() + 2f64.ln()) / 7.0;
        assert!((soft(&z3(), qa, None) - want).abs() < 1e-14);
        assert!((want - 1.436_773).abs() < 1e-6);
    }

    #[test]
    fn hxe_and_soft_on_cifar10_match_an_independent_numpy_computation() {
        // Values from a separate NumPy script that walks the cifar10 tree by parent names
        // and sums probabilities over leaf sets directly (no log-sum-exp), for these logits.
        let z = [0.3, -1.2, 2.0, 0.7, -0.4, 1.1, 0.0, -2.5, 0.9, 0.25];
        let h = cifar10();
        let cases = [
            (3, 0.5, HxeNormalize::None, 0.760913624221975),
            (3, 0.5, HxeNormalize::Nodes, 0.1321232698649667),
            (8, 2.0, HxeNormalize::None, 0.18866599331242426),
        ];
        for (t, alpha, normalize, want) in cases {
            let got = HxePlan::new(&h, alpha, normalize).loss(&z, t, None);
            assert!(
                (got - want).abs() < 1e-13,
                "t {t} alpha {alpha}: {got} vs {want}"
            );
        }
        // Soft labels, beta = 4, true class dog (5).
        let got = soft(&z, SoftTargets::new(&h, 4.0).target(5), None);
        assert!((got - 2.6418673871889577).abs() < 1e-13, "{got}");
    }

    fn random_logits(rng: &mut Rng, n: usize, k: usize, scale: f64) -> Vec<f64> {
        (0..n * k).map(|_| scale * rng.normal()).collect()
    }

    #[test]
    fn hxe_with_alpha_zero_is_ce() {
        let h = cifar10();
        let plan = HxePlan::new(&h, 0.0, HxeNormalize::None);
        let mut rng = Rng::new(1);
        let mut g1 = vec![0.0; 10];
        let mut g2 = vec![0.0; 10];
        for i in 0..200 {
            let z = random_logits(&mut rng, 1, 10, 5.0);
            let t = i % 10;
            let a = plan.loss(&z, t, Some(&mut g1));
            let b = ce(&z, t, Some(&mut g2));
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            for (x, y) in g1.iter().zip(&g2) {
                assert!((x - y).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn soft_labels_tend_to_ce_as_beta_grows() {
        let h = cifar10();
        let mut rng = Rng::new(2);
        let z = random_logits(&mut rng, 1, 10, 3.0);
        let c = ce(&z, 4, None);
        let mut prev = f64::INFINITY;
        for beta in [1.0, 4.0, 16.0, 64.0] {
            let gap = (soft(&z, SoftTargets::new(&h, beta).target(4), None) - c).abs();
            assert!(gap < prev, "beta {beta}: gap {gap} >= {prev}");
            prev = gap;
        }
        assert!(prev < 1e-8, "{prev}");
    }

    #[test]
    fn hxe_never_takes_log_of_zero() {
        // Logits so extreme that p underflows to 0 for most classes in f64.
        let h = cifar10();
        let plan = HxePlan::new(&h, 0.5, HxeNormalize::None);
        let mut z = vec![-2000.0; 10];
        z[9] = 2000.0;
        let mut g = vec![0.0; 10];
        let l = plan.loss(&z, 0, Some(&mut g));
        assert!(l.is_finite() && l > 1000.0, "{l}");
        assert!(g.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn analytic_gradients_match_central_differences() {
        let h = cifar10();
        let mut rng = Rng::new(3);
        let losses = [
            Loss::new(LossSpec::Ce, &h),
            Loss::new(
                LossSpec::Mse {
                    kappa: 2.0,
                    weight: 3.0,
                },
                &h,
            ),
            Loss::new(LossSpec::Soft { beta: 4.0 }, &h),
            Loss::new(
                LossSpec::Hxe {
                    alpha: 0.5,
                    normalize: HxeNormalize::None,
                },
                &h,
            ),
            Loss::new(
                LossSpec::Hxe {
                    alpha: 1.3,
                    normalize: HxeNormalize::Nodes,
                },
                &h,
            ),
        ];
        let (n, k) = (4, 10);
        let z = random_logits(&mut rng, n, k, 2.0);
        let labels = [0, 3, 7, 9];
        for loss in &losses {
            let mut g = vec![0.0; n * k];
            loss.batch_mean(MatrixView::f64(&z, n, k), &labels, Some(&mut g))
                .unwrap();
            let eps = 1e-5;
            for j in 0..n * k {
                let mut zp = z.clone();
                zp[j] += eps;
                let mut zm = z.clone();
                zm[j] -= eps;
                let fp = loss
                    .batch_mean(MatrixView::f64(&zp, n, k), &labels, None)
                    .unwrap();
                let fm = loss
                    .batch_mean(MatrixView::f64(&zm, n, k), &labels, None)
                    .unwrap();
                let fd = (fp - fm) / (2.0 * eps);
                assert!(
                    (fd - g[j]).abs() < 1e-8,
                    "{loss:?} entry {j}: analytic {} vs finite difference {fd}",
                    g[j]
                );
            }
        }
    }

    #[test]
    fn batch_errors_name_the_sample() {
        let h = cifar10();
        let loss = Loss::new(LossSpec::Soft { beta: 1.0 }, &h);
        let z = vec![0.0; 20];
        let e = loss
            .batch_mean(MatrixView::f64(&z, 2, 10), &[1, 10], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label 10 of sample 1"), "{e}");
        let e = loss
            .batch_mean(MatrixView::f64(&z, 4, 5), &[1, 1, 1, 1], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("5 columns but the hierarchy has 10"), "{e}");
        // Batch mean = mean of per-sample values: CE of zero logits is ln 10.
        let ce = Loss::Ce
            .batch_mean(MatrixView::f64(&z, 2, 10), &[1, 2], None)
            .unwrap();
        assert!((ce - 10f64.ln()).abs() < 1e-15);
    }
}
