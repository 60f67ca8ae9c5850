//! Property tests of the readers: a round trip through `npy::write`, and arbitrary or
//! half-valid bytes given to every reader (npy, npz, IDX, CIFAR binary, pickle, safetensors,
//! and both hierarchy formats), which must return `Ok` or `Err`, never panic. Small inputs and
//! a few hundred cases each, so the whole module runs in seconds.

use super::{cifar, idx, npy, npz, pickle, safetensors};
use crate::hierarchy::{parse_edges, parse_json, write_edges, write_json, Edge, Hierarchy};
use crate::tensor::{DType, Tensor};
use crate::Error;
use nclab_testkit::scratch;
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A file of the test's own folder holding `bytes`.
fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Arbitrary bytes, or a valid prefix (`magic`) followed by arbitrary bytes.
fn bytes_after(magic: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..96),
        proptest::collection::vec(any::<u8>(), 0..96).prop_map(move |tail| {
            let mut b = magic.to_vec();
            b.extend(tail);
            b
        }),
    ]
}

/// A `.npy` header with a random shape, dtype and order, and a payload of random length.
fn npy_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec!["<f4", ">f8", "|u1", "<i2", "<c8", "|b1", "<u8", ""]),
        any::<bool>(),
        proptest::collection::vec(
            prop_oneof![
                0u64..4,
                Just(u32::MAX as u64 + 1),
                Just(1u64 << 62),
                any::<u64>()
            ],
            0..4,
        ),
        proptest::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(descr, fortran, shape, payload)| {
            let shape: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            let dict = format!(
                "{{'descr': '{descr}', 'fortran_order': {}, 'shape': ({}{}), }}",
                if fortran { "True" } else { "False" },
                shape.join(", "),
                if shape.len() == 1 { "," } else { "" }
            );
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
            b.extend_from_slice(dict.as_bytes());
            b.extend(payload);
            b
        })
}

/// An IDX header with random type and dimensions, and a random payload, raw or gzipped.
fn idx_like() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![0x08u8, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x0A]),
        proptest::collection::vec(prop_oneof![0u32..4, any::<u32>()], 0..4),
        proptest::collection::vec(any::<u8>(), 0..48),
        any::<bool>(),
    )
        .prop_map(|(code, dims, payload, gz)| {
            let mut b = vec![0, 0, code, dims.len() as u8];
            for d in dims {
                b.extend_from_slice(&d.to_be_bytes());
            }
            b.extend(payload);
            if gz {
                use std::io::Write;
                let mut enc = flate2::write::GzEncoder::new(Vec::new(), Default::default());
                enc.write_all(&b).unwrap();
                enc.finish().unwrap()
            } else {
                b
            }
        })
}

/// A sequence of the opcodes the pickle reader knows, with random arguments.
fn pickle_like() -> impl Strategy<Value = Vec<u8>> {
    let op = prop_oneof![
        prop::sample::select(b"(N]})latdeus.\x85\x86\x87\x88\x89\x94Rb\x81\x93".to_vec())
            .prop_map(|o| vec![o]),
        any::<u8>().prop_map(|k| vec![b'K', k]),
        any::<u8>().prop_map(|k| vec![b'q', k % 4]),
        any::<u8>().prop_map(|k| vec![b'h', k % 4]),
        proptest::collection::vec(any::<u8>(), 0..6).prop_map(|s| {
            let mut o = vec![b'U', s.len() as u8];
            o.extend(s);
            o
        }),
        proptest::collection::vec(any::<u8>(), 0..10).prop_map(|s| {
            let mut o = vec![0x8a, s.len() as u8];
            o.extend(s);
            o
        }),
        Just(b"cnumpy\ndtype\n".to_vec()),
        any::<[u8; 4]>().prop_map(|n| [&[b'T'][..], &n].concat()),
    ];
    proptest::collection::vec(op, 0..40).prop_map(|ops| {
        let mut b = vec![0x80, 2];
        b.extend(ops.concat());
        b
    })
}

/// A random tree of up to 12 nodes: node i > 0 hangs under a node before it.
fn tree_edges() -> impl Strategy<Value = Vec<(usize, usize)>> {
    proptest::collection::vec(any::<prop::sample::Index>(), 1..12).prop_map(|parents| {
        parents
            .iter()
            .enumerate()
            .map(|(i, p)| (p.index(i + 1), i + 1))
            .collect()
    })
}

/// Any result, as long as there was no panic; errors must say something.
fn no_panic<T>(r: Result<T, Error>) {
    if let Err(e) = r {
        assert!(!e.to_string().is_empty());
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn npy_round_trip(
        dtype in prop::sample::select(vec![DType::F32, DType::F64, DType::I64, DType::U8,
                                           DType::I16, DType::Bool]),
        shape in proptest::collection::vec(0usize..4, 0..4),
        seed in any::<u64>(),
    ) {
        let dir = scratch("prop-npy-rt");
        let n: usize = shape.iter().product();
        let mut x = seed | 1;
        let bytes: Vec<u8> = (0..n * dtype.size())
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if dtype == DType::Bool { (x & 1) as u8 } else { x as u8 }
            })
            .collect();
        let t = Tensor::from_bytes(dtype, shape.clone(), bytes).unwrap();
        let p = dir.join("t.npy");
        npy::write(&p, &t).unwrap();
        let back = npy::read(&p).unwrap();
        prop_assert_eq!(back.dtype(), dtype);
        prop_assert_eq!(back.shape(), &shape[..]);
        prop_assert_eq!(back.bytes(), t.bytes());
        // Values, not only bytes, for the float types.
        if dtype == DType::F64 && shape.len() == 2 {
            prop_assert_eq!(
                back.matrix("x").unwrap().to_f64_vec(),
                t.matrix("x").unwrap().to_f64_vec()
            );
        }
    }

    #[test]
    fn npy_never_panics(b in prop_oneof![bytes_after(b"\x93NUMPY\x01\x00"), npy_like()]) {
        no_panic(npy::decode(&b, None, &|m| Error::invalid(m)));
        let dir = scratch("prop-npy");
        no_panic(npy::read(&file(&dir, "x.npy", &b)));
    }

    #[test]
    fn npz_never_panics(b in bytes_after(b"PK\x03\x04"), entry in npy_like(), stored in any::<bool>()) {
        let dir = scratch("prop-npz");
        no_panic(npz::read(&file(&dir, "x.npz", &b)));
        // A valid archive around a random entry.
        use std::io::Write;
        let method = if stored {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let mut zw = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zw.start_file("a.npy", zip::write::SimpleFileOptions::default().compression_method(method))
            .unwrap();
        zw.write_all(&entry).unwrap();
        let z = zw.finish().unwrap().into_inner();
        no_panic(npz::read(&file(&dir, "y.npz", &z)));
    }

    #[test]
    fn idx_never_panics(b in prop_oneof![bytes_after(b"\0\0\x08\x01"), idx_like()]) {
        let dir = scratch("prop-idx");
        let p = file(&dir, "x-idx", &b);
        no_panic(idx::read(&p));
        no_panic(idx::read_images(&p));
        no_panic(idx::read_class_labels(&p, 10));
        no_panic(idx::read_maybe_gz(&p));
    }

    #[test]
    fn cifar_binary_never_panics(
        len in prop_oneof![0usize..16, Just(3073), Just(3074), Just(2 * 3073), Just(3073 * 3074)],
        fill in any::<u8>(),
        labels in any::<[u8; 2]>(),
    ) {
        let dir = scratch("prop-cifar");
        let mut b = vec![fill; len];
        for (i, l) in labels.iter().enumerate() {
            if let Some(x) = b.get_mut(i) {
                *x = *l;
            }
        }
        let p = file(&dir, "batch.bin", &b);
        no_panic(cifar::read_bin(&p, cifar::Variant::Cifar10));
        no_panic(cifar::read_bin(&p, cifar::Variant::Cifar100));
        no_panic(cifar::read_pickle(&p, cifar::Variant::Cifar10));
    }

    #[test]
    fn pickle_never_panics(b in prop_oneof![bytes_after(b"\x80\x02"), pickle_like()]) {
        let _ = pickle::parse(&b);
        let dir = scratch("prop-pickle");
        let p = file(&dir, "batch", &b);
        no_panic(pickle::read(&p));
        no_panic(cifar::read_pickle(&p, cifar::Variant::Cifar100));
        no_panic(cifar::read_meta_pickle(&p, "label_names"));
    }

    #[test]
    fn safetensors_never_panics(
        b in bytes_after(b"\x40\0\0\0\0\0\0\0{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}"),
        header in "\\{(\"[a-z_]{1,3}\": ?\\{\"dtype\": ?\"[A-Z0-9]{2,4}\", ?\"shape\": ?\\[[0-9, ]{0,12}\\], ?\"data_offsets\": ?\\[[0-9]{1,3}, ?[0-9]{1,21}\\]\\},? ?){0,3}\\}",
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let dir = scratch("prop-st");
        no_panic(safetensors::read(&file(&dir, "a.safetensors", &b)));
        let mut c = (header.len() as u64).to_le_bytes().to_vec();
        c.extend_from_slice(header.as_bytes());
        c.extend(data);
        no_panic(safetensors::read(&file(&dir, "b.safetensors", &c)));
    }

    #[test]
    fn hierarchy_readers_never_panic(
        text in "[a-c# \\n\\t]{0,64}",
        json in "[{}\\[\\]\",:a-c0-9 \\\\nu]{0,64}",
        raw in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        no_panic(parse_edges(&text, "t"));
        no_panic(parse_json(&json, "j"));
        let lossy = String::from_utf8_lossy(&raw);
        no_panic(parse_edges(&lossy, "t"));
        no_panic(parse_json(&lossy, "j"));
        let dir = scratch("prop-hier");
        no_panic(crate::hierarchy::read_file(&file(&dir, "h.json", &raw)));
        no_panic(crate::hierarchy::read_file(&file(&dir, "h.txt", &raw)));
    }

    /// Any tree written as JSON and as an edge list reads back to the same edges.
    #[test]
    fn hierarchy_writers_round_trip(edges in tree_edges()) {
        let edges: Vec<Edge> = edges
            .iter()
            .map(|&(p, c)| Edge {
                parent: format!("n{p}"),
                child: format!("n{c}"),
                location: String::new(),
            })
            .collect();
        let h = Hierarchy::from_edges("t", &edges).unwrap();
        let from_json = parse_json(&write_json(&h), "j").unwrap();
        prop_assert_eq!(write_edges(&from_json).unwrap(), write_edges(&h).unwrap());
        prop_assert_eq!(from_json.distance_matrix(), h.distance_matrix());
        let from_edges = parse_edges(&write_edges(&h).unwrap(), "e").unwrap();
        prop_assert_eq!(from_edges.class_names(), h.class_names());
    }
}
