//! Text shown to people that may come from anywhere (a 50 MB input line, a server's
//! answer): cut by characters, never inside one.

use std::borrow::Cow;

/// A value given by a person (a config value, a command-line argument) that does not
/// parse or check; the message says what is wrong and how to write it. A leaf error: it
/// has no cause below it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl From<String> for Invalid {
    fn from(message: String) -> Self {
        Invalid(message)
    }
}

impl Invalid {
    /// Whether the message contains `part` (for tests that check a hint).
    pub fn contains(&self, part: &str) -> bool {
        self.0.contains(part)
    }
}

/// The first `max` characters of `s`, or `None` when `s` is not longer than that.
pub fn char_prefix(s: &str, max: usize) -> Option<&str> {
    s.char_indices().nth(max).map(|(i, _)| &s[..i])
}

/// `s` cut after `max` characters, ending in `…` when something was cut.
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match char_prefix(s, max) {
        Some(head) => Cow::Owned(format!("{head}…")),
        None => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_by_characters() {
        assert_eq!(char_prefix("äöü", 2), Some("äö"));
        assert_eq!(char_prefix("äöü", 3), None);
        assert_eq!(clip("äöüx", 3), "äöü…");
        assert_eq!(clip("ab", 3), "ab");
    }
}
