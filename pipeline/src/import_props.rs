//! Arbitrary files through the whole import into a real lake: all or nothing, so after an
//! error the lake holds no part and no temp file.

use proptest::prelude::*;

use crate::{ImportRequest, NoProgressSink, Pipeline};

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for kind in ["snapshots", "daily"] {
        if let Ok(entries) = std::fs::read_dir(dir.join("observations").join(kind)) {
            out.extend(
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned()),
            );
        }
    }
    out
}

/// A config whose Parquet lake is `dir/data`.
fn lake_config(dir: &std::path::Path) -> (std::path::PathBuf, tagpulse_config::Config) {
    let data = dir.join("data");
    let toml = format!("[storage]\ndata_dir = {:?}\n", data.display().to_string());
    (
        data,
        tagpulse_config::Config::from_toml(&toml, "t.toml").unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]
    #[test]
    fn an_import_stores_all_or_nothing(
        good in prop::collection::vec(0u64..1_000_000, 1..5),
        junk in prop::collection::vec(any::<u8>(), 0..80),
        ext in prop_oneof![Just("tsv"), Just("csv"), Just("jsonl")],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (data, cfg) = lake_config(dir.path());
        // Good lines in one file, then a second file with arbitrary bytes.
        let a = dir.path().join("azubi.tsv");
        let lines: String = good
            .iter()
            .enumerate()
            .map(|(i, v)| format!("2026-01-05 1{i}:00:00\t{v}\n"))
            .collect();
        std::fs::write(&a, lines).unwrap();
        let b = dir.path().join(format!("zzz.{ext}"));
        std::fs::write(&b, &junk).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
        let result = rt.block_on(async {
            let p = Pipeline::open(cfg).unwrap();
            p.import(
                ImportRequest {
                    delimiter: None,
                    paths: vec![a.display().to_string(), b.display().to_string()],
                    format: None,
                    platform: "tiktok".into(),
                    metric: "views".into(),
                },
                &NoProgressSink,
            )
            .await
        });
        let stored = files_in(&data);
        match result {
            Ok(o) => {
                prop_assert!(o.snapshots >= good.len());
                prop_assert!(stored.iter().all(|f| f.starts_with("part-")), "{:?}", stored);
            }
            Err(_) => prop_assert!(stored.is_empty(), "{:?}", stored),
        }
    }
}

/// `run` hands the recompute's series summary to the report; an append in between must
/// drop it, or the report would describe observations that are no longer all there is.
#[test]
fn the_recompute_summary_is_dropped_by_an_append() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg) = lake_config(dir.path());
    let file = |name: &str, lines: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, lines).unwrap();
        ImportRequest {
            delimiter: None,
            paths: vec![p.display().to_string()],
            format: None,
            platform: "tiktok".into(),
            metric: "views".into(),
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let p = Pipeline::open(cfg).unwrap();
        let weeks = "2026-01-05 00:00:00\t1\n2026-01-14 00:00:00\t5\n2026-01-20 00:00:00\t9\n";
        p.import(file("azubi.tsv", weeks), &NoProgressSink)
            .await
            .unwrap();
        p.recompute().await.unwrap();
        let series = p.take_series().expect("the recompute leaves its summary");
        assert_eq!(series.height(), 1);
        assert_eq!(
            series.column("observations").unwrap().u32().unwrap().get(0),
            Some(3)
        );
        assert!(p.take_series().is_none(), "a summary is used once");
        p.recompute().await.unwrap();
        p.import(
            file("koch.tsv", "2026-01-06 00:00:00\t3\n"),
            &NoProgressSink,
        )
        .await
        .unwrap();
        assert!(p.take_series().is_none(), "an append drops the summary");
    });
}
