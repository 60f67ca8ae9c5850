//! The [`Hierarchy`] type: a rooted tree whose leaves are exactly the K classes.
//!
//! Definitions (docs/losses-and-hierarchies.md):
//! * `depth(n)`: number of edges from the root to `n` (the root has depth 0);
//! * `height(n)`: 0 for a leaf, else `1 + max height of its children`;
//! * `d(a, b) = height(LCA(a, b))` for classes `a`, `b` (0 when `a = b`);
//! * `dn(a, b) = d(a, b) / max_{a,b} d(a, b)`.
//!
//! Every algorithm here is iterative and takes O(nodes) memory (besides the K x K matrices,
//! which are refused above [`MAX_MATRIX_ENTRIES`] entries by their checked versions), so a
//! 100,000-deep chain is as cheap as a 100,000-class flat tree. The one exception is
//! [`Hierarchy::leaf_classes`], whose per-node class lists (as large as the sum of the leaf
//! depths) are built on first use only.
//!
//! Nodes are numbered `0..num_nodes()`; classes are numbered `0..num_classes()` in the class
//! order (the dataset's label order for built-ins, the order of first appearance for files,
//! or the order imposed by [`Hierarchy::with_class_order`]).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::{short_list, LISTED};
use crate::{Error, Result};

/// Most entries of a K x K matrix (distances, soft labels) that nclab builds: 2^26, that is
/// 512 MiB of f64 and K up to 8192. [`Hierarchy::check_matrix_size`] refuses more.
pub const MAX_MATRIX_ENTRIES: usize = 1 << 26;

/// One `parent -> child` edge and where it came from (e.g. `"line 12"`), for error messages.
#[derive(Clone, Debug)]
pub struct Edge {
    pub parent: String,
    pub child: String,
    pub location: String,
}

/// A validated class hierarchy. See the module documentation for the definitions.
#[derive(Clone, Debug)]
pub struct Hierarchy {
    /// Where it came from (`"cifar10"`, a file path, ...), used in error messages.
    source: String,
    names: Vec<String>,
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    depth: Vec<usize>,
    height: Vec<usize>,
    root: usize,
    /// class index -> node
    class_nodes: Vec<usize>,
    /// node -> class index (leaves only)
    node_class: Vec<Option<usize>>,
    /// The classes in pre-order of their leaves: the classes under node `n` are
    /// `leaf_seq[leaf_start[n]..leaf_start[n] + leaf_count[n]]` (a subtree is contiguous).
    leaf_seq: Vec<usize>,
    leaf_start: Vec<usize>,
    leaf_count: Vec<usize>,
    /// node -> the classes of the leaves under it, ascending class index; built on first use
    /// (its size is the sum of the leaf depths, which can be quadratic in the nodes).
    leaf_sets: OnceLock<Vec<Vec<usize>>>,
    index: HashMap<String, usize>,
}

/// The nodes and parent links of an edge list as it is read, before it is known to be a tree:
/// nodes are numbered in order of first appearance.
#[derive(Default)]
struct Links {
    index: HashMap<String, usize>,
    names: Vec<String>,
    parent: Vec<Option<usize>>,
    /// Where each node's parent link was given (an edge's location).
    parent_loc: Vec<Option<String>>,
    children: Vec<Vec<usize>>,
}

impl Links {
    /// The number of the node called `name`, a new one (no parent, no children) if unseen.
    fn intern(&mut self, name: &str) -> usize {
        *self.index.entry(name.to_string()).or_insert_with(|| {
            self.names.push(name.to_string());
            self.parent.push(None);
            self.parent_loc.push(None);
            self.children.push(Vec::new());
            self.names.len() - 1
        })
    }

    /// Adds the edge `e.parent -> e.child`. Errors: a node that is its own parent, an edge
    /// given twice, a child that already has another parent (each naming both locations).
    fn add(&mut self, source: &str, e: &Edge) -> Result<()> {
        if e.parent.is_empty() || e.child.is_empty() {
            // No format can write it back: an edge list drops it, JSON refuses it.
            return Err(Error::invalid(format!(
                "{source}: {}: an empty node name (parent '{}', child '{}')",
                e.location, e.parent, e.child
            )));
        }
        if e.parent == e.child {
            return Err(Error::invalid(format!(
                "{source}: {}: node '{}' is its own parent (a cycle)",
                e.location, e.child
            )));
        }
        let p = self.intern(&e.parent);
        let c = self.intern(&e.child);
        if let Some(old) = self.parent[c] {
            if old == p {
                return Err(Error::invalid(format!(
                    "{source}: {}: duplicate node '{}': listed twice under '{}' (also {})",
                    e.location,
                    e.child,
                    e.parent,
                    self.parent_loc[c].as_deref().unwrap_or("?")
                )));
            }
            return Err(Error::invalid(format!(
                "{source}: {}: node '{}' has two parents: '{}' ({}) and '{}'",
                e.location,
                e.child,
                self.names[old],
                self.parent_loc[c].as_deref().unwrap_or("?"),
                e.parent
            )));
        }
        self.parent[c] = Some(p);
        self.parent_loc[c] = Some(e.location.clone());
        self.children[p].push(c);
        Ok(())
    }

    /// The node without a parent, `None` when every node has one (then they lie on cycles);
    /// more than one is an error listing them.
    fn single_root(&self, source: &str) -> Result<Option<usize>> {
        let roots: Vec<usize> = (0..self.names.len())
            .filter(|&n| self.parent[n].is_none())
            .collect();
        if roots.len() > 1 {
            let list = short_list(
                roots.iter().map(|&r| format!("'{}'", self.names[r])),
                LISTED,
            );
            return Err(Error::invalid(format!(
                "{source}: more than one root: {list} (every node but one needs a parent)"
            )));
        }
        Ok(roots.first().copied())
    }

    /// The depth of every node below `root` (`usize::MAX` for a node not reached, and for
    /// every node when there is no root) and the nodes reached in pre-order (children in
    /// their given order), by an explicit stack.
    fn depths_from(&self, root: Option<usize>) -> (Vec<usize>, Vec<usize>) {
        let mut depth = vec![usize::MAX; self.names.len()];
        let mut order = Vec::with_capacity(self.names.len());
        if let Some(root) = root {
            depth[root] = 0;
            let mut stack = vec![root];
            while let Some(n) = stack.pop() {
                order.push(n);
                for &c in self.children[n].iter().rev() {
                    depth[c] = depth[n] + 1;
                    stack.push(c);
                }
            }
        }
        (depth, order)
    }

    /// Every node must have been reached from the root. Every node has at most one parent, so
    /// a node not reached lies on or below a cycle of parent links: the error names the
    /// cycle (`a -> b -> ... -> a`) and where the link into its first node was given.
    fn check_all_reached(&self, source: &str, depth: &[usize]) -> Result<()> {
        let Some(start) = (0..self.names.len()).find(|&n| depth[n] == usize::MAX) else {
            return Ok(());
        };
        let names = &self.names;
        let parent = |n: usize| self.parent[n].expect("an unreachable node has a parent");
        // Walk up the parent links until a node repeats: that node is on the cycle.
        let mut seen = vec![false; names.len()];
        let mut n = start;
        while !seen[n] {
            seen[n] = true;
            n = parent(n);
        }
        let mut cycle = vec![names[n].clone()];
        let mut m = parent(n);
        while m != n {
            cycle.push(names[m].clone());
            m = parent(m);
        }
        cycle.push(names[n].clone());
        cycle.reverse();
        Err(Error::invalid(format!(
            "{source}: {}: cycle through node '{}': {}",
            self.parent_loc[n].as_deref().unwrap_or("?"),
            names[n],
            cycle.join(" -> ")
        )))
    }
}

impl Hierarchy {
    /// Builds and validates a tree from edges given in order; the classes are the leaves in the
    /// order of their first appearance. `source` names the input in error messages.
    ///
    /// Errors (each naming the node and the location of the edge at fault): an empty edge
    /// list, a node that is its own parent or lies on a cycle, a node with two parents, more
    /// than one root.
    pub fn from_edges(source: &str, edges: &[Edge]) -> Result<Hierarchy> {
        if edges.is_empty() {
            return Err(Error::invalid(format!(
                "{source}: the hierarchy has no edges (a tree needs a root and at least one class)"
            )));
        }
        let mut links = Links::default();
        for e in edges {
            links.add(source, e)?;
        }
        let root = links.single_root(source)?;
        let (depth, order) = links.depths_from(root);
        links.check_all_reached(source, &depth)?;
        let root = root.expect("a tree where every node is reached has a root");
        let Links {
            index,
            names,
            parent,
            children,
            ..
        } = links;
        // Classes: leaves in order of first appearance (node numbering is first appearance).
        let class_nodes: Vec<usize> = (0..names.len())
            .filter(|&n| children[n].is_empty())
            .collect();
        let mut h = Hierarchy {
            source: source.to_string(),
            names,
            parent,
            children,
            depth,
            height: Vec::new(),
            root,
            class_nodes,
            node_class: Vec::new(),
            leaf_seq: Vec::new(),
            leaf_start: Vec::new(),
            leaf_count: Vec::new(),
            leaf_sets: OnceLock::new(),
            index,
        };
        h.finish(&order);
        Ok(h)
    }

    /// Recomputes heights, the class maps and the leaf ranges (`order` is a pre-order), in
    /// O(nodes) time and memory.
    fn finish(&mut self, preorder: &[usize]) {
        let n = self.names.len();
        self.height = vec![0; n];
        self.leaf_count = vec![0; n];
        for &v in preorder.iter().rev() {
            if self.children[v].is_empty() {
                self.leaf_count[v] = 1;
            }
            if let Some(p) = self.parent[v] {
                self.height[p] = self.height[p].max(self.height[v] + 1);
                self.leaf_count[p] += self.leaf_count[v];
            }
        }
        self.node_class = vec![None; n];
        for (c, &v) in self.class_nodes.iter().enumerate() {
            self.node_class[v] = Some(c);
        }
        self.leaf_start = vec![0; n];
        self.leaf_seq = Vec::with_capacity(self.class_nodes.len());
        for &v in preorder {
            self.leaf_start[v] = self.leaf_seq.len();
            if let Some(c) = self.node_class[v] {
                self.leaf_seq.push(c);
            }
        }
        self.leaf_sets = OnceLock::new();
    }

    /// The classes under node `n` in pre-order of their leaves (not sorted).
    fn leaves_under(&self, n: usize) -> &[usize] {
        let start = self.leaf_start[n];
        &self.leaf_seq[start..start + self.leaf_count[n]]
    }

    fn preorder(&self) -> Vec<usize> {
        let mut order = Vec::with_capacity(self.names.len());
        let mut stack = vec![self.root];
        while let Some(n) = stack.pop() {
            order.push(n);
            stack.extend(self.children[n].iter().rev());
        }
        order
    }

    /// The same tree with the classes in the given order (e.g. the dataset's label order).
    ///
    /// Errors, naming every class at fault: a duplicate class, a class that is not a node of
    /// the tree, a class that is an internal node (not a leaf), a leaf that is not a class.
    pub fn with_class_order<S: AsRef<str>>(mut self, classes: &[S]) -> Result<Hierarchy> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, c) in classes.iter().enumerate() {
            if let Some(j) = seen.insert(c.as_ref(), i) {
                return Err(Error::invalid(format!(
                    "{}: duplicate class '{}' (positions {j} and {i} of the class list)",
                    self.source,
                    c.as_ref()
                )));
            }
        }
        let mut nodes = Vec::with_capacity(classes.len());
        let mut missing = Vec::new();
        for c in classes {
            match self.index.get(c.as_ref()) {
                None => missing.push(format!("'{}'", c.as_ref())),
                Some(&v) if !self.children[v].is_empty() => {
                    return Err(Error::invalid(format!(
                        "{}: class '{}' is not a leaf (it has children: {})",
                        self.source,
                        c.as_ref(),
                        short_list(
                            self.children[v]
                                .iter()
                                .map(|&x| format!("'{}'", self.names[x])),
                            LISTED
                        )
                    )))
                }
                Some(&v) => nodes.push(v),
            }
        }
        if !missing.is_empty() {
            return Err(Error::invalid(format!(
                "{}: class(es) not in the hierarchy: {}",
                self.source,
                short_list(missing.into_iter(), LISTED)
            )));
        }
        let extra: Vec<String> = self
            .class_nodes
            .iter()
            .filter(|&&v| !seen.contains_key(self.names[v].as_str()))
            .map(|&v| format!("'{}'", self.names[v]))
            .collect();
        if !extra.is_empty() {
            return Err(Error::invalid(format!(
                "{}: leaf node(s) that are not classes: {}",
                self.source,
                short_list(extra.into_iter(), LISTED)
            )));
        }
        self.class_nodes = nodes;
        let order = self.preorder();
        self.finish(&order);
        Ok(self)
    }

    /// Checks that the hierarchy has exactly `k` classes (the data's label count).
    pub fn check_num_classes(&self, k: usize) -> Result<()> {
        if self.num_classes() != k {
            return Err(Error::invalid(format!(
                "hierarchy '{}' has {} classes but the data has {k}; use a hierarchy with one \
                 leaf per class",
                self.source,
                self.num_classes(),
            )));
        }
        Ok(())
    }

    /// Where the hierarchy came from (built-in name or file path).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of nodes (internal nodes and leaves).
    pub fn num_nodes(&self) -> usize {
        self.names.len()
    }

    /// Number of classes K (= number of leaves).
    pub fn num_classes(&self) -> usize {
        self.class_nodes.len()
    }

    pub fn root(&self) -> usize {
        self.root
    }

    /// The name of node `n`.
    pub fn name(&self, n: usize) -> &str {
        &self.names[n]
    }

    /// The node called `name`, if any.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }

    pub fn parent(&self, n: usize) -> Option<usize> {
        self.parent[n]
    }

    /// Children of node `n` in the order they were given.
    pub fn children(&self, n: usize) -> &[usize] {
        &self.children[n]
    }

    pub fn is_leaf(&self, n: usize) -> bool {
        self.children[n].is_empty()
    }

    /// Edges from the root to `n`.
    pub fn depth(&self, n: usize) -> usize {
        self.depth[n]
    }

    /// 0 for a leaf, else 1 + the largest height of its children.
    pub fn height(&self, n: usize) -> usize {
        self.height[n]
    }

    /// Depth of the deepest node.
    pub fn max_depth(&self) -> usize {
        self.height[self.root]
    }

    /// Class names in class order.
    pub fn class_names(&self) -> Vec<String> {
        self.class_nodes
            .iter()
            .map(|&v| self.names[v].clone())
            .collect()
    }

    /// The leaf node of class `c`.
    pub fn class_node(&self, c: usize) -> usize {
        self.class_nodes[c]
    }

    /// The class of node `n` when it is a leaf.
    pub fn node_class(&self, n: usize) -> Option<usize> {
        self.node_class[n]
    }

    /// The classes under node `n` (its leaf set), ascending. The sets of all nodes are built
    /// together on the first call; their total size is the sum of the leaf depths, so prefer
    /// [`Hierarchy::num_leaves`] when the count is enough.
    pub fn leaf_classes(&self, n: usize) -> &[usize] {
        &self.leaf_sets.get_or_init(|| {
            let mut sets = vec![Vec::new(); self.names.len()];
            for (c, &v) in self.class_nodes.iter().enumerate() {
                let mut m = Some(v);
                while let Some(x) = m {
                    sets[x].push(c);
                    m = self.parent[x];
                }
            }
            sets
        })[n]
    }

    /// Number of classes under node `n` (1 for a leaf), in O(1).
    pub fn num_leaves(&self, n: usize) -> usize {
        self.leaf_count[n]
    }

    /// Lowest common ancestor of nodes `a` and `b`.
    pub fn lca(&self, mut a: usize, mut b: usize) -> usize {
        while self.depth[a] > self.depth[b] {
            a = self.parent[a].unwrap();
        }
        while self.depth[b] > self.depth[a] {
            b = self.parent[b].unwrap();
        }
        while a != b {
            a = self.parent[a].unwrap();
            b = self.parent[b].unwrap();
        }
        a
    }

    /// The ancestor of node `n` at depth `depth`, or `n` itself when `n` is not deeper.
    pub fn ancestor_at_depth(&self, mut n: usize, depth: usize) -> usize {
        while self.depth[n] > depth {
            n = self.parent[n].unwrap();
        }
        n
    }

    /// `d(a, b) = height(LCA(a, b))` for classes `a` and `b`.
    pub fn distance(&self, a: usize, b: usize) -> usize {
        self.height[self.lca(self.class_nodes[a], self.class_nodes[b])]
    }

    /// `max_{a,b} d(a, b)`: the largest height of a node with two or more children (0 when
    /// there is a single class).
    pub fn max_distance(&self) -> usize {
        (0..self.names.len())
            .filter(|&n| self.children[n].len() >= 2)
            .map(|n| self.height[n])
            .max()
            .unwrap_or(0)
    }

    /// Checks that a K x K matrix of this hierarchy has at most [`MAX_MATRIX_ENTRIES`]
    /// entries; the error says why and what to do instead.
    pub fn check_matrix_size(&self) -> Result<()> {
        let k = self.num_classes();
        match k.checked_mul(k) {
            Some(e) if e <= MAX_MATRIX_ENTRIES => Ok(()),
            _ => Err(Error::invalid(format!(
                "{}: {k} classes: a {k} x {k} matrix has {} entries, more than the {} \
                 (2^26, 512 MiB of f64, K up to 8192) nclab builds; use a hierarchy with \
                 fewer classes, or compute the distances of the pairs you need with \
                 distance(a, b) (Hierarchy.distance in Python, Hierarchy::distance in Rust)",
                self.source,
                (k as u128) * (k as u128),
                MAX_MATRIX_ENTRIES
            ))),
        }
    }

    /// [`Hierarchy::distance_matrix`], refused (with [`Hierarchy::check_matrix_size`]'s
    /// error) above [`MAX_MATRIX_ENTRIES`] entries. Use this where K comes from input.
    pub fn try_distance_matrix(&self) -> Result<Vec<f64>> {
        self.check_matrix_size()?;
        self.distance_matrix_of_any_size()
    }

    /// [`Hierarchy::normalized_distance_matrix`], refused above [`MAX_MATRIX_ENTRIES`]
    /// entries.
    pub fn try_normalized_distance_matrix(&self) -> Result<Vec<f64>> {
        Ok(self.normalized(self.try_distance_matrix()?))
    }

    /// [`Hierarchy::distance_matrix`] at any K, with an error rather than an abort when its
    /// `K^2` values cannot be allocated: for the mistake metrics, which training computes
    /// beyond [`MAX_MATRIX_ENTRIES`] (a flat tree of 10,000 classes, 800 MB).
    pub fn distance_matrix_of_any_size(&self) -> Result<Vec<f64>> {
        let k = self.num_classes();
        let too_big = || {
            Error::invalid(format!(
                "{}: {k} classes: a {k} x {k} matrix of distances ({:.1} GB) cannot be \
                 allocated; use a hierarchy with fewer classes",
                self.source,
                k as f64 * k as f64 * 8e-9
            ))
        };
        let len = k.checked_mul(k).ok_or_else(too_big)?;
        let mut d = Vec::new();
        d.try_reserve_exact(len).map_err(|_| too_big())?;
        d.resize(len, 0.0);
        Ok(self.fill_distances(d))
    }

    /// The K x K matrix of `d(a, b)`, row-major in class order, computed in O(K^2) without
    /// recursion: for each node, every pair of classes under two different children gets the
    /// node's height. Allocates K^2 values whatever K: where K comes from input, use
    /// [`Hierarchy::try_distance_matrix`].
    pub fn distance_matrix(&self) -> Vec<f64> {
        let k = self.num_classes();
        self.fill_distances(vec![0.0; k * k])
    }

    /// `d`, K x K zeros, with `d(a, b)` written in ([`Hierarchy::distance_matrix`]).
    fn fill_distances(&self, mut d: Vec<f64>) -> Vec<f64> {
        let k = self.num_classes();
        for n in 0..self.names.len() {
            let ch = &self.children[n];
            if ch.len() < 2 {
                continue;
            }
            let h = self.height[n] as f64;
            for (i, &ci) in ch.iter().enumerate() {
                for &cj in &ch[i + 1..] {
                    for &a in self.leaves_under(ci) {
                        for &b in self.leaves_under(cj) {
                            d[a * k + b] = h;
                            d[b * k + a] = h;
                        }
                    }
                }
            }
        }
        d
    }

    /// How many pairs of classes `a < b` lie at each tree distance: `(d, count)` in increasing
    /// `d`, counted per branching node (the pairs under two of its children are at its height),
    /// with no K x K matrix.
    pub fn pair_distance_counts(&self) -> Vec<(usize, u64)> {
        let mut counts: std::collections::BTreeMap<usize, u64> = Default::default();
        for (n, ch) in self.children.iter().enumerate() {
            let sizes: Vec<u64> = ch
                .iter()
                .map(|&c| self.leaves_under(c).len() as u64)
                .collect();
            let (sum, squares) = sizes
                .iter()
                .fold((0u64, 0u64), |(s, q), &t| (s + t, q + t * t));
            let pairs = (sum * sum - squares) / 2;
            if pairs > 0 {
                *counts.entry(self.height[n]).or_default() += pairs;
            }
        }
        counts.into_iter().collect()
    }

    /// The largest `mean_tree_correlation` any class means whose pairwise cosines do not tie
    /// can reach on this tree: the [`stats::spearman_ceiling`] of the ties among the pairs'
    /// distances ([`Hierarchy::pair_distance_counts`]), below 1 whenever two pairs are as far
    /// apart. `None` when every pair is (a flat tree, or fewer than 3 classes): the correlation
    /// is undefined there.
    ///
    /// [`stats::spearman_ceiling`]: crate::stats::spearman_ceiling
    pub fn tree_correlation_ceiling(&self) -> Option<f64> {
        let ties: Vec<u64> = self
            .pair_distance_counts()
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        crate::stats::spearman_ceiling(&ties)
    }

    /// The K x K matrix of `dn(a, b) = d(a, b) / max d`, row-major in class order (all zeros
    /// when there is a single class).
    pub fn normalized_distance_matrix(&self) -> Vec<f64> {
        self.normalized(self.distance_matrix())
    }

    /// `d / max d`, in place of the distances `d` (unchanged when `max d = 0`).
    fn normalized(&self, mut d: Vec<f64>) -> Vec<f64> {
        let m = self.max_distance();
        if m > 0 {
            let s = 1.0 / m as f64;
            d.iter_mut().for_each(|x| *x *= s);
        }
        d
    }

    /// Coarse labels at depth `depth`: entry `c` is the index of the ancestor at that depth of
    /// class `c`; a class whose leaf is not deeper than `depth` is its own coarse group.
    /// Coarse groups are numbered in order of first appearance over the classes. Returns
    /// `(class -> coarse index, number of coarse groups)`.
    pub fn coarse_labels(&self, depth: usize) -> (Vec<usize>, usize) {
        let (labels, nodes) = self.coarse_groups(depth);
        (labels, nodes.len())
    }

    /// Names of the coarse groups of [`Hierarchy::coarse_labels`], by coarse index.
    pub fn coarse_names(&self, depth: usize) -> Vec<String> {
        let (_, nodes) = self.coarse_groups(depth);
        nodes.iter().map(|&n| self.names[n].clone()).collect()
    }

    fn coarse_groups(&self, depth: usize) -> (Vec<usize>, Vec<usize>) {
        let mut group_of_node: HashMap<usize, usize> = HashMap::new();
        let mut nodes = Vec::new();
        let labels = self
            .class_nodes
            .iter()
            .map(|&v| {
                let a = self.ancestor_at_depth(v, depth);
                *group_of_node.entry(a).or_insert_with(|| {
                    nodes.push(a);
                    nodes.len() - 1
                })
            })
            .collect();
        (labels, nodes)
    }

    /// All edges `(parent, child)` in pre-order (children in their given order).
    pub fn edges(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(self.names.len().saturating_sub(1));
        for n in self.preorder() {
            for &c in &self.children[n] {
                out.push((n, c));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edges(pairs: &[(&str, &str)]) -> Vec<Edge> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (p, c))| Edge {
                parent: p.to_string(),
                child: c.to_string(),
                location: format!("line {}", i + 1),
            })
            .collect()
    }

    /// root -> { x -> {a, b}, c }: depths root 0, x 1, a 2, b 2, c 1; heights x 1, root 2.
    fn small() -> Hierarchy {
        Hierarchy::from_edges(
            "small",
            &edges(&[("root", "x"), ("x", "a"), ("x", "b"), ("root", "c")]),
        )
        .unwrap()
    }

    #[test]
    fn structure_of_a_small_tree() {
        let h = small();
        assert_eq!(h.class_names(), vec!["a", "b", "c"]);
        let x = h.find("x").unwrap();
        assert_eq!(h.depth(x), 1);
        assert_eq!(h.height(x), 1);
        assert_eq!(h.height(h.root()), 2);
        assert_eq!(h.depth(h.class_node(0)), 2);
        assert_eq!(h.depth(h.class_node(2)), 1);
        assert_eq!(h.leaf_classes(x), &[0, 1]);
        assert_eq!(h.leaf_classes(h.root()), &[0, 1, 2]);
        // d(a,b) = height(x) = 1; d(a,c) = d(b,c) = height(root) = 2.
        assert_eq!(
            h.distance_matrix(),
            vec![0.0, 1.0, 2.0, 1.0, 0.0, 2.0, 2.0, 2.0, 0.0]
        );
        assert_eq!(h.max_distance(), 2);
        assert_eq!(
            h.normalized_distance_matrix(),
            vec![0.0, 0.5, 1.0, 0.5, 0.0, 1.0, 1.0, 1.0, 0.0]
        );
        for a in 0..3 {
            for b in 0..3 {
                assert_eq!(h.distance(a, b) as f64, h.distance_matrix()[a * 3 + b]);
            }
        }
    }

    #[test]
    fn coarse_labels_use_the_ancestor_or_the_leaf_itself() {
        let h = small();
        // depth 1: a, b -> x (group 0); c is at depth 1 -> itself (group 1).
        assert_eq!(h.coarse_labels(1), (vec![0, 0, 1], 2));
        assert_eq!(h.coarse_names(1), vec!["x", "c"]);
        assert_eq!(h.coarse_labels(0), (vec![0, 0, 0], 1));
        // deeper than every leaf: each class its own group.
        assert_eq!(h.coarse_labels(5), (vec![0, 1, 2], 3));
    }

    #[test]
    fn class_order_can_be_imposed() {
        let h = small().with_class_order(&["c", "a", "b"]).unwrap();
        assert_eq!(h.class_names(), vec!["c", "a", "b"]);
        // d(c,a) = 2, d(a,b) = 1.
        assert_eq!(
            h.distance_matrix(),
            vec![0.0, 2.0, 2.0, 2.0, 0.0, 1.0, 2.0, 1.0, 0.0]
        );
        assert_eq!(h.leaf_classes(h.find("x").unwrap()), &[1, 2]);
    }

    #[test]
    fn class_order_errors_name_the_class() {
        let e = small().with_class_order(&["a", "b"]).unwrap_err();
        assert!(e.to_string().contains("not classes: 'c'"), "{e}");
        let e = small().with_class_order(&["a", "b", "c", "z"]).unwrap_err();
        assert!(e.to_string().contains("not in the hierarchy: 'z'"), "{e}");
        let e = small().with_class_order(&["a", "x", "c"]).unwrap_err();
        assert!(e.to_string().contains("class 'x' is not a leaf"), "{e}");
        let e = small().with_class_order(&["a", "b", "a"]).unwrap_err();
        assert!(e.to_string().contains("duplicate class 'a'"), "{e}");
    }

    #[test]
    fn bad_trees_are_rejected_naming_the_node_and_line() {
        let e = Hierarchy::from_edges("t", &edges(&[("r", "a"), ("r", "b"), ("a", "b")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 3") && e.contains("'b' has two parents") && e.contains("'r'"),
            "{e}"
        );
        let e = Hierarchy::from_edges("t", &edges(&[("r", "a"), ("s", "b")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("more than one root: 'r', 's'"), "{e}");
        let e = Hierarchy::from_edges("t", &edges(&[("", "a"), ("", "b")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("line 1: an empty node name (parent '', child 'a')"),
            "{e}"
        );
        // 50,000 disjoint edges: ten roots named, the rest counted.
        let names: Vec<(String, String)> = (0..50_000)
            .map(|i| (format!("r{i}"), format!("c{i}")))
            .collect();
        let pairs: Vec<(&str, &str)> = names
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        let e = Hierarchy::from_edges("t", &edges(&pairs))
            .unwrap_err()
            .to_string();
        assert!(
            e.ends_with("'r8', 'r9', and 49990 more (every node but one needs a parent)"),
            "{e}"
        );
        // r -> a, plus a cycle b -> c -> b hanging nowhere.
        let e = Hierarchy::from_edges("t", &edges(&[("r", "a"), ("b", "c"), ("c", "b")]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cycle through node")
                && (e.contains("b -> c -> b") || e.contains("c -> b -> c")),
            "{e}"
        );
        // a cycle through every node: no root at all.
        let e = Hierarchy::from_edges("t", &edges(&[("a", "b"), ("b", "a")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cycle"), "{e}");
        let e = Hierarchy::from_edges("t", &edges(&[("r", "r")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1: node 'r' is its own parent"), "{e}");
        let e = small().check_num_classes(4).unwrap_err().to_string();
        assert!(e.contains("has 3 classes but the data has 4"), "{e}");
        small().check_num_classes(3).unwrap();
    }

    /// A 100,000-deep chain and a 100,000-deep caterpillar (a class hanging off every spine
    /// node, 100,000 classes): built and queried in O(nodes) time and memory, no recursion.
    #[test]
    fn deep_trees_cost_o_nodes() {
        let n = 100_000;
        let chain: Vec<Edge> = (0..n)
            .map(|i| Edge {
                parent: format!("n{i}"),
                child: format!("n{}", i + 1),
                location: format!("line {}", i + 1),
            })
            .collect();
        let h = Hierarchy::from_edges("chain", &chain).unwrap();
        assert_eq!(
            (h.num_nodes(), h.num_classes(), h.max_depth()),
            (n + 1, 1, n)
        );
        assert_eq!(h.depth(h.class_node(0)), n);
        assert_eq!(h.num_leaves(h.root()), 1);
        assert_eq!(h.distance_matrix(), vec![0.0]);
        assert_eq!(h.max_distance(), 0);

        let mut cat = Vec::new();
        for i in 0..n {
            let spine = format!("s{i}");
            cat.push((spine.clone(), format!("s{}", i + 1)));
            cat.push((spine, format!("leaf{i}")));
        }
        let cat: Vec<Edge> = cat
            .into_iter()
            .enumerate()
            .map(|(i, (parent, child))| Edge {
                parent,
                child,
                location: format!("line {}", i + 1),
            })
            .collect();
        let h = Hierarchy::from_edges("caterpillar", &cat).unwrap();
        // Classes: leaf0, ..., leaf{n-1} by first appearance, then the last spine node.
        assert_eq!(h.num_classes(), n + 1);
        assert_eq!(h.num_leaves(h.root()), n + 1);
        assert_eq!(h.max_depth(), n);
        assert_eq!(h.distance(0, 1), n);
        assert_eq!(h.distance(n - 1, n), 1);
        let e = h.try_distance_matrix().unwrap_err().to_string();
        assert!(
            e.contains("caterpillar: 100001 classes: a 100001 x 100001 matrix has 10000200001 entries, more than the 67108864"),
            "{e}"
        );
    }

    #[test]
    fn matrices_above_the_bound_are_refused() {
        let h = crate::hierarchy::flat(1_000_000).unwrap();
        let e = h.check_matrix_size().unwrap_err().to_string();
        assert!(e.contains("flat:1000000: 1000000 classes"), "{e}");
        assert!(
            e.contains("1000000000000 entries, more than the 67108864"),
            "{e}"
        );
        assert!(e.contains("use a hierarchy with fewer classes"), "{e}");
        assert!(h.try_normalized_distance_matrix().is_err());
        // Beyond the bound, the mistake metrics' matrix is an error, not an abort, where
        // memory cannot hold it: 10^12 values of f64 are 8 TB.
        let e = h.distance_matrix_of_any_size().unwrap_err().to_string();
        assert!(
            e.contains("flat:1000000: 1000000 classes: a 1000000 x 1000000 matrix of distances (8000.0 GB) cannot be allocated"),
            "{e}"
        );
        assert_eq!(
            small().distance_matrix_of_any_size().unwrap(),
            small().distance_matrix()
        );
        let h = crate::hierarchy::flat(8192).unwrap();
        h.check_matrix_size().unwrap();
        assert!(crate::hierarchy::flat(8193)
            .unwrap()
            .check_matrix_size()
            .is_err());
        assert_eq!(
            small().try_distance_matrix().unwrap(),
            small().distance_matrix()
        );
    }

    /// The matrix agrees with the LCA climb when the class order is not the leaves' order.
    #[test]
    fn distance_matrix_matches_distance_under_any_class_order() {
        // r -> {p -> {a, q -> {b, c}}, d, s -> {e, f}}
        let h = Hierarchy::from_edges(
            "t",
            &edges(&[
                ("r", "p"),
                ("p", "a"),
                ("p", "q"),
                ("q", "b"),
                ("q", "c"),
                ("r", "d"),
                ("r", "s"),
                ("s", "e"),
                ("s", "f"),
            ]),
        )
        .unwrap()
        .with_class_order(&["f", "c", "a", "e", "d", "b"])
        .unwrap();
        let d = h.distance_matrix();
        for a in 0..6 {
            for b in 0..6 {
                assert_eq!(d[a * 6 + b], h.distance(a, b) as f64, "{a} {b}");
            }
        }
        assert_eq!(h.leaf_classes(h.find("q").unwrap()), &[1, 5]);
        assert_eq!(h.num_leaves(h.find("p").unwrap()), 3);
    }
}
