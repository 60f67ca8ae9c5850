//! (filled in by its issue)

pub mod mistakes;
