//! tagpulse's I/O primitives, each written once for every crate: replacing a file
//! atomically and durably ([`files`]) and the TLS client setup of every outgoing HTTPS
//! connection ([`tls`]).

pub mod files;
pub mod tls;

pub use files::{write_atomic, write_bytes, Access, WriteError, TEMP_PREFIX};
