//! Metrics, each computed in one place:
//! - [`collapse`]: NC1-NC4 and their companions (`spec/metrics.md`);
//! - [`tree_geometry`]: hierarchy-aware geometry of the class means;
//! - [`mse_decomposition`]: Han, Papyan & Donoho's decomposition of the MSE loss.

pub mod collapse;

pub use collapse::{measure, ClassStatistics, CollapseInput, CollapseMetrics};
