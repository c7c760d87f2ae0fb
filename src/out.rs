//! Standard output that ends quietly when its reader has gone (`tagpulse status | head`):
//! exit 141 (128 + SIGPIPE, what a shell reports for that) instead of a panic.

/// `println!` to stdout; a closed pipe ends the process with exit code 141.
macro_rules! outln {
    () => {
        crate::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` to stdout; a closed pipe ends the process with exit code 141.
macro_rules! out {
    ($($arg:tt)*) => {
        crate::out::write(format_args!($($arg)*))
    };
}

/// Writes to stdout; on a closed pipe exits 141, on another error ignores it (stdout is
/// the user's summary, never data: the job's results are already stored).
pub(crate) fn write(args: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
    }
}
