//! The source components and their registry: one folder per kind, one line each in
//! [`REGISTRY`].
//!
//! A component is a folder `sources/<kind>/` holding its config struct (serde,
//! `deny_unknown_fields`, every field documented), its [`Source`] impl and a `build`
//! function that parses a `[[sources]]` entry with [`Diagnostics::parse_section`], so a
//! bad key in its section is reported as `file:line: sources[i].key: message`.

pub mod bluesky;
pub mod file;
#[cfg(test)]
mod fixed;
pub mod mastodon;
#[cfg(test)]
mod testutil;
pub mod tiktok_research;
pub mod tiktok_tag;
pub mod x;

use std::path::Path;

use tagpulse_config::{key, Config, ConfigError, Diagnostics, SourceEntry};

use crate::shutdown::Shutdown;
use crate::Source;

/// What a component's constructor gets besides its entry.
#[derive(Clone, Copy)]
pub struct BuildContext<'a> {
    /// Points errors into the config file.
    pub diag: &'a Diagnostics,
    /// The data directory (quarantine, sessions).
    pub data_dir: &'a Path,
    /// The process's shutdown request, for sources that must close something on it.
    pub shutdown: &'a Shutdown,
    /// The config file's folder: relative paths in a source's section are relative to
    /// it (empty: the working directory).
    pub config_dir: &'a Path,
}

/// Builds a source from its `[[sources]]` entry.
pub type Build = fn(&SourceEntry, BuildContext) -> Result<Box<dyn Source>, ConfigError>;

/// Every source kind, by its `kind` name: adding a source is its folder and one line here.
pub const REGISTRY: &[(&str, Build)] = &[
    ("bluesky", bluesky::build),
    ("file", file::build),
    ("mastodon", mastodon::build),
    ("tiktok_research", tiktok_research::build),
    ("tiktok_tag", tiktok_tag::build),
    ("x", x::build),
    #[cfg(test)]
    ("fixed", fixed::build),
];

/// The source one `[[sources]]` entry describes, validated by its component.
pub fn build(entry: &SourceEntry, ctx: BuildContext) -> Result<Box<dyn Source>, ConfigError> {
    let diag = ctx.diag;
    match REGISTRY.iter().find(|(kind, _)| *kind == entry.kind) {
        Some((_, build)) => build(entry, ctx),
        None => {
            let mut path = entry.path();
            path.push(key("kind"));
            let known: Vec<&str> = REGISTRY.iter().map(|(k, _)| *k).collect();
            Err(diag.invalid_at(
                &path,
                format!(
                    "unknown source kind {:?}, expected one of: {}",
                    entry.kind,
                    known.join(", ")
                ),
            ))
        }
    }
}

/// Every configured source, in config order; the first invalid entry is the error. Built
/// to be checked or described only: nothing will ever ask them to shut down.
pub fn build_all(cfg: &Config) -> Result<Vec<Box<dyn Source>>, ConfigError> {
    build_all_with(cfg, &Shutdown::new())
}

/// [`build_all`] with the process's `shutdown`, which every source gets in its context.
pub fn build_all_with(
    cfg: &Config,
    shutdown: &Shutdown,
) -> Result<Vec<Box<dyn Source>>, ConfigError> {
    let ctx = BuildContext {
        diag: &cfg.diagnostics,
        data_dir: &cfg.storage.data_dir,
        shutdown,
        config_dir: &cfg.base_dir,
    };
    let sources: Vec<Box<dyn Source>> = cfg
        .sources
        .iter()
        .map(|e| build(e, ctx))
        .collect::<Result<_, _>>()?;
    // Counts of two instances under one platform would replace each other by identity.
    for (i, s) in sources.iter().enumerate() {
        let Some(platform) = s.exclusive_platform() else {
            continue;
        };
        if let Some(first) = sources[..i]
            .iter()
            .find(|o| o.exclusive_platform() == Some(platform))
        {
            let mut path = cfg.sources[i].path();
            path.push(key("platform"));
            return Err(cfg.diagnostics.invalid_at(
                &path,
                format!(
                    "source {} uses platform {platform:?} already: give each instance its own platform, e.g. \"mastodon_social\"",
                    first.id()
                ),
            ));
        }
    }
    Ok(sources)
}

#[cfg(test)]
mod tests {
    use tagpulse_config::{Config, ConfigError};

    use super::build_all;

    fn err(text: &str) -> (usize, String, String) {
        let cfg = Config::from_toml(text, "t.toml").unwrap();
        match build_all(&cfg) {
            Err(ConfigError::Invalid {
                line, key, message, ..
            }) => (line, key, message),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("{text} should not build"),
        }
    }

    #[test]
    fn source_errors_name_path_and_line() {
        let (line, key, _) =
            err("[[sources]]\nid = \"a\"\nkind = \"file\"\npaths = [\"ok\", \"[\"]\n");
        assert_eq!((line, key.as_str()), (4, "sources[0].paths[1]"));
        let (_, key, msg) = err("[[sources]]\nid = \"a\"\nkind = \"ftp\"\npaths = [\"x\"]\n");
        assert!(key.starts_with("sources[0]"), "{key}");
        assert!(msg.contains("ftp"), "{msg}");
        let (_, key, msg) = err(
            "[[sources]]\nid = \"a\"\nkind = \"file\"\npaths = [\"x\"]\nplatform = \"TikTok\"\n",
        );
        assert!(key.starts_with("sources[0]"), "{key}");
        assert!(msg.contains("TikTok"), "{msg}");
        let (line, key, msg) = err("[[sources]]\nid = \"a\"\nkind = \"file\"\n\npaths = []\n");
        assert_eq!((line, key.as_str()), (5, "sources[0].paths"));
        assert!(msg.contains("at least one"), "{msg}");
        let (line, key, msg) =
            err("[[sources]]\nid = \"a\"\nkind = \"file\"\npaths = [\"x\"]\nformat = \"xml\"\n");
        assert_eq!((line, key.as_str()), (5, "sources[0].format"));
        assert!(msg.contains("xml"), "{msg}");
    }

    #[test]
    fn the_sample_config_builds() {
        let cfg = Config::from_toml(
            "[[sources]]\nid = \"sample\"\nkind = \"file\"\npaths = [\"examples/sample/*.tsv\"]\nformat = \"tsv\"\nsynthetic = true\n",
            "t.toml",
        )
        .unwrap();
        let s = build_all(&cfg).unwrap();
        assert!(s[0].synthetic());
        assert_eq!(
            s[0].describe(),
            "sample (file): examples/sample/*.tsv [tiktok/views] synthetic"
        );
    }
}
