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

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]
    #[test]
    fn an_import_stores_all_or_nothing(
        good in prop::collection::vec(0u64..1_000_000, 1..5),
        junk in prop::collection::vec(any::<u8>(), 0..80),
        ext in prop_oneof![Just("tsv"), Just("csv"), Just("jsonl")],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let cfg = tagpulse_config::Config::from_toml(
            &format!("[storage]\ndata_dir = {:?}\n", data.display().to_string()),
            "t.toml",
        )
        .unwrap();
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
