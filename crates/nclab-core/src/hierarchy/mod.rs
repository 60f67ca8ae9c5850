//! Class hierarchies (docs/losses-and-hierarchies.md): a rooted tree whose leaves are exactly the K
//! classes, its LCA-height distances `d` and `dn`, coarse labels, readers and writers, and the
//! built-in trees.
//!
//! A hierarchy is named by a *spec*: a built-in name (`cifar10`, `cifar100`, `fashion-mnist`,
//! `flat:K`, or `flat` with K taken from the data) or the path of an edge-list or JSON file.

mod builtins;
mod formats;
mod tree;

use std::path::Path;

pub use builtins::{
    cifar10, cifar100, fashion_mnist, flat, CIFAR100_CLASSES, CIFAR100_SUPERCLASSES,
    CIFAR10_CLASSES, FASHION_MNIST_CLASSES, MAX_FLAT_CLASSES,
};
pub use formats::{parse_edges, parse_json, read_file, write_dot, write_edges, write_json};
pub use tree::{Edge, Hierarchy, MAX_MATRIX_ENTRIES};

use crate::{Error, Result};

/// Names accepted by [`Hierarchy::resolve`] besides file paths.
pub const BUILTIN_NAMES: &str = "cifar10, cifar100, fashion-mnist, flat:K, flat";

impl Hierarchy {
    /// [`Hierarchy::resolve`] without a class count (so `flat` alone is refused).
    pub fn load(spec: &str) -> Result<Hierarchy> {
        Hierarchy::resolve(spec, None)
    }

    /// Resolves a hierarchy spec: a built-in name, then a file (edge list or JSON, by extension
    /// or content). `k`, when given, is the data's number of classes: it sizes `flat` and is
    /// checked against the hierarchy's class count (an error names both).
    pub fn resolve(spec: &str, k: Option<usize>) -> Result<Hierarchy> {
        let spec = spec.trim();
        let h = match Hierarchy::builtin(spec, k) {
            Some(h) => h?,
            None => {
                let path = Path::new(spec);
                if !path.exists() {
                    return Err(Error::invalid(format!(
                        "hierarchy '{spec}' is neither a built-in ({BUILTIN_NAMES}) nor an \
                         existing file"
                    )));
                }
                read_file(path)?
            }
        };
        if let Some(k) = k {
            h.check_num_classes(k)?;
        }
        Ok(h)
    }

    /// The built-in hierarchy called `name` (`cifar10` or `cifar-10`, `cifar100` or
    /// `cifar-100`, `fashion-mnist`, `fashion_mnist` or `fashionmnist`, `flat:K`, and `flat`,
    /// which takes K from `k`), or `None` when `name` is none of these.
    pub fn builtin(name: &str, k: Option<usize>) -> Option<Result<Hierarchy>> {
        Some(Builtin::parse(name)?.and_then(|b| match b {
            Builtin::Cifar10 => Ok(cifar10()),
            Builtin::Cifar100 => Ok(cifar100()),
            Builtin::FashionMnist => Ok(fashion_mnist()),
            Builtin::Flat(Some(k)) => flat(k),
            Builtin::Flat(None) => match k {
                Some(k) => flat(k),
                None => Err(Error::invalid(
                    "hierarchy 'flat' needs the number of classes: write flat:K (e.g. flat:10)",
                )),
            },
        }))
    }

    /// Whether this tree is a built-in, i.e. its source is a built-in name (`flat:K`
    /// included): such a tree is saved and rebuilt by its name alone. Reads the name only.
    pub fn is_builtin(&self) -> bool {
        match Builtin::parse(self.source()) {
            Some(Ok(Builtin::Flat(Some(k)))) => builtins::check_flat_size(k).is_ok(),
            Some(Ok(Builtin::Flat(None))) | Some(Err(_)) | None => false,
            Some(Ok(_)) => true,
        }
    }
}

/// A built-in hierarchy's name, parsed, before any tree is built.
enum Builtin {
    Cifar10,
    Cifar100,
    FashionMnist,
    /// `flat:K`, or `flat` alone (K from the data).
    Flat(Option<usize>),
}

impl Builtin {
    /// `None` when `name` names no built-in; an error for `flat:` followed by anything but a
    /// whole number.
    fn parse(name: &str) -> Option<Result<Builtin>> {
        Some(Ok(match name {
            "cifar10" | "cifar-10" => Builtin::Cifar10,
            "cifar100" | "cifar-100" => Builtin::Cifar100,
            "fashion-mnist" | "fashion_mnist" | "fashionmnist" => Builtin::FashionMnist,
            "flat" => Builtin::Flat(None),
            _ => {
                let n = name.strip_prefix("flat:")?;
                return Some(n.parse().map(|k| Builtin::Flat(Some(k))).map_err(|_| {
                    Error::invalid(format!(
                        "hierarchy '{name}': expected flat:K with K a positive integer"
                    ))
                }));
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A built-in is known by its source, and only a source that `builtin` accepts as it is
    /// counts: not `flat` alone, nor a flat size that cannot be built.
    #[test]
    fn is_builtin_reads_the_source() {
        assert!(Hierarchy::builtin("cifar-10", None)
            .unwrap()
            .unwrap()
            .is_builtin());
        assert!(flat(3).unwrap().is_builtin());
        let edges = |source: &str| {
            let e = |c: &str| Edge {
                parent: "root".into(),
                child: c.into(),
                location: "test".into(),
            };
            Hierarchy::from_edges(source, &[e("a"), e("b")]).unwrap()
        };
        assert!(edges("flat:2").is_builtin());
        for source in ["tree.txt", "flat", "flat:1", "flat:2000000", "flat:x"] {
            assert!(!edges(source).is_builtin(), "{source}");
        }
    }

    /// The folder of the real 608- and 1010-leaf trees, which live beside the checkout, not in
    /// the repository: the tests that read them are ignored by default and fail, naming the
    /// folder, when run (`cargo test -- --ignored`) without it.
    fn real_dir() -> std::path::PathBuf {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/hierarchies");
        assert!(dir.is_dir(), "{} not found", dir.display());
        dir
    }

    #[test]
    #[ignore = "needs the real hierarchies beside the checkout (../shared/data/hierarchies)"]
    fn real_hierarchies_parse_with_their_sizes_and_max_lca_height() {
        let dir = real_dir();
        // Counts and heights checked independently with a short Python script over the files:
        // iNaturalist-19: 1190 nodes, 1010 leaves all at depth 7, max LCA height 7;
        // tiered-ImageNet: 843 nodes, 608 leaves at depths 3..12, max LCA height 12.
        let inat = Hierarchy::load(dir.join("inaturalist19_isa.txt").to_str().unwrap()).unwrap();
        assert_eq!(inat.num_classes(), 1010);
        assert_eq!(inat.num_nodes(), 1190);
        assert_eq!(inat.max_distance(), 7);
        let d = inat.distance_matrix();
        assert_eq!(d.iter().cloned().fold(0.0, f64::max), 7.0);
        let tiered =
            Hierarchy::load(dir.join("tiered_imagenet_isa.txt").to_str().unwrap()).unwrap();
        assert_eq!(tiered.num_classes(), 608);
        assert_eq!(tiered.num_nodes(), 843);
        assert_eq!(tiered.max_distance(), 12);
        assert_eq!(tiered.max_depth(), 12);
        let d = tiered.distance_matrix();
        assert_eq!(d.iter().cloned().fold(0.0, f64::max), 12.0);
        // d agrees with the LCA climb on a sample of pairs.
        for a in (0..608).step_by(37) {
            for b in (0..608).step_by(29) {
                assert_eq!(d[a * 608 + b], tiered.distance(a, b) as f64);
            }
        }
    }

    #[test]
    #[ignore = "needs the real hierarchies beside the checkout (../shared/data/hierarchies)"]
    fn edges_json_edges_round_trip_is_the_identity() {
        let dir = real_dir();
        for f in ["inaturalist19_isa.txt", "tiered_imagenet_isa.txt"] {
            let path = dir.join(f);
            let text = std::fs::read_to_string(&path).unwrap();
            let h = read_file(&path).unwrap();
            let back = parse_json(&write_json(&h), "json").unwrap();
            let edges = write_edges(&back).unwrap();
            // Same set of lines as the original file, and the same class order.
            let mut a: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            let mut b: Vec<&str> = edges.lines().collect();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{f}");
            let again = parse_edges(&edges, "edges").unwrap();
            assert_eq!(again.class_names(), h.class_names(), "{f}");
            assert_eq!(write_edges(&again).unwrap(), write_edges(&h).unwrap());
        }
    }

    #[test]
    fn the_tree_correlation_ceiling_is_what_the_best_ranking_of_the_pairs_reaches() {
        // Independently: the pairs' similarities 1 - d against cosines that rank them in the
        // same order (ties broken by position), through stats::spearman.
        let h = Hierarchy::resolve("fashion-mnist", None).unwrap();
        let k = h.num_classes();
        let mut y: Vec<f64> = Vec::new();
        for i in 0..k {
            for j in i + 1..k {
                y.push(1.0 - h.distance(i, j) as f64);
            }
        }
        y.sort_by(f64::total_cmp);
        let x: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
        let best = crate::stats::spearman(x, y);
        let ceiling = h.tree_correlation_ceiling().unwrap();
        assert!((ceiling - best).abs() < 1e-14, "{ceiling} vs {best}");
        assert!(ceiling < 1.0);
        // docs/metrics.md quotes it to three digits.
        assert_eq!(format!("{ceiling:.3}"), "0.876");
        // A flat tree ties every pair: no ceiling (the correlation is undefined there).
        let flat = Hierarchy::resolve("flat", Some(5)).unwrap();
        assert_eq!(flat.tree_correlation_ceiling(), None);
        // The per-node pair counts agree with the distances pair by pair.
        let mut counted = std::collections::BTreeMap::new();
        for i in 0..k {
            for j in i + 1..k {
                *counted.entry(h.distance(i, j)).or_insert(0u64) += 1;
            }
        }
        assert_eq!(
            h.pair_distance_counts(),
            counted.into_iter().collect::<Vec<_>>()
        );
    }

    #[test]
    fn resolve_built_ins_and_files() {
        assert_eq!(Hierarchy::load("cifar10").unwrap().num_classes(), 10);
        assert_eq!(Hierarchy::load("flat:7").unwrap().num_classes(), 7);
        assert_eq!(
            Hierarchy::resolve("flat", Some(5)).unwrap().num_classes(),
            5
        );
        let e = Hierarchy::load("flat").unwrap_err().to_string();
        assert!(e.contains("needs the number of classes"), "{e}");
        let e = Hierarchy::resolve("cifar10", Some(100))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'cifar10' has 10 classes but the data has 100"),
            "{e}"
        );
        let e = Hierarchy::load("flat:x").unwrap_err().to_string();
        assert!(e.contains("flat:K"), "{e}");
        let e = Hierarchy::load("no/such/file.txt").unwrap_err().to_string();
        assert!(e.contains("neither a built-in"), "{e}");
        let dir = nclab_testkit::scratch("hierarchy-load");
        let p = dir.join("t.json");
        std::fs::write(&p, write_json(&cifar10())).unwrap();
        let h = Hierarchy::resolve(p.to_str().unwrap(), Some(10)).unwrap();
        assert_eq!(h.class_names(), CIFAR10_CLASSES.to_vec());
        assert_eq!(h.distance_matrix(), cifar10().distance_matrix());
        let p2 = dir.join("bad.txt");
        std::fs::write(&p2, "a b\nc d\n").unwrap();
        let e = Hierarchy::load(p2.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad.txt") && e.contains("more than one root"),
            "{e}"
        );
        // A byte-order mark before the first name is not part of it.
        let bom = dir.join("bom.txt");
        std::fs::write(&bom, "\u{feff}root a\nroot b\n").unwrap();
        let h = Hierarchy::load(bom.to_str().unwrap()).unwrap();
        assert_eq!(h.class_names(), ["a", "b"]);
        assert_eq!(h.name(h.root()), "root");
        // A folder that exists is named as such, not as missing.
        let e = Hierarchy::load(dir.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("a directory"), "{e}");
    }
}
