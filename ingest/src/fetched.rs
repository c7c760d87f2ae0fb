//! What a fetch returns: the observations that succeeded and, per tag, what failed.

use std::fmt;

use crate::{ObservationBatch, Tag};

/// Why a tag yielded nothing. Nothing is ever stored for a failed tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// The platform does not know the tag (or hides it).
    NotFound,
    /// An answer that carries no data where data was due (e.g. HTTP 200, empty body).
    SoftBlock,
    /// The platform asked for a captcha or a verification.
    Captcha,
    /// HTTP 429 until the retries or the deadline ran out.
    RateLimited,
    /// Another HTTP error status (5xx after retries, 4xx).
    HttpStatus,
    /// No answer in time (per request or the tag's total deadline).
    Timeout,
    /// The connection failed (DNS, refused, TLS).
    Network,
    /// The answer could not be read; the payload is quarantined.
    Parse,
    /// Credentials missing, wrong or refused.
    Auth,
    /// The platform's quota for the day is used up.
    Quota,
    /// Only part of the data could be read (e.g. a day over the page cap): not stored.
    Partial,
}

impl FailureKind {
    /// True when trying again later may succeed (a backfill stops and resumes instead of
    /// skipping the window): quota, rate limits, outages, timeouts, the network.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            FailureKind::Quota
                | FailureKind::RateLimited
                | FailureKind::HttpStatus
                | FailureKind::Timeout
                | FailureKind::Network
        )
    }

    /// The kind's name in summaries and run records, e.g. `soft_block`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::NotFound => "not_found",
            FailureKind::SoftBlock => "soft_block",
            FailureKind::Captcha => "captcha",
            FailureKind::RateLimited => "rate_limited",
            FailureKind::HttpStatus => "http_status",
            FailureKind::Timeout => "timeout",
            FailureKind::Network => "network",
            FailureKind::Parse => "parse",
            FailureKind::Auth => "auth",
            FailureKind::Quota => "quota",
            FailureKind::Partial => "partial",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One tag (or, for day-based sources, one tag-day) that yielded nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagFailure {
    /// The tag.
    pub tag: Tag,
    /// What went wrong.
    pub kind: FailureKind,
    /// One line for the log: what the platform answered.
    pub detail: String,
}

impl fmt::Display for TagFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}: {}: {}", self.tag, self.kind, self.detail)
    }
}

/// A source's result: what it observed, and the tags that failed.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The observations of the tags that succeeded.
    pub batch: ObservationBatch,
    /// Tags that yielded observations.
    pub tags_ok: usize,
    /// Tags that yielded nothing, and why.
    pub failures: Vec<TagFailure>,
}

impl Fetched {
    /// A result with every tag successful.
    pub fn complete(batch: ObservationBatch, tags_ok: usize) -> Self {
        Fetched {
            batch,
            tags_ok,
            failures: Vec::new(),
        }
    }

    /// Gathers per-tag results: `add` turns a tag's value into observations; failures are
    /// kept as they are.
    pub fn from_results<T>(
        source: &str,
        results: Vec<(Tag, Result<T, TagFailure>)>,
        mut add: impl FnMut(&Tag, T, &mut ObservationBatch),
    ) -> Self {
        let mut fetched = Fetched {
            batch: ObservationBatch::new(source),
            ..Default::default()
        };
        for (tag, result) in results {
            match result {
                Ok(value) => {
                    fetched.tags_ok += 1;
                    add(&tag, value, &mut fetched.batch);
                }
                Err(f) => fetched.failures.push(f),
            }
        }
        fetched
    }
}

/// Failures counted by kind, in kind order (for summaries such as `2 soft_block`).
pub fn count_by_kind(failures: &[TagFailure]) -> Vec<(FailureKind, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for f in failures {
        *counts.entry(f.kind).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}
