//! Paths tagpulse derives from names (source and alert ids, tags): each stays inside the
//! folder it is made for, whatever the name holds. Ids are checked at config load
//! already; this is the second lock on the same door, at the place the path is made.

use std::path::{Component, Path, PathBuf};

/// A name that would not be one file inside its folder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{name:?} cannot name a file in {root}: it must be one plain name (letters, digits, - and _)"
)]
#[allow(missing_docs)] // its fields are the values its messages show
pub struct Escape {
    /// The name as given (clipped).
    pub name: String,
    pub root: String,
}

/// `root/name`, when `name` is one plain file name: not empty, no separator, not `.` or
/// `..`, no NUL.
pub fn child(root: &Path, name: &str) -> Result<PathBuf, Escape> {
    let mut parts = Path::new(name).components();
    let plain = matches!(
        (parts.next(), parts.next()),
        (Some(Component::Normal(n)), None) if n == name
    ) && !name.contains(['/', '\\', '\0']);
    if plain {
        Ok(root.join(name))
    } else {
        Err(Escape {
            name: crate::text::clip(name, 100).into_owned(),
            root: root.display().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_plain_name_stays_inside() {
        let root = Path::new("/srv/tp/data/quarantine");
        assert_eq!(
            child(root, "tiktok-1_b.json").unwrap(),
            root.join("tiktok-1_b.json")
        );
        for bad in [
            "",
            ".",
            "..",
            "../victim",
            "../../etc/x",
            "a/b",
            "/etc/passwd",
            "a\\b",
            "x\0y",
            "./x",
        ] {
            let err = child(root, bad).unwrap_err();
            assert_eq!(err.root, "/srv/tp/data/quarantine", "{bad:?}");
        }
        assert_eq!(
            child(root, "../victim").unwrap_err().to_string(),
            "\"../victim\" cannot name a file in /srv/tp/data/quarantine: it must be one plain name (letters, digits, - and _)"
        );
    }
}
