//! bantin: Vietnamese policy-news digests. Each module has one job; `cli` wires them to the
//! command line.

pub mod abstractive;
pub mod bench;
pub mod catalog;
pub mod classify;
pub mod cli;
pub mod corpus;
pub mod device;
pub mod digest;
pub mod encoder;
pub mod eval;
pub mod generate;
pub mod hub;
pub mod lexical;
pub mod mirror;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod state;
pub mod summarize;
pub mod taxonomy;
