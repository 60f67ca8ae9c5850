//! The training losses of hierarchy.md on tch: CE, MSE, soft labels and HXE.
//!
//! All of them take logits `z` (`N x K`) and integer targets `t` (`N`), and return the batch
//! mean. They are batched tensor expressions (no loop over samples) computed from
//! `log_softmax`, so they never take the log of 0. The hierarchy enters through tensors that
//! are precomputed once by [`Loss::new`]: the soft-label target matrix, and for HXE the leaf
//! masks and weights of the nodes on every class's path to the root.

use anyhow::{ensure, Context};
use nclab_core::hierarchy::Hierarchy;
use tch::{Device, Reduction, Tensor};

pub use nclab_core::losses::{HxeNormalize, LossSpec};

/// What the losses need from a class hierarchy, as plain data. Nodes are numbered
/// `0..node_depths.len()`; classes `0..num_classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct LossTree {
    /// K.
    pub num_classes: usize,
    /// The normalised LCA distances `dn(a, b)`, `K x K` row-major.
    pub dn: Vec<f64>,
    /// `depth(n)` for every node n, root (depth 0) and leaves included.
    pub node_depths: Vec<usize>,
    /// The classes under each node (a leaf: its own class).
    pub node_leaves: Vec<Vec<usize>>,
    /// For each class t, the nodes on its path from the leaf of t up to, not including, the
    /// root (leaf first; each one's parent is the next one, the last one's is the root).
    pub class_paths: Vec<Vec<usize>>,
}

impl LossTree {
    /// Reads what the losses need off a hierarchy: `dn`, every node's depth and classes, and
    /// each class's path from its leaf up to (not including) the root.
    pub fn from_hierarchy(h: &Hierarchy) -> Self {
        let (k, nodes) = (h.num_classes(), h.num_nodes());
        let class_paths = (0..k)
            .map(|c| {
                let mut path = Vec::new();
                let mut n = h.class_node(c);
                while let Some(parent) = h.parent(n) {
                    path.push(n);
                    n = parent;
                }
                path
            })
            .collect();
        LossTree {
            num_classes: k,
            dn: h.normalized_distance_matrix(),
            node_depths: (0..nodes).map(|n| h.depth(n)).collect(),
            node_leaves: (0..nodes).map(|n| h.leaf_classes(n).to_vec()).collect(),
            class_paths,
        }
    }
}

/// A loss ready to evaluate: its spec and the tensors precomputed from the hierarchy.
#[derive(Debug)]
pub struct Loss {
    spec: LossSpec,
    num_classes: i64,
    kind: LossKind,
}

#[derive(Debug)]
enum LossKind {
    Ce,
    Mse {
        kappa: f64,
        weight: f64,
    },
    /// `targets[t]` = the soft-label distribution `q(. | t)` (`K x K` f64, rows sum to 1).
    Soft {
        targets: Tensor,
    },
    /// See [`HxeTensors`].
    Hxe(HxeTensors),
}

/// HXE, telescoped. With `C_0 = t, C_1, ..., C_{m-1}` the path of t below the root and
/// `log p(root) = 0`,
/// `sum_j -lambda(C_j) (log p(C_j) - log p(C_{j+1})) = -sum_j w_j log p(C_j)` with
/// `w_j = lambda(C_j) - lambda(C_{j-1})`, `lambda(C_{-1}) = 0`. So each class needs the leaf
/// masks of its `m` path nodes and the weights `w_j`; paths are padded to the longest with
/// the root (whose mask keeps every leaf) and weight 0.
#[derive(Debug)]
struct HxeTensors {
    /// `M x K`: 0 where the class is under the node, `-inf` elsewhere (row per node).
    node_mask: Tensor,
    /// `K x L` (int64): the path nodes of each class, padded with the root.
    path_nodes: Tensor,
    /// `K x L` (f64): the weights `w_j`, 0 on padding.
    path_weights: Tensor,
}

impl Loss {
    /// Prepares `spec` for `hierarchy` on `device` (see [`Loss::from_tree`]).
    pub fn new(spec: &LossSpec, hierarchy: &Hierarchy, device: Device) -> anyhow::Result<Self> {
        Self::from_tree(spec, &LossTree::from_hierarchy(hierarchy), device)
    }

    /// Prepares `spec` for the hierarchy `tree` on `device`: the soft-label matrix for `soft`,
    /// the HXE masks and weights for `hxe` (weights and soft labels are kept in f64 and cast to
    /// the logits' kind after gathering the batch's rows).
    pub fn from_tree(spec: &LossSpec, tree: &LossTree, device: Device) -> anyhow::Result<Self> {
        let k = tree.num_classes;
        ensure!(k >= 1, "loss {spec}: the hierarchy has no classes");
        ensure!(
            tree.dn.len() == k * k,
            "loss {spec}: dn has {} entries, expected {k} x {k}",
            tree.dn.len()
        );
        let kind = match *spec {
            LossSpec::Ce => LossKind::Ce,
            LossSpec::Mse { kappa, weight } => LossKind::Mse { kappa, weight },
            LossSpec::Soft { beta } => LossKind::Soft {
                targets: soft_targets(tree, beta, device),
            },
            LossSpec::Hxe { alpha, normalize } => LossKind::Hxe(
                hxe_tensors(tree, alpha, normalize, device)
                    .with_context(|| format!("loss {spec}"))?,
            ),
        };
        Ok(Loss {
            spec: *spec,
            num_classes: k as i64,
            kind,
        })
    }

    /// The spec this loss was built from.
    pub fn spec(&self) -> &LossSpec {
        &self.spec
    }

    /// The batch mean of the loss over `logits` (`N x K`, float) and `targets` (`N`, int64,
    /// on the same device); differentiable with respect to the logits.
    pub fn forward(&self, logits: &Tensor, targets: &Tensor) -> Tensor {
        let kind = logits.kind();
        match &self.kind {
            // -log p_t
            LossKind::Ce => logits.log_softmax(-1, kind).nll_loss(targets),
            // (sum_a (z_a - kappa [a = t])^2 + (weight - 1) (z_t - kappa)^2) / K; the batch mean
            // of the first sum is the mean over all N K entries.
            LossKind::Mse { kappa, weight } => {
                let target = logits
                    .zeros_like()
                    .scatter_value(1, &targets.unsqueeze(1), *kappa);
                let plain = logits.mse_loss(&target, Reduction::Mean);
                if *weight == 1.0 {
                    return plain;
                }
                let zt = logits.gather(1, &targets.unsqueeze(1), false);
                let extra = (zt - *kappa).square().mean(kind);
                plain + extra * ((*weight - 1.0) / self.num_classes as f64)
            }
            // -sum_a q_a(t) log p_a
            LossKind::Soft { targets: q } => {
                let q = q.index_select(0, targets).to_kind(kind);
                let logp = logits.log_softmax(-1, kind);
                -(q * logp).sum_dim_intlist(-1, false, kind).mean(kind)
            }
            // -sum_j w_j(t) log p(C_j(t)), log p(C) = logsumexp over the leaves of C.
            LossKind::Hxe(h) => {
                let n = logits.size()[0];
                let nodes = h.path_nodes.index_select(0, targets); // N x L
                let l = nodes.size()[1];
                let mask =
                    h.node_mask
                        .index_select(0, &nodes.view([-1]))
                        .view([n, l, self.num_classes]);
                let logp = logits.log_softmax(-1, kind).unsqueeze(1); // N x 1 x K
                let log_node = (logp + mask.to_kind(kind)).logsumexp([-1], false); // N x L
                let w = h.path_weights.index_select(0, targets).to_kind(kind);
                -(w * log_node).sum_dim_intlist(-1, false, kind).mean(kind)
            }
        }
    }
}

/// `q(a | t) = exp(-beta dn(a, t)) / sum_b exp(-beta dn(b, t))` as a `K x K` f64 tensor with
/// row t holding `q(. | t)` (softmax computed in f64 after subtracting the row maximum).
fn soft_targets(tree: &LossTree, beta: f64, device: Device) -> Tensor {
    let k = tree.num_classes;
    let mut q = vec![0f64; k * k];
    for t in 0..k {
        let row = &mut q[t * k..(t + 1) * k];
        let logits: Vec<f64> = (0..k).map(|a| -beta * tree.dn[a * k + t]).collect();
        let max = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = logits.iter().map(|v| (v - max).exp()).sum();
        for (dst, v) in row.iter_mut().zip(&logits) {
            *dst = (v - max).exp() / sum;
        }
    }
    Tensor::from_slice(&q)
        .view([k as i64, k as i64])
        .to_device(device)
}

/// The HXE tensors of [`HxeTensors`] for `lambda(C) = exp(-alpha depth(C))`, divided by
/// `sum_n exp(-alpha depth(n))` with `normalize = nodes`.
fn hxe_tensors(
    tree: &LossTree,
    alpha: f64,
    normalize: HxeNormalize,
    device: Device,
) -> anyhow::Result<HxeTensors> {
    let k = tree.num_classes;
    let m = tree.node_depths.len();
    ensure!(
        tree.node_leaves.len() == m,
        "the tree lists leaves for {} of its {m} nodes",
        tree.node_leaves.len()
    );
    ensure!(
        tree.class_paths.len() == k,
        "the tree has paths for {} of its {k} classes",
        tree.class_paths.len()
    );
    let root = tree
        .node_depths
        .iter()
        .position(|&d| d == 0)
        .context("the tree has no node of depth 0")?;
    let scale = match normalize {
        HxeNormalize::None => 1.0,
        HxeNormalize::Nodes => tree
            .node_depths
            .iter()
            .map(|&d| (-alpha * d as f64).exp())
            .sum(),
    };
    let lambda = |node: usize| (-alpha * tree.node_depths[node] as f64).exp() / scale;

    let mut mask = vec![f32::NEG_INFINITY; m * k];
    for (node, leaves) in tree.node_leaves.iter().enumerate() {
        for &c in leaves {
            ensure!(
                c < k,
                "node {node} lists class {c}, but there are {k} classes"
            );
            mask[node * k + c] = 0.0;
        }
    }
    let l = tree
        .class_paths
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .max(1);
    let mut nodes = vec![root as i64; k * l];
    let mut weights = vec![0f64; k * l];
    for (t, path) in tree.class_paths.iter().enumerate() {
        ensure!(!path.is_empty(), "class {t} has an empty path to the root");
        let mut previous = 0.0;
        for (j, &node) in path.iter().enumerate() {
            ensure!(
                node < m,
                "class {t}'s path names node {node}, but there are {m} nodes"
            );
            ensure!(node != root, "class {t}'s path contains the root");
            nodes[t * l + j] = node as i64;
            weights[t * l + j] = lambda(node) - previous;
            previous = lambda(node);
        }
    }
    let (k, l, m) = (k as i64, l as i64, m as i64);
    Ok(HxeTensors {
        node_mask: Tensor::from_slice(&mask).view([m, k]).to_device(device),
        path_nodes: Tensor::from_slice(&nodes).view([k, l]).to_device(device),
        path_weights: Tensor::from_slice(&weights).view([k, l]).to_device(device),
    })
}
