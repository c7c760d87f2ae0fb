//! What adding a weekly column costs, measured on the source tree: for every metric
//! column of the weekly tables, the non-test Rust files that address it by name (a
//! string literal `"z_median"`: a polars `col`, a SQL text, a header). A column is
//! declared once (`model/src/tables/catalog.rs`, the signal columns in
//! `model/src/tables/declare.rs`), computed in the transform, and added to existing
//! ClickHouse databases by a migration (`store/src/clickhouse/schema.rs`); beyond those
//! only the readers that choose to show it (the report, the alerts) name it. No store,
//! codec, run or job code may: they follow the definition. (Row fields, `r.z_median`,
//! are checked by the compiler instead: the row structs come from the declaration.)

use std::path::{Path, PathBuf};

use tagpulse_model::tables::WEEKLY_TABLES;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Where a file that names a weekly column sits in the flow.
fn role(path: &str) -> &'static str {
    match path {
        "model/src/tables/catalog.rs" | "model/src/tables/declare.rs" => "declaration",
        "store/src/clickhouse/schema.rs" => "migration",
        p if p.starts_with("transform/src/") => "computation",
        p if p.starts_with("report/src/")
            || p.starts_with("pipeline/src/alerts/")
            || p == "model/src/lib.rs" =>
        {
            "reader"
        }
        _ => "plumbing",
    }
}

/// Files where a weekly column's name means something else, each with what it is there.
const HOMONYMS: &[(&str, &str, &str)] = &[
    (
        "store/src/parquet/mod.rs",
        "observations",
        "the lake's folder",
    ),
    (
        "store/src/clickhouse/transfer.rs",
        "observations",
        "the lake's folder",
    ),
    (
        "pipeline/src/import_props.rs",
        "observations",
        "the lake's folder, and the series summary's column",
    ),
    ("config/src/alerts.rs", "breakout", "the alert rule's name"),
];

/// Rust sources of the workspace outside tests, each without its trailing test module.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if p.is_dir() {
                if !["target", "tests", "bench", ".git", "fixtures"].contains(&name.as_str()) {
                    walk(&p, out);
                }
            } else if name.ends_with(".rs")
                && name != "tests.rs"
                && !name.ends_with("_tests.rs")
                && name != "testutil.rs"
            {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(Path::new(ROOT), &mut files);
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(at) => &text[..at],
                None => &text,
            };
            let code = without_comments(code);
            let rel = p.strip_prefix(ROOT).unwrap().to_string_lossy().to_string();
            (rel, code)
        })
        .collect()
}

/// `code` without its `//` comments (a `//` inside a string literal stays).
fn without_comments(code: &str) -> String {
    code.lines()
        .map(|line| {
            let mut in_str = false;
            let mut prev = ' ';
            for (i, c) in line.char_indices() {
                match c {
                    '"' if prev != '\\' => in_str = !in_str,
                    '/' if !in_str && prev == '/' => return &line[..i - 1],
                    _ => {}
                }
                prev = c;
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `code` addresses column `name` by a string literal of exactly its name.
fn addresses(code: &str, name: &str) -> bool {
    code.contains(&format!("\"{name}\""))
}

#[test]
fn a_weekly_column_is_named_only_by_its_declaration_computation_migration_and_readers() {
    let sources = sources();
    assert!(sources.len() > 50, "found {} sources", sources.len());
    let mut plumbing = Vec::new();
    let mut listing = String::new();
    for table in WEEKLY_TABLES {
        for column in table.columns {
            if table.order_by.contains(&column.name) {
                continue; // keys: every stage names them
            }
            let files: Vec<(&str, &str)> = sources
                .iter()
                .filter(|(path, code)| {
                    addresses(code, column.name)
                        && !HOMONYMS
                            .iter()
                            .any(|(f, n, _)| f == path && *n == column.name)
                })
                .map(|(path, _)| (path.as_str(), role(path)))
                .collect();
            listing.push_str(&format!("{}.{}: {files:?}\n", table.name, column.name));
            plumbing.extend(
                files
                    .iter()
                    .filter(|(_, r)| *r == "plumbing")
                    .map(|(p, _)| format!("{}.{} in {p}", table.name, column.name)),
            );
        }
    }
    println!("{listing}");
    assert!(
        plumbing.is_empty(),
        "code outside the declaration, computation, migration and readers names weekly \
         columns (derive it from tagpulse_model::tables instead):\n{}\n\nall:\n{listing}",
        plumbing.join("\n")
    );
}

#[test]
fn the_role_of_a_file_follows_its_place() {
    assert_eq!(role("model/src/tables/catalog.rs"), "declaration");
    assert_eq!(role("transform/src/signals.rs"), "computation");
    assert_eq!(role("store/src/clickhouse/codec.rs"), "plumbing");
    assert!(addresses("col(\"z_median\")", "z_median"));
    assert!(!addresses("r.z_median", "z_median"));
    assert_eq!(
        without_comments("let u = \"http://x\"; // \"z\"\n// all\nb"),
        "let u = \"http://x\"; \n\nb"
    );
}
