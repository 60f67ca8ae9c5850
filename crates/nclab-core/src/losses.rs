//! f64 reference losses (filled in by the hierarchy issue).
