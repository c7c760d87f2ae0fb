//! The occupation taxonomy and brands: the shipped default groups (`occupations.toml`),
//! merged with the user's `[[occupations]]`, and lookups between tags and occupations.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::diagnostics::parse_toml;
use crate::{Tag, DEFAULT_TAXONOMY_TOML};

/// `[[occupations]]`: an occupation and its tags (any language).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Occupation {
    /// Display name, e.g. "Nursing".
    pub name: String,
    /// Member tags.
    pub tags: Vec<Tag>,
    /// A generic group rather than an occupation (work culture, first jobs): shown with
    /// the others, never named the fastest-growing occupation.
    #[serde(default)]
    pub general: bool,
}

/// `[[brands]]`: an employer's own tags and the occupations it recruits for.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Brand {
    /// Display name, e.g. "Acme Care".
    pub name: String,
    /// The brand's own tags.
    pub tags: Vec<Tag>,
    /// Names of occupations (from the taxonomy) the brand is compared with.
    pub occupations: Vec<String>,
}

/// The shipped occupation taxonomy.
pub fn default_taxonomy() -> Vec<Occupation> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        occupations: Vec<Occupation>,
    }
    let f: File = parse_toml(DEFAULT_TAXONOMY_TOML, "<built-in occupations.toml>")
        .expect("the shipped taxonomy is valid");
    f.occupations
}

/// Merges user occupations into the defaults: same name extends, new name appends.
pub(crate) fn merge_taxonomy(defaults: Vec<Occupation>, user: Vec<Occupation>) -> Vec<Occupation> {
    let mut out = defaults;
    for u in user {
        match out.iter_mut().find(|o| o.name == u.name) {
            Some(o) => {
                o.general |= u.general;
                for t in u.tags {
                    if !o.tags.contains(&t) {
                        o.tags.push(t);
                    }
                }
            }
            None => out.push(u),
        }
    }
    out
}

/// The distinct (occupation, tag) pairs of a taxonomy, sorted.
pub fn occupation_pairs(occupations: &[Occupation]) -> Vec<(String, Tag)> {
    let set: BTreeSet<(String, Tag)> = occupations
        .iter()
        .flat_map(|o| o.tags.iter().map(move |t| (o.name.clone(), t.clone())))
        .collect();
    set.into_iter().collect()
}

/// For each tag, the occupations it belongs to (for labelling tags in the report).
pub fn occupations_by_tag(occupations: &[Occupation]) -> BTreeMap<Tag, Vec<String>> {
    let mut map: BTreeMap<Tag, Vec<String>> = BTreeMap::new();
    for (o, t) in occupation_pairs(occupations) {
        map.entry(t).or_default().push(o);
    }
    map
}
