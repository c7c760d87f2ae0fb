//! Errors that point into the config file: `file:line: key.path: message`.
//!
//! serde reports the key path of a bad value; for rules checked after parsing (and for
//! component sections parsed later, such as a source's), the line is looked up in the
//! spanned TOML document by key path.

use serde::de::DeserializeOwned;

use crate::ConfigError;

/// The text of a loaded config file, kept to point errors found after parsing at a line.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    /// The file name as given (`<built-in>` for defaults).
    pub file: String,
    /// The whole TOML text.
    pub text: String,
}

impl Diagnostics {
    /// An error for the value at `path`, with the line it stands on.
    pub fn invalid_at(&self, path: &[KeySegment], message: String) -> ConfigError {
        invalid_at(&self.text, &self.file, path, message)
    }

    /// Parses the TOML table found at `prefix` into `T`; errors name the full key path
    /// (`sources[0].format`) and its line.
    pub fn parse_section<T: DeserializeOwned>(
        &self,
        prefix: &[KeySegment],
        table: &toml::Table,
    ) -> Result<T, ConfigError> {
        let value = toml::Value::Table(table.clone());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let mut path: Vec<KeySegment> = prefix.to_vec();
            let keys: Vec<String> = e
                .path()
                .iter()
                .filter_map(|s| match s {
                    serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                    serde_path_to_error::Segment::Seq { index } => Some(format!("[{index}]")),
                    _ => None,
                })
                .collect();
            for k in &keys {
                match k.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                    Some(i) => path.push(KeySegment::Idx(i.parse().unwrap_or(0))),
                    None => path.push(KeySegment::Key(k.clone())),
                }
            }
            // An unknown key names the key itself; serde gives its parent's path.
            let msg = e.inner().to_string();
            if let Some(unknown) = msg
                .strip_prefix("unknown field `")
                .and_then(|r| r.split('`').next())
            {
                if path.last() != Some(&KeySegment::Key(unknown.to_string())) {
                    path.push(KeySegment::Key(unknown.to_string()));
                }
            }
            self.invalid_at(&path, msg.trim().to_string())
        })
    }
}

pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    file: &str,
) -> Result<T, ConfigError> {
    let de = toml::de::Deserializer::parse(text).map_err(|e| toml_error(text, file, "", &e))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        toml_error(text, file, &key, e.inner())
    })
}

fn toml_error(text: &str, file: &str, key: &str, e: &toml::de::Error) -> ConfigError {
    let line = e.span().map(|s| line_of(text, s.start)).unwrap_or_default();
    let key = if key.is_empty() || key == "." {
        e.span()
            .and_then(|s| spanned_key(text, s))
            .unwrap_or_else(|| "(document)".into())
    } else {
        key.to_string()
    };
    ConfigError::Invalid {
        file: file.to_string(),
        line,
        key,
        message: e.message().trim().to_string(),
    }
}

/// For a syntax error at a key (a duplicate): the key's path, `report.top_n`, from the
/// key's text and the table header above it.
fn spanned_key(text: &str, span: std::ops::Range<usize>) -> Option<String> {
    let name = text.get(span.clone())?.trim();
    let is_key = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '"'));
    if !is_key {
        return None;
    }
    let table = text[..span.start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{name}"),
        _ => name.to_string(),
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// A step in a key path: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySegment {
    /// A key of a table.
    Key(String),
    /// An index into an array.
    Idx(usize),
}

/// A key segment from a name.
pub fn key(name: &str) -> KeySegment {
    KeySegment::Key(name.to_string())
}

/// An error for a value found valid by serde but not by a cross-field rule: the line is
/// looked up in the spanned document, so the message still points into the file.
pub(crate) fn invalid_at(
    text: &str,
    file: &str,
    path: &[KeySegment],
    message: String,
) -> ConfigError {
    let key = path.iter().fold(String::new(), |mut acc, s| {
        match s {
            KeySegment::Key(k) if acc.is_empty() => acc.push_str(k),
            KeySegment::Key(k) => {
                acc.push('.');
                acc.push_str(k)
            }
            KeySegment::Idx(i) => acc.push_str(&format!("[{i}]")),
        }
        acc
    });
    // A missing key points at the nearest enclosing one that is written.
    let line = (1..=path.len())
        .rev()
        .find_map(|n| span_of(text, &path[..n]))
        .map(|o| line_of(text, o))
        .unwrap_or(0);
    ConfigError::Invalid {
        file: file.to_string(),
        line,
        key,
        message,
    }
}

fn span_of(text: &str, path: &[KeySegment]) -> Option<usize> {
    use toml::de::{DeTable, DeValue};
    let root = DeTable::parse(text).ok()?;
    let mut table: &DeTable = root.get_ref();
    let mut value: Option<&toml::Spanned<DeValue>> = None;
    let mut start = None;
    for seg in path {
        match seg {
            KeySegment::Key(k) => {
                let (key, v) = table.iter().find(|(key, _)| key.get_ref() == k)?;
                start = Some(key.span().start);
                value = Some(v);
            }
            KeySegment::Idx(i) => {
                let DeValue::Array(a) = value?.get_ref() else {
                    return start;
                };
                let v = a.get(*i)?;
                start = Some(v.span().start);
                value = Some(v);
            }
        }
        if let Some(DeValue::Table(t)) = value.map(|v| v.get_ref()) {
            table = t;
        }
    }
    start
}
