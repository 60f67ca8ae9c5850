//! Summary statistics (filled in by the report issue).
