//! One module per source kind; `crate::build_source` is where they are registered.

pub mod file;
