//! Hierarchy files in every format nclab reads (edge list and nested JSON), then what the
//! CLI does with a hierarchy: write it back in both formats and read that again, draw it,
//! and build its distance matrices when they are small.
#![no_main]
use libfuzzer_sys::fuzz_target;
use nclab_core::hierarchy::{parse_edges, parse_json, write_edges, write_json, Hierarchy};

fn exercise(h: &Hierarchy) {
    let json = write_json(h);
    let back = parse_json(&json, "written").expect("nclab reads the JSON it writes");
    assert_eq!(back.num_classes(), h.num_classes());
    if let Ok(edges) = write_edges(h) {
        let back = parse_edges(&edges, "written").expect("nclab reads the edges it writes");
        assert_eq!(back.class_names(), h.class_names());
    }
    if h.num_classes() <= 64 {
        let d = h.try_distance_matrix().expect("small");
        assert_eq!(d.len(), h.num_classes() * h.num_classes());
        let _ = h.try_normalized_distance_matrix();
        let _ = h.coarse_labels(1);
    }
    let _ = nclab_core::hierarchy::write_dot(h);
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(h) = parse_edges(&text, "fuzz") {
        exercise(&h);
    }
    if let Ok(h) = parse_json(&text, "fuzz") {
        exercise(&h);
    }
});
