//! `nclab.Hierarchy`: a class hierarchy (a rooted tree whose leaves are the classes), its
//! LCA-height distances, soft labels and coarse labels, read and written in every format of
//! the CLI.

use std::path::PathBuf;

use nclab_core::hierarchy::{self, Edge, Hierarchy as Tree};
use nclab_core::losses::SoftTargets;
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFrozenSet, PyInt, PySet, PyString, PyTuple};

use crate::arrays::Count;
use crate::errors;

/// A class hierarchy.
#[pyclass(module = "nclab", name = "Hierarchy", frozen)]
pub struct Hierarchy {
    pub tree: Tree,
}

/// The edges of `from_edges`: an ordered iterable (a list, a tuple, a generator) of
/// `(parent, child)` pairs of str names. The classes are numbered in the order of the edges,
/// so a set or a dict, whose order Python does not promise, is refused; so is anything else
/// that is not such a pair, naming the item (a number or bytes as a name, a triple, a string
/// of edge-list text). An exception raised by the iterable itself passes through.
fn edge_list(edges: &Bound<'_, PyAny>) -> PyResult<Vec<Edge>> {
    let items = ordered_items(
        edges,
        "edges",
        "(parent, child) pairs",
        "edge-list text (`parent child` per line) goes in a file for Hierarchy.load, or is split \
         into pairs: [tuple(line.split()) for line in text.splitlines()]",
    )?;
    let mut out = Vec::new();
    for (i, item) in items.enumerate() {
        let item = item?;
        let bad = |why: String| item_error("edges", i, &item, why);
        // A pair: any sequence of two (a tuple, a list), not a string of two characters.
        let is_pair = !item.is_instance_of::<PyString>()
            && !item.is_instance_of::<PyBytes>()
            && item.len().is_ok_and(|n| n == 2);
        if !is_pair {
            return Err(bad("expected a (parent, child) pair".into()));
        }
        let (parent, child) = (item.get_item(0)?, item.get_item(1)?);
        let name = |x: &Bound<'_, PyAny>| name_of(x).map_err(bad);
        out.push(Edge {
            parent: name(&parent)?,
            child: name(&child)?,
            location: format!("edge {i}"),
        });
    }
    Ok(out)
}

/// The `classes` of `from_edges`: an ordered iterable of str names, refused as `edges` are.
fn class_list(classes: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let text_hint = "text.split() makes a list of the names in a line";
    ordered_items(classes, "classes", "class names", text_hint)?
        .enumerate()
        .map(|(i, item)| {
            let item = item?;
            name_of(&item).map_err(|why| item_error("classes", i, &item, why))
        })
        .collect()
}

/// The error of item `i` of the argument `what`: `what: item i, repr(item): why`.
fn item_error(what: &str, i: usize, item: &Bound<'_, PyAny>, why: String) -> PyErr {
    let shown = item.repr().map_or("?".to_string(), |r| r.to_string());
    PyTypeError::new_err(format!("{what}: item {i}, {shown}: {why}"))
}

/// The type name of a Python object, for messages.
fn type_name(x: &Bound<'_, PyAny>) -> String {
    x.get_type()
        .name()
        .map_or("?".to_string(), |n| n.to_string())
}

/// The items of `arg` (the argument `what`, holding `items`): refused when it is a str or
/// bytes (text, not a list of names: the message adds `text_hint`, how to make one of it), a
/// set or a dict (the classes are numbered in order, and Python does not promise theirs), or
/// not iterable; an error of the iterable itself passes through.
fn ordered_items<'py>(
    arg: &Bound<'py, PyAny>,
    what: &str,
    items: &str,
    text_hint: &str,
) -> PyResult<Bound<'py, pyo3::types::PyIterator>> {
    if arg.is_instance_of::<PyString>() || arg.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err(format!(
            "{what}: expected {items}, got a {}; {text_hint}",
            type_name(arg)
        )));
    }
    if arg.is_instance_of::<PySet>()
        || arg.is_instance_of::<PyFrozenSet>()
        || arg.is_instance_of::<PyDict>()
    {
        return Err(PyTypeError::new_err(format!(
            "{what}: got a {}, whose order Python does not promise; the classes are numbered in \
             order, so pass a list (sorted(...) for a fixed order)",
            type_name(arg)
        )));
    }
    arg.try_iter().map_err(|e| {
        if e.is_instance_of::<PyTypeError>(arg.py()) {
            PyTypeError::new_err(format!(
                "{what}: expected an iterable of {items}, got {}",
                type_name(arg)
            ))
        } else {
            e
        }
    })
}

/// A class or node name: a str; the reason when `x` is not one (with a hint for bytes and
/// numbers).
fn name_of(x: &Bound<'_, PyAny>) -> Result<String, String> {
    x.extract::<String>().map_err(|_| {
        let hint = if x.is_instance_of::<PyBytes>() {
            " (x.decode() makes a str of bytes)"
        } else if x.is_instance_of::<PyInt>() {
            " (str(x) makes a name of a number)"
        } else {
            ""
        };
        format!("names are str, not {}{hint}", type_name(x))
    })
}

impl Hierarchy {
    /// What equality compares: the classes in order and the edges as a set (sorted), so the
    /// order in which a tree's edges were given does not matter.
    fn identity(&self) -> (Vec<String>, Vec<(String, String)>) {
        let mut edges = self.edges();
        edges.sort_unstable();
        (self.classes(), edges)
    }
}

/// A `k x k` row-major matrix as a NumPy array.
fn square<'py>(py: Python<'py>, values: Vec<f64>, k: usize) -> PyResult<Bound<'py, PyArray2<f64>>> {
    numpy::ndarray::Array2::from_shape_vec((k, k), values)
        .map(|a| PyArray2::from_owned_array(py, a))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

#[pymethods]
impl Hierarchy {
    /// A built-in hierarchy: "cifar10", "cifar100", "fashion-mnist" (and their spellings
    /// "cifar-10", "cifar-100", "fashion_mnist", "fashionmnist"), "flat:K", or "flat" with
    /// `num_classes`.
    #[staticmethod]
    #[pyo3(signature = (name, num_classes=None))]
    fn builtin(name: &str, num_classes: Option<Count>) -> PyResult<Self> {
        let (name, num_classes) = (name.trim(), num_classes.map(|k| k.0));
        match Tree::builtin(name, num_classes) {
            Some(tree) => {
                let tree = tree.map_err(errors::core)?;
                if let Some(k) = num_classes {
                    tree.check_num_classes(k).map_err(errors::core)?;
                }
                Ok(Hierarchy { tree })
            }
            None => Err(PyValueError::new_err(format!(
                "no built-in hierarchy {name:?}; the built-ins are {}",
                hierarchy::BUILTIN_NAMES
            ))),
        }
    }

    /// Reads a hierarchy file (an edge list `parent child` per line, or nested JSON) or
    /// resolves a built-in name.
    #[staticmethod]
    fn load(path: PathBuf) -> PyResult<Self> {
        let spec = path.to_string_lossy();
        Tree::load(&spec)
            .map(|tree| Hierarchy { tree })
            .map_err(errors::core)
    }

    /// A hierarchy from `(parent, child)` name pairs; the classes are the leaves in order of
    /// first appearance, or `classes` when given (every leaf, once).
    #[staticmethod]
    #[pyo3(signature = (edges, classes=None))]
    fn from_edges(edges: &Bound<'_, PyAny>, classes: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let edges = edge_list(edges)?;
        let classes = classes.map(class_list).transpose()?;
        let tree = Tree::from_edges("edges", &edges).map_err(errors::core)?;
        let tree = match classes {
            Some(c) => tree.with_class_order(&c).map_err(errors::core)?,
            None => tree,
        };
        Ok(Hierarchy { tree })
    }

    /// The class names, in class-index order.
    #[getter]
    fn classes(&self) -> Vec<String> {
        self.tree.class_names()
    }

    /// The number of classes K (the leaves).
    #[getter]
    fn num_classes(&self) -> usize {
        self.tree.num_classes()
    }

    /// The number of nodes, root and leaves included.
    #[getter]
    fn num_nodes(&self) -> usize {
        self.tree.num_nodes()
    }

    /// The depth of the deepest leaf (the root has depth 0).
    #[getter]
    fn max_depth(&self) -> usize {
        self.tree.max_depth()
    }

    /// Where the hierarchy came from (a built-in name or a file path).
    #[getter]
    fn source(&self) -> String {
        self.tree.source().to_string()
    }

    /// Whether this is a built-in tree ("cifar10", "flat:10", ...), which a run records by
    /// name; any other tree is saved beside the run.
    #[getter]
    fn is_builtin(&self) -> bool {
        self.tree.is_builtin()
    }

    /// `d(i, j)`: the height of the lowest common ancestor of classes i and j (0 on the
    /// diagonal), a K x K float64 array.
    fn lca_heights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let d = self.tree.try_distance_matrix().map_err(errors::core)?;
        square(py, d, self.tree.num_classes())
    }

    /// `d(a, b)` for the classes at indices `a` and `b`: the height of their lowest common
    /// ancestor (0 when `a == b`), without building the K x K matrix.
    fn distance(&self, a: Count, b: Count) -> PyResult<usize> {
        let k = self.tree.num_classes();
        match (a.0, b.0) {
            (a, b) if a < k && b < k => Ok(self.tree.distance(a, b)),
            (a, b) => Err(PyIndexError::new_err(format!(
                "class index {} is out of range for {k} classes (0..{})",
                if a >= k { a } else { b },
                k - 1
            ))),
        }
    }

    /// `dn(i, j) = d(i, j) / max d`, in [0, 1], a K x K float64 array.
    fn normalized_distances<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let dn = self
            .tree
            .try_normalized_distance_matrix()
            .map_err(errors::core)?;
        square(py, dn, self.tree.num_classes())
    }

    /// Soft-label targets (Bertinetto et al. 2020): row t is the target for true class t,
    /// `q_t(a) = exp(-beta dn(a, t)) / sum_b exp(-beta dn(b, t))`; a K x K float64 array.
    fn soft_labels<'py>(&self, py: Python<'py>, beta: f64) -> PyResult<Bound<'py, PyArray2<f64>>> {
        if !(beta.is_finite() && beta >= 0.0) {
            return Err(PyValueError::new_err(format!(
                "beta must be finite and >= 0, got {beta}"
            )));
        }
        self.tree.check_matrix_size().map_err(errors::core)?;
        let q = SoftTargets::new(&self.tree, beta);
        square(py, q.by_true_class, self.tree.num_classes())
    }

    /// The largest `mean_tree_correlation` class means can reach on this tree when their
    /// pairwise cosines do not tie: the pairs' tree distances tie, so it is below 1,
    /// `sqrt(1 - sum (t^3 - t) / (n^3 - n))` over the `t` pairs at each distance of the
    /// `n = K (K - 1) / 2`. `None` on a flat tree (every pair tied: no correlation).
    fn tree_correlation_ceiling(&self) -> Option<f64> {
        self.tree.tree_correlation_ceiling()
    }

    /// The beta whose soft labels put, on average over the classes, `mass` on the true class.
    fn beta_for_mass(&self, mass: f64) -> PyResult<f64> {
        SoftTargets::beta_for_mass(&self.tree, mass).map_err(errors::core)
    }

    /// Coarse labels at `depth` (1 = the root's children): `(labels, names)` where
    /// `labels[c]` is the coarse group of class c (an int64 array of length K) and `names` the
    /// groups' node names. A class whose leaf is not deeper than `depth` is its own group.
    #[pyo3(signature = (depth=Count(1)))]
    fn coarse_labels<'py>(
        &self,
        py: Python<'py>,
        depth: Count,
    ) -> (Bound<'py, PyArray1<i64>>, Vec<String>) {
        let depth = depth.0;
        let (labels, _) = self.tree.coarse_labels(depth);
        let labels: Vec<i64> = labels.into_iter().map(|v| v as i64).collect();
        (
            PyArray1::from_vec(py, labels),
            self.tree.coarse_names(depth),
        )
    }

    /// The `(parent, child)` name pairs, in pre-order.
    fn edges(&self) -> Vec<(String, String)> {
        self.tree
            .edges()
            .into_iter()
            .map(|(p, c)| (self.tree.name(p).to_string(), self.tree.name(c).to_string()))
            .collect()
    }

    /// The hierarchy as text: "edges" (one `parent child` pair per line), "json" (nested) or
    /// "dot" (Graphviz, write-only).
    #[pyo3(signature = (format="edges"))]
    fn to_string(&self, format: &str) -> PyResult<String> {
        match format {
            "edges" => hierarchy::write_edges(&self.tree).map_err(errors::core),
            "json" => Ok(hierarchy::write_json(&self.tree)),
            "dot" => Ok(hierarchy::write_dot(&self.tree)),
            other => Err(PyValueError::new_err(format!(
                "format must be \"edges\", \"json\" or \"dot\", got {other:?}"
            ))),
        }
    }

    /// Writes the hierarchy to `path` (atomically): `format` "edges", "json" or "dot", by
    /// default from the extension (.json; .dot or .gv; .txt, .edges, .tsv or none for edges).
    /// Another extension needs `format`: `tree.yaml` would have been an edge list.
    #[pyo3(signature = (path, format=None))]
    fn save(&self, path: PathBuf, format: Option<&str>) -> PyResult<()> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let format = match (format, ext.as_deref()) {
            (Some(format), _) => format,
            (None, Some("json")) => "json",
            (None, Some("dot") | Some("gv")) => "dot",
            (None, None | Some("txt") | Some("edges") | Some("tsv")) => "edges",
            (None, Some(other)) => {
                return Err(PyValueError::new_err(format!(
                "{}: cannot tell the format from the extension .{other}; give format=\"edges\", \
                     \"json\" or \"dot\", or name the file .txt, .json or .dot",
                path.display()
            )))
            }
        };
        let text = self.to_string(format)?;
        nclab_core::io::write_atomic_bytes(&path, text.as_bytes()).map_err(errors::core)
    }

    fn __len__(&self) -> usize {
        self.tree.num_classes()
    }

    /// Two hierarchies are equal when they have the same classes in the same order and the
    /// same edges (the same tree with the same names), wherever they came from.
    fn __eq__(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.identity().hash(&mut h);
        h.finish()
    }

    /// For pickle and `copy`: a built-in by its name, any other tree by its edges and classes
    /// (`from_edges`).
    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let class = py.get_type::<Hierarchy>();
        if self.tree.is_builtin() {
            let name = (self.tree.source(),).into_pyobject(py)?;
            return Ok((class.getattr("builtin")?, name));
        }
        let args = (self.edges(), self.classes()).into_pyobject(py)?;
        Ok((class.getattr("from_edges")?, args))
    }

    fn __repr__(&self) -> String {
        format!(
            "Hierarchy({:?}: {} classes, {} nodes, depth {})",
            self.tree.source(),
            self.tree.num_classes(),
            self.tree.num_nodes(),
            self.tree.max_depth()
        )
    }
}
