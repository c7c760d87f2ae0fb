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
pub fn write(args: std::fmt::Arguments) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
    }
}

/// An error and its causes on one line, `outer: cause: root`, each said once: most of
/// tagpulse's errors already quote their cause, so anyhow's `{:#}` would repeat it
/// ("Read-only file system (os error 30): Read-only file system (os error 30)").
pub fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_quoted_is_said_once() {
        let io = std::io::Error::from_raw_os_error(30);
        let root = io.to_string();
        /// Quotes its cause and names it as its source, as the library errors do.
        #[derive(Debug)]
        struct Quoting {
            source: std::io::Error,
        }
        impl std::fmt::Display for Quoting {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "cannot write data/x.parquet: {}", self.source)
            }
        }
        impl std::error::Error for Quoting {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.source)
            }
        }
        let e = anyhow::Error::new(Quoting { source: io }).context("import failed");
        assert_eq!(
            error_line(&e),
            format!("import failed: cannot write data/x.parquet: {root}")
        );
        assert_eq!(
            format!("{e:#}").matches(&root).count(),
            2,
            "anyhow repeats it"
        );
        let plain = anyhow::anyhow!("root cause").context("outer");
        assert_eq!(error_line(&plain), "outer: root cause");
    }
}
