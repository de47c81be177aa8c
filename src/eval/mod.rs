//! Scoring against hand-labelled articles.

pub mod metrics;
pub mod report;
pub mod rouge;
pub mod svg;
