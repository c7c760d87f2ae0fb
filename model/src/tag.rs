//! Tags and identifiers, normalised and validated exactly as `docs/metrics.md` says.
//!
//! The types live in the bottom crate so that the config can reject a bad tag in the
//! taxonomy at load time and every stage shares one normalisation.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use unicode_normalization::UnicodeNormalization;

/// Longest tag accepted, in characters (after normalisation).
pub const MAX_TAG_CHARS: usize = 100;

/// Why a tag or identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)] // its fields are the values its messages show
pub enum TagError {
    /// Nothing left after stripping `#` and white space.
    #[error("invalid tag {input:?}: it is empty")]
    Empty { input: String },
    /// Longer than [`MAX_TAG_CHARS`].
    #[error("invalid tag {input:?}: {chars} characters, at most {MAX_TAG_CHARS} are allowed")]
    TooLong { input: String, chars: usize },
    /// Holds a character that is not a letter, digit or `_`.
    #[error("invalid tag {input:?}: character {bad:?} is not a letter, digit or '_'")]
    BadChar { input: String, bad: char },
    /// A platform or metric name that is not lowercase ASCII letters, digits or `_`.
    #[error("invalid {what} {input:?}: use lowercase letters, digits and '_' (e.g. \"tiktok\", \"views\")")]
    BadIdent {
        /// "platform" or "metric".
        what: &'static str,
        input: String,
    },
}

/// A normalised hashtag: no `#`, NFC, lowercase, 1-100 letters, digits or `_`.
///
/// The only constructor is [`Tag::parse`], so an invalid `Tag` cannot exist.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// Normalises `input` (strip one leading `#`, trim, NFC, lowercase) and validates it.
    pub fn parse(input: &str) -> Result<Tag, TagError> {
        let stripped = input.strip_prefix('#').unwrap_or(input).trim();
        let normal: String = stripped.nfc().collect::<String>().to_lowercase();
        // Lowercasing can decompose (e.g. 'İ'), so compose once more.
        let normal: String = normal.nfc().collect();
        let normal = drop_redundant_dots(normal);
        if normal.is_empty() {
            return Err(TagError::Empty {
                input: shown(input),
            });
        }
        let chars = normal.chars().count();
        if chars > MAX_TAG_CHARS {
            return Err(TagError::TooLong {
                input: shown(input),
                chars,
            });
        }
        if let Some(bad) = normal
            .chars()
            .find(|c| !(c.is_alphabetic() || c.is_numeric() || *c == '_'))
        {
            return Err(TagError::BadChar {
                input: shown(input),
                bad,
            });
        }
        Ok(Tag(normal))
    }

    /// The normalised text: NFC, lowercase, no `#`, as stored and shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Tag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Tag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Tag::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Removes a combining dot above (U+0307) right after `i` or `j`, which carry a dot of
/// their own: `İstanbul` lowercases to `i` + U+0307 + `stanbul` by Unicode's default rule,
/// and a reader typing `İstanbul` means `#istanbul`, as the platforms read it.
fn drop_redundant_dots(text: String) -> String {
    if !text.contains('\u{0307}') {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut prev = None;
    for c in text.chars() {
        if !(c == '\u{0307}' && matches!(prev, Some('i' | 'j'))) {
            out.push(c);
        }
        prev = Some(c);
    }
    out
}

/// Validates a platform or metric name: lowercase ASCII letters, digits and `_`, 1-32 chars.
pub fn parse_ident(what: &'static str, input: &str) -> Result<String, TagError> {
    let ok = !input.is_empty()
        && input.len() <= 32
        && input
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(input.to_string())
    } else {
        Err(TagError::BadIdent {
            what,
            input: shown(input),
        })
    }
}

/// The input as an error quotes it: at most 100 characters, then `…` (a tag column
/// holding a whole 50 MB line must not flood the terminal).
fn shown(input: &str) -> String {
    crate::text::clip(input, 100).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_hash_case_space_and_nfc() {
        assert_eq!(Tag::parse("#NurseLife").unwrap().as_str(), "nurselife");
        assert_eq!(Tag::parse("#azubi  ").unwrap().as_str(), "azubi");
        // "e" + combining acute becomes the single code point U+00E9.
        let t = Tag::parse("Caf\u{0065}\u{0301}").unwrap();
        assert_eq!(t.as_str(), "caf\u{00e9}");
        assert_eq!(t.as_str().chars().count(), 4);
        assert_eq!(
            Tag::parse("Pflegekraft_2026").unwrap().as_str(),
            "pflegekraft_2026"
        );
        assert_eq!(Tag::parse("schweißer").unwrap().as_str(), "schweißer");
        // 'İ' lowercases to 'i' + U+0307 by Unicode's default rule: read as the platforms do.
        assert_eq!(Tag::parse("İstanbul").unwrap().as_str(), "istanbul");
        assert_eq!(Tag::parse("#İŞ").unwrap().as_str(), "iş");
        assert_eq!(Tag::parse("i\u{0307}stanbul").unwrap().as_str(), "istanbul");
        // A dot above elsewhere is still no letter of its own.
        assert!(matches!(
            Tag::parse("a\u{0307}"),
            Ok(t) if t.as_str() == "\u{0227}"
        ));
        assert!(matches!(
            Tag::parse("1\u{0307}"),
            Err(TagError::BadChar {
                bad: '\u{0307}',
                ..
            })
        ));
    }

    #[test]
    fn strips_only_one_hash() {
        let err = Tag::parse("##azubi").unwrap_err();
        assert_eq!(
            err,
            TagError::BadChar {
                input: "##azubi".into(),
                bad: '#'
            }
        );
    }

    #[test]
    fn rejects_invalid_tags_naming_the_input() {
        for bad in ["", "#", "  ", "love my job", "o'neil", "a-b", "x;drop"] {
            let err = Tag::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        assert_eq!(Tag::parse(&"a".repeat(100)).unwrap().as_str().len(), 100);
        assert!(matches!(
            Tag::parse(&"a".repeat(101)),
            Err(TagError::TooLong { chars: 101, .. })
        ));
    }

    #[test]
    fn idents_are_lowercase_ascii() {
        assert_eq!(parse_ident("platform", "tiktok").unwrap(), "tiktok");
        assert!(parse_ident("platform", "TikTok").is_err());
        assert!(parse_ident("metric", "").is_err());
        assert!(parse_ident("metric", "vi ews").is_err());
    }
}
