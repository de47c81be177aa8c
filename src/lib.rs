//! bantin: Vietnamese policy-news digests. Each module has one job; `cli` wires them to the
//! command line.

pub mod catalog;
pub mod cli;
pub mod device;
pub mod encoder;
pub mod hub;
pub mod mirror;
pub mod progress;
