//! What commands print: tables and texts for people, JSON for programs, pictures of the graph,
//! and progress bars on a terminal.

pub mod graph;
pub mod plan;
pub mod progress;
pub mod table;
pub mod units;
