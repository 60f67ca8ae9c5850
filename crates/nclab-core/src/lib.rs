//! # nclab-core
//!
//! The pure-Rust half of nclab: everything that does not need a neural-network engine.
//!
//! * [`metrics`]: neural-collapse metrics (NC1-NC4 and their companions), hierarchy-aware
//!   geometry and mistake metrics, exactly as `docs/metrics.md` and `docs/losses-and-hierarchies.md` define
//!   them, in f64.
//! * [`hierarchy`]: class hierarchies (trees), their distances, readers and writers.
//! * [`losses`]: f64 reference implementations of the training losses and their gradients.
//! * [`io`]: readers and writers for `.npy`, `.safetensors`, IDX and CIFAR files.
//! * [`data`]: datasets, balanced subsets, normalisation, synthetic Gaussian mixtures.
//! * [`stats`]: summary statistics and the tests used to compare conditions over seeds.

pub mod data;
pub mod error;
pub mod hierarchy;
pub mod io;
pub mod labels;
pub(crate) mod linalg;
pub mod losses;
pub mod metrics;
mod named_enum;
pub mod rng;
pub mod stats;
pub mod tensor;
pub mod test_images;

pub use error::{Error, Result};
