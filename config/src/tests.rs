//! The config loader's tests: defaults, errors that name key and line, and the rules
//! checked after parsing.

use super::*;

fn err(text: &str) -> (usize, String, String) {
    match Config::from_toml(text, "t.toml").unwrap_err() {
        ConfigError::Invalid {
            line, key, message, ..
        } => (line, key, message),
        other => panic!("{other}"),
    }
}

#[test]
fn a_duplicate_key_is_named() {
    let (line, key, msg) = err("[report]\ntop_n = 3\ntop_n = 4\n");
    assert_eq!(
        (line, key.as_str(), msg.as_str()),
        (3, "report.top_n", "duplicate key")
    );
    let (line, key, _) = err("a = 1\n[storage]\ndata_dir = \"x\"\ndata_dir = \"y\"\n");
    assert_eq!((line, key.as_str()), (4, "storage.data_dir"));
}

#[test]
fn a_huge_max_gap_and_an_out_dir_in_the_lake_are_refused() {
    for gap in ["9223372036854775808s", "584542046090y", "366d"] {
        let text = format!("[transform]\nmax_gap = \"{gap}\"\n");
        let (line, key, msg) = err(&text);
        assert_eq!(
            (line, key.as_str()),
            (2, "transform.max_gap"),
            "{gap}: {msg}"
        );
    }
    let (_, _, msg) = err("[transform]\nmax_gap = \"366d\"\n");
    assert!(msg.contains("longer than the maximum, 365 days"), "{msg}");
    Config::from_toml("[transform]\nmax_gap = \"365d\"\n", "t.toml").unwrap();
    for (data, out) in [("data", "data"), ("data", "data/reports"), ("x/data", "x")] {
        let text = format!("[storage]\ndata_dir = \"{data}\"\n\n[report]\nout_dir = \"{out}\"\n");
        let (line, key, msg) = err(&text);
        assert_eq!((line, key.as_str()), (5, "report.out_dir"), "{msg}");
        assert!(msg.contains("overlap"), "{msg}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("afile");
    std::fs::write(&file, "x").unwrap();
    let (_, key, msg) = err(&format!(
        "[report]\nout_dir = {:?}\n",
        file.display().to_string()
    ));
    assert_eq!(key, "report.out_dir");
    assert_eq!(
        msg,
        format!("{} is a file, not a directory", file.display())
    );
}

#[test]
fn clickhouse_section_parses_with_defaults() {
    let c = Config::from_toml(
        "[storage]\nbackend = \"clickhouse\"\n[storage.clickhouse]\nurl = \"http://ch.internal:8123/\"\ndatabase = \"brand_team\"\ntimeout = \"5s\"\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(c.storage.backend, Backend::Clickhouse);
    let ch = c.storage.clickhouse.unwrap();
    assert_eq!(ch.url, "http://ch.internal:8123");
    assert_eq!(ch.database, "brand_team");
    assert_eq!(ch.user, "default");
    assert_eq!(ch.timeout, Duration::from_secs(5));
    assert_eq!(ch.batch_rows, 1_000_000);
}

#[test]
fn clickhouse_config_errors_name_the_key() {
    let (line, key, msg) = err("[storage]\nbackend = \"clickhouse\"\n");
    assert_eq!((line, key.as_str()), (2, "storage.backend"));
    assert!(msg.contains("[storage.clickhouse]"), "{msg}");

    let (line, key, msg) = err("[storage.clickhouse]\nurl = \"http://u:secret@h:8123\"\n");
    assert_eq!((line, key.as_str()), (2, "storage.clickhouse.url"));
    assert!(msg.contains("TAGPULSE_CLICKHOUSE_PASSWORD"), "{msg}");

    let (line, key, msg) = err("[storage.clickhouse]\n\ndatabase = \"a-b; DROP\"\n");
    assert_eq!((line, key.as_str()), (3, "storage.clickhouse.database"));
    assert!(msg.contains("not a valid database name"), "{msg}");

    let (_, key, msg) = err("[storage.clickhouse]\npassword = \"x\"\n");
    assert_eq!(key, "storage.clickhouse.password");
    assert!(msg.contains("unknown field"), "{msg}");

    let (line, key, _) = err("[storage.clickhouse]\nbatch_rows = 0\n");
    assert_eq!((line, key.as_str()), (2, "storage.clickhouse.batch_rows"));
    let (_, _, msg) = err("[storage.clickhouse]\nurl = \"ftp://h:8443\"\n");
    assert!(msg.contains("is not an http:// or https:// URL"), "{msg}");
}

#[test]
fn empty_file_gives_defaults_and_the_shipped_taxonomy() {
    let c = Config::from_toml("", "t.toml").unwrap();
    assert_eq!(c.storage.data_dir, PathBuf::from("data"));
    assert_eq!(c.report.out_dir, PathBuf::from("reports"));
    assert_eq!(c.report.top_n, 10);
    assert_eq!(c.transform.max_gap, Duration::from_secs(604_800));
    assert!(c.occupations.len() >= 15, "{}", c.occupations.len());
    let nursing = c.occupations.iter().find(|o| o.name == "Nursing").unwrap();
    for t in ["nurselife", "scrublife", "verpleegkundige", "pflegekraft"] {
        assert!(nursing.tags.iter().any(|x| x.as_str() == t), "{t}");
    }
    let all = c.tracked_tags();
    for t in [
        "lovemyjob",
        "internship",
        "stagiair",
        "azubi",
        "cheflife",
        "forgelife",
    ] {
        assert!(all.iter().any(|x| x.as_str() == t), "{t}");
    }
}

#[test]
fn full_config_parses() {
    let c = Config::from_toml(
        r##"
[storage]
data_dir = "/var/lib/tagpulse"

[[sources]]
id = "sample"
kind = "file"
paths = ["examples/sample/*.tsv"]
format = "tsv"
platform = "tiktok"
metric = "views"
synthetic = true

[[occupations]]
name = "Nursing"
tags = ["#ZorgHelden"]

[[occupations]]
name = "Beekeepers"
tags = ["imker", "beekeeping"]

[[brands]]
name = "Acme Care"
tags = ["acmecare"]
occupations = ["Nursing"]

[transform]
max_gap = "36h"

[report]
out_dir = "out"
top_n = 5
week = "2026-W47"
"##,
        "t.toml",
    )
    .unwrap();
    assert_eq!(c.transform.max_gap, Duration::from_secs(36 * 3600));
    assert_eq!(c.report.week, NaiveDate::from_ymd_opt(2026, 11, 16));
    let nursing = c.occupations.iter().find(|o| o.name == "Nursing").unwrap();
    assert!(nursing.tags.iter().any(|t| t.as_str() == "nurselife"));
    assert_eq!(nursing.tags.last().unwrap().as_str(), "zorghelden");
    assert!(c.occupations.iter().any(|o| o.name == "Beekeepers"));
    // The entry is handed whole to the ingest registry (which parses it; tested there).
    let f = &c.sources[0];
    assert_eq!(
        (f.index, f.id.as_str(), f.kind.as_str()),
        (0, "sample", "file")
    );
    assert_eq!(f.table["format"].as_str(), Some("tsv"));
    assert_eq!(f.table["synthetic"].as_bool(), Some(true));
    assert_eq!(c.brands[0].tags[0].as_str(), "acmecare");
}

#[test]
fn unknown_key_names_path_and_line() {
    let (line, key, msg) = err("[storage]\ndata_dir = \"x\"\n\n[report]\noutdir = \"y\"\n");
    assert_eq!(line, 5);
    assert_eq!(key, "report.outdir");
    assert!(msg.contains("unknown field `outdir`"), "{msg}");
}

#[test]
fn invalid_tag_in_taxonomy_names_path_and_line() {
    let (line, key, msg) = err("[[occupations]]\nname = \"X\"\ntags = [\"ok\", \"not ok\"]\n");
    assert_eq!(line, 3);
    assert_eq!(key, "occupations[0].tags[1]");
    assert!(msg.contains("\"not ok\""), "{msg}");
}

#[test]
fn bad_values_are_errors() {
    let (line, key, msg) = err("[transform]\nmax_gap = \"seven days\"\n");
    assert_eq!((line, key.as_str()), (2, "transform.max_gap"));
    assert!(msg.contains("invalid duration"), "{msg}");

    let (line, key, _) = err("\n[report]\ntop_n = 0\n");
    assert_eq!((line, key.as_str()), (3, "report.top_n"));

    let (line, key, msg) = err("[report]\nweek = \"2026-47\"\n");
    assert_eq!((line, key.as_str()), (2, "report.week"));
    assert!(msg.contains("ISO week"), "{msg}");

    let (_, key, msg) = err("[storage]\nbackend = \"sqlite\"\n");
    assert_eq!(key, "storage.backend");
    assert!(msg.contains("sqlite"), "{msg}");

    let (line, key, msg) = err("x = [\n");
    assert_eq!(key, "(document)");
    assert!(line >= 1 && !msg.is_empty());
}

#[test]
fn source_errors() {
    let (line, key, _) = err(
        "[[sources]]\nid = \"a\"\nkind = \"file\"\npaths = [\"x\"]\n\n[[sources]]\nid = \"a\"\nkind = \"file\"\npaths = [\"y\"]\n",
    );
    assert_eq!((line, key.as_str()), (7, "sources[1].id"));
    // An id names files under data_dir: nothing that could leave it or hide there.
    for bad in ["../../victim", "a/b", ".hidden", "", "tab\\t", "ünï"] {
        let (line, key, msg) = err(&format!(
            "[[sources]]\nid = \"{bad}\"\nkind = \"file\"\npaths = [\"x\"]\n"
        ));
        assert_eq!((line, key.as_str()), (2, "sources[0].id"), "{bad}: {msg}");
        assert!(msg.contains("use 1-64 letters, digits, - and _"), "{msg}");
    }
    let long = "a".repeat(65);
    let (_, _, msg) = err(&format!(
        "[[sources]]\nid = \"{long}\"\nkind = \"file\"\npaths = [\"x\"]\n"
    ));
    assert!(msg.contains("use 1-64"), "{msg}");
    // A bad value inside a source's own keys is the ingest registry's to report
    // (`tagpulse_ingest::sources` tests); an entry without a kind is caught here.
    let (_, key, msg) = err("[[sources]]\nid = \"a\"\npaths = [\"x\"]\n");
    assert!(key.starts_with("sources[0]"), "{key}");
    assert!(msg.contains("kind"), "{msg}");
}

#[test]
fn brand_with_unknown_occupation() {
    let (line, key, msg) = err(
        "[[brands]]\nname = \"A\"\ntags = [\"a\"]\noccupations = [\"Nursing\", \"Astronauts\"]\n",
    );
    assert_eq!((line, key.as_str()), (4, "brands[0].occupations[1]"));
    assert!(msg.contains("Astronauts"), "{msg}");
}

#[test]
fn taxonomy_defaults_can_be_switched_off() {
    let c = Config::from_toml(
        "[taxonomy]\ndefaults = false\n[[occupations]]\nname = \"Only\"\ntags = [\"one\"]\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(c.occupations.len(), 1);
    assert_eq!(occupation_pairs(&c.occupations).len(), 1);
}

#[test]
fn report_language_and_csv_delimiter() {
    let c = Config::from_toml(
        "[report]\nlanguage = \"de\"\ncsv_delimiter = \"\\t\"\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(c.report.language, Language::De);
    assert_eq!(c.report.csv_delimiter, Some('\t'));
    assert_eq!(
        Config::from_toml("", "t.toml").unwrap().report.language,
        Language::En
    );
    let (line, key, msg) = err("[report]\n\nlanguage = \"fr\"\n");
    assert_eq!((line, key.as_str()), (3, "report.language"));
    assert!(msg.contains("unknown variant `fr`"), "{msg}");
    let (line, key, msg) = err("[report]\ncsv_delimiter = \"::\"\n");
    assert_eq!((line, key.as_str()), (2, "report.csv_delimiter"));
    assert!(msg.contains("is not a CSV delimiter"), "{msg}");
    assert_eq!(Language::parse("nl"), Ok(Language::Nl));
    assert!(Language::parse("NL")
        .unwrap_err()
        .contains("use en, nl or de"));
}

#[test]
fn cluster_mode_takes_a_cluster_and_several_nodes() {
    let c = Config::from_toml(
        "[storage]\nbackend = \"clickhouse\"\n[storage.clickhouse]\ncluster = \"analytics\"\nurls = [\"http://ch1:8123/\", \"http://ch2:8123\"]\n",
        "t.toml",
    )
    .unwrap();
    let ch = c.storage.clickhouse.unwrap();
    assert_eq!(ch.cluster.as_deref(), Some("analytics"));
    assert_eq!(ch.nodes(), ["http://ch1:8123", "http://ch2:8123"]);
    assert_eq!(ch.url, "http://ch1:8123", "the first node names the store");
    let one = Config::from_toml("[storage.clickhouse]\nurl = \"http://ch:8123\"\n", "t.toml")
        .unwrap()
        .storage
        .clickhouse
        .unwrap();
    assert_eq!(one.nodes(), ["http://ch:8123"]);
    assert_eq!(one.cluster, None);

    let (line, key, msg) =
        err("[storage.clickhouse]\ncluster = \"a\"\nurls = [\"http://ok:1\", \"ftp://no:2\"]\n");
    assert_eq!((line, key.as_str()), (3, "storage.clickhouse.urls"));
    assert!(
        msg.contains("\"ftp://no:2\" is not an http:// or https:// URL"),
        "{msg}"
    );
    let (line, key, msg) = err("[storage.clickhouse]\n\ncluster = \"my cluster\"\n");
    assert_eq!((line, key.as_str()), (3, "storage.clickhouse.cluster"));
    assert!(msg.contains("is not a cluster name"), "{msg}");
    let (line, key, msg) = err("[storage.clickhouse]\nurls = []\n");
    assert_eq!((line, key.as_str()), (2, "storage.clickhouse.urls"));
    assert!(msg.contains("at least one node"), "{msg}");
    let (_, key, msg) =
        err("[storage.clickhouse]\nurl = \"http://a:1\"\nurls = [\"http://b:1\"]\n");
    assert!(key.starts_with("storage.clickhouse"), "{key}");
    assert!(msg.contains("either url (one server) or urls"), "{msg}");
}
