//! Scoring against hand-labelled articles.

pub mod metrics;
pub mod report;
/// ROUGE lives at the crate root (the summariser's scorer is trained on it); re-exported here.
pub use crate::rouge;
pub mod svg;
