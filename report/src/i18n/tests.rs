use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate};

use super::*;

/// Every text of `t` with its name, read through its Debug form (the struct is the list
/// of keys, so no key can be forgotten here either).
fn entries(t: &Texts) -> Vec<(String, String)> {
    let debug = format!("{t:#?}");
    let mut out = Vec::new();
    let mut key = String::new();
    for line in debug.lines() {
        let line = line.trim();
        let text = |v: &str| v.trim_end_matches(',').trim_end_matches('"').to_string();
        if let Some(v) = line.strip_prefix('"') {
            // An element of an array (the glossary, the metrics, the table columns).
            let n = out
                .iter()
                .filter(|(k, _): &&(String, String)| k.starts_with(&format!("{key}[")))
                .count();
            out.push((format!("{key}[{n}]"), text(v)));
        } else if let Some((k, v)) = line.split_once(": ") {
            key = k.to_string();
            if let Some(v) = v.strip_prefix('"') {
                out.push((key.clone(), text(v)));
            }
        }
    }
    out
}

fn placeholders(s: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        out.insert(after[..close].to_string());
        rest = &after[close + 1..];
    }
    out
}

#[test]
fn every_language_has_every_text_with_the_same_placeholders() {
    let en = entries(Texts::of(Language::En));
    assert!(en.len() > 120, "read {} texts", en.len());
    for lang in [Language::Nl, Language::De] {
        let other = entries(Texts::of(lang));
        assert_eq!(
            en.iter().map(|e| &e.0).collect::<Vec<_>>(),
            other.iter().map(|e| &e.0).collect::<Vec<_>>(),
            "{lang:?}"
        );
        let mut same = 0;
        for ((key, a), (_, b)) in en.iter().zip(&other) {
            assert!(!b.trim().is_empty(), "{lang:?}.{key} is empty");
            assert_eq!(placeholders(a), placeholders(b), "{lang:?}.{key}: {b}");
            // The metric ids (`views`) are keys, not texts.
            let id = key.starts_with("metrics[")
                && key[8..key.len() - 1]
                    .parse::<usize>()
                    .is_ok_and(|i| i % 2 == 0);
            same += usize::from(a == b && !id);
        }
        // Names and terms shared by the languages (Momentum, Tags, z, …) stay; a copied
        // block of English would not.
        assert!(
            same < en.len() / 7,
            "{lang:?}: {same} texts equal the English"
        );
    }
}

#[test]
fn fill_replaces_named_values_and_keeps_unknown_braces() {
    assert_eq!(fill("{a} of {b}", &[("a", "3"), ("b", "5")]), "3 of 5");
    assert_eq!(fill("{a} {x} {", &[("a", "1")]), "1 {x} {");
}

#[test]
fn numbers_in_each_language() {
    let [en, nl, de] = Language::ALL.map(Locale);
    assert_eq!(en.human(Some(1_234_567.0)), "1.2M");
    assert_eq!(nl.human(Some(1_234_567.0)), "1,2 mln");
    assert_eq!(de.human(Some(1_234_567.0)), "1,2 Mio.");
    assert_eq!(de.human(Some(43_600_000_000.0)), "43,6 Mrd.");
    assert_eq!(nl.human(Some(12_345.0)), "12,3K");
    assert_eq!(en.human(Some(259.0)), "259");
    assert_eq!(en.pct(Some(0.034)), "+3.4%");
    assert_eq!(nl.pct(Some(-0.12)), "-12,0%");
    assert_eq!(de.pct(Some(0.034)), "+3,4\u{a0}%");
    assert_eq!(nl.share(Some(0.0004)), "0,04%");
    assert_eq!(de.wow(Some(0.5), true), "≈ innerhalb der Rundung");
    assert_eq!(en.signed(Some(1_200_000.0)), "+1.2M");
    assert_eq!(en.exact(70_912_345.0), "70,912,345");
    assert_eq!(de.exact(-1_234.5), "-1.234,50");
    assert_eq!(nl.exact(999.0), "999");
}

#[test]
fn dates_in_each_language() {
    let [en, nl, de] = Language::ALL.map(Locale);
    let w46 = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
    assert_eq!(en.week_title(w46), "week 46, 9–15 Nov 2026");
    assert_eq!(nl.week_title(w46), "week 46, 9–15 nov 2026");
    assert_eq!(de.week_title(w46), "KW 46, 9.–15. Nov. 2026");
    let w49 = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    assert_eq!(de.week_title(w49), "KW 49, 30. Nov. – 6. Dez. 2026");
    let w1 = NaiveDate::from_ymd_opt(2025, 12, 29).unwrap();
    assert_eq!(nl.week_title(w1), "week 1, 29 dec 2025 – 4 jan 2026");
    let t = DateTime::from_timestamp(1_763_294_700, 0).unwrap();
    assert_eq!(en.date_time(t), "16 Nov 2025 12:05 UTC");
    assert_eq!(de.date_time(t), "16. Nov. 2025, 12:05 UTC");
    assert_eq!(nl.duration(3 * 86_400), "3 dagen");
    assert_eq!(en.duration(7200), "2 hours");
    assert_eq!(Texts::of(Language::De).metric("views"), "Aufrufe");
    assert_eq!(Texts::of(Language::Nl).metric("saves_total"), "saves total");
}
