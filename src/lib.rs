//! affrel turns a folder of plain-text affiliate records into a weekly mentoring report and
//! the personalized emails that are due.
//!
//! The pipeline runs one way: `cli` → `load` → `model` → `stages` → `report` → `render` →
//! `write`. `check` is `build` without the write step.

pub mod cli;
pub mod cmd;
pub mod console;
pub mod diagnostic;
pub mod edit;
pub mod import;
pub mod init;
pub mod load;
pub mod lock;
pub mod mail;
pub mod model;
pub mod money;
pub mod provenance;
pub mod render;
pub mod report;
pub mod stages;
pub mod timings;
pub mod write;
