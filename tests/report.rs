//! `tagpulse report` and `tagpulse run`: the report files of the fixtures and of the
//! bundled sample, panels per (platform, metric), and reruns that do not double-count.

use std::fs;

use chrono::NaiveDate;
use tagpulse_transform::reference;

use crate::util::*;

#[test]
fn fixture_report_for_a_chosen_week_answers_the_questions() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tags = import_and_transform(d, &fixture_glob());
    let week = col_date(&tags, "week_start");
    // The report for a chosen week.
    let out = ok(d, &["report", "--week", "2026-W33"]);
    assert!(out.contains("reports/2026-W33/index.html"), "{out}");
    let rep = d.join("reports/2026-W33");
    let html = fs::read_to_string(rep.join("index.html")).unwrap();
    for needle in [
        "week 33, 10–16 Aug 2026",
        "What happened this week",
        "Which tags moved most?",
        "What broke out?",
        "Can I trust these numbers?",
        "<svg",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle:?}");
    }
    assert!(!html.contains("<script"), "no JavaScript");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external assets"
    );
    assert!(
        !html.contains("Synthetic sample data"),
        "fixture data is real"
    );
    let csv = fs::read_to_string(rep.join("tags.csv")).unwrap();
    let week33 = week
        .iter()
        .filter(|w| **w == NaiveDate::from_ymd_opt(2026, 8, 10).unwrap())
        .count();
    assert_eq!(csv.lines().count(), week33 + 1);
    assert!(csv.starts_with("Week,Week start,Platform,Metric,Tag,Occupations,Gained,Gained (raw)"));
    assert!(fs::read_to_string(d.join("reports/index.html"))
        .unwrap()
        .contains("2026-W33/index.html"));
}

/// A copy of the repository's config and sample in a temp dir.
fn sample_checkout() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(
        repo().join("tagpulse.toml"),
        dir.path().join("tagpulse.toml"),
    )
    .unwrap();
    let sample = dir.path().join("examples/sample");
    fs::create_dir_all(&sample).unwrap();
    for e in fs::read_dir(repo().join("examples/sample")).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, sample.join(p.file_name().unwrap())).unwrap();
    }
    dir
}

#[test]
fn main_job_on_the_bundled_sample_writes_the_report_and_reruns_do_not_double_count() {
    let dir = sample_checkout();
    let d = dir.path();
    let out = ok(d, &["run"]);
    assert!(
        out.contains("report for 2026-W46 written to reports/2026-W46/index.html"),
        "{out}"
    );
    let occ = read(&d.join("data/weekly/weekly_occupation_metrics.parquet"));
    let brands = read(&d.join("data/weekly/weekly_brand_metrics.parquet"));
    assert_eq!(
        brands
            .get_column_names()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        [
            "platform",
            "brand",
            "occupation",
            "metric",
            "week_start",
            "gained",
            "brand_share"
        ]
    );
    // Occupation gained equals the sum of its member tags' gained (spec roll-up).
    let tags = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    let w46 = NaiveDate::from_ymd_opt(2026, 11, 9).unwrap();
    let tw = col_date(&tags, "week_start");
    let tn = col_str(&tags, "tag");
    let tg = col_f64(&tags, "gained");
    let nursing: f64 = (0..tags.height())
        .filter(|i| tw[*i] == w46)
        .filter(|i| {
            [
                "nurselife",
                "scrublife",
                "nursesoftiktok",
                "verpleegkundige",
                "pflegekraft",
            ]
            .contains(&tn[*i].as_str())
        })
        .map(|i| tg[i].unwrap())
        .sum();
    let all: f64 = (0..tags.height())
        .filter(|i| tw[*i] == w46)
        .filter_map(|i| tg[i])
        .sum();
    let ow = col_date(&occ, "week_start");
    let on = col_str(&occ, "occupation");
    let i = (0..occ.height())
        .find(|i| ow[*i] == w46 && on[*i] == "Nursing")
        .unwrap();
    assert!(close(col_f64(&occ, "gained")[i], Some(nursing)));
    assert!(close(col_f64(&occ, "share")[i], Some(nursing / all)));
    assert_eq!(col_f64(&occ, "tags_reporting")[i], Some(5.0));
    assert_eq!(col_f64(&occ, "tags_total")[i], Some(8.0));

    let rep = d.join("reports/2026-W46");
    let html = fs::read_to_string(rep.join("index.html")).unwrap();
    for needle in [
        "Synthetic sample data",
        "How is my brand doing?",
        "Acme Care",
        "#verpleegkundige",
        "Nursing",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle:?}");
    }
    let summary = fs::read_to_string(rep.join("summary.md")).unwrap();
    assert!(summary.contains("synthetic sample data"), "{summary}");
    assert!(
        summary.contains("#verpleegkundige"),
        "the planted burst is a breakout: {summary}"
    );
    // News first; Farming's +33% week is one rounding step over a flat series: no
    // breakout (it scored z = 95 before the resolution floor).
    assert!(
        summary.contains("- Broke out: #elektriker (z "),
        "{summary}"
    );
    assert!(!summary.contains("Farming (z"), "{summary}");
    let farming = (0..occ.height())
        .find(|i| ow[*i] == w46 && on[*i] == "Farming")
        .unwrap();
    assert!(col_f64(&occ, "resolution")[farming].unwrap() >= 1e7);
    assert_eq!(col_f64(&occ, "breakout")[farming], Some(0.0));
    // z, z_median and breakout of every tag and occupation row equal the loop-by-loop
    // reading of the spec, from the table's own gained and resolution.
    for (df, name) in [(&tags, "tag"), (&occ, "occupation")] {
        let (names, weeks) = (col_str(df, name), col_date(df, "week_start"));
        let (gained, res) = (col_f64(df, "gained"), col_f64(df, "resolution"));
        let (z, zm, br) = (
            col_f64(df, "z"),
            col_f64(df, "z_median"),
            col_f64(df, "breakout"),
        );
        let mut series: std::collections::BTreeMap<&str, std::collections::BTreeMap<_, _>> =
            Default::default();
        for i in 0..df.height() {
            series.entry(names[i].as_str()).or_default().insert(
                weeks[i],
                reference::RefWeek {
                    total_end: None,
                    gained: gained[i],
                    observations: 0,
                    decreases: 0,
                    resolution: res[i],
                },
            );
        }
        let want: std::collections::BTreeMap<_, _> = series
            .iter()
            .map(|(n, w)| (*n, reference::robust_z(w, true)))
            .collect();
        for i in 0..df.height() {
            let r = want[names[i].as_str()][&weeks[i]];
            assert!(close(z[i], r.z), "{name} {} {}", names[i], weeks[i]);
            assert!(close(zm[i], r.z_median), "{name} {} {}", names[i], weeks[i]);
            assert_eq!(br[i], Some(f64::from(u8::from(r.breakout))));
        }
    }
    // W47 has no end boundary yet: refused with exit 2, naming the latest complete week.
    let (code, err) = fails(d, &["report", "--week", "2026-W47"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the latest complete week is 2026-W46"),
        "{err}"
    );
    for png in [
        "occupations-tiktok-views.png",
        "trend-tiktok-views.png",
        "brand-share-tiktok-views.png",
    ] {
        let bytes = fs::read(rep.join(png)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{png}");
        assert!(bytes.len() > 10_000, "{png} is a real picture");
        assert!(rep.join(png.replace(".png", ".svg")).is_file());
    }
    let occ_csv = fs::read_to_string(rep.join("occupations.csv")).unwrap();
    let nursing_line = occ_csv.lines().find(|l| l.contains(",Nursing,")).unwrap();
    assert!(
        nursing_line.starts_with("2026-W46,2026-11-09,tiktok,views,Nursing,70910399,70910398.8"),
        "{nursing_line}"
    );

    // A second run re-reads the same files: nothing double-counts.
    ok(d, &["run"]);
    assert!(tags.equals_missing(&read(&d.join("data/weekly/weekly_tag_metrics.parquet"))));
    assert!(occ.equals_missing(&read(
        &d.join("data/weekly/weekly_occupation_metrics.parquet")
    )));
}

#[test]
fn daily_counts_and_a_second_platform_get_their_own_panel_and_a_broken_source_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Mastodon daily uses: week of Mon 2026-11-09 complete (7 days), week of 11-16 has
    // three days, and one day of 11-23 makes week 47 complete.
    let mut csv = String::from("tag,day,value,platform,metric\n");
    for (day, v) in [
        (9, 1),
        (10, 2),
        (11, 3),
        (12, 4),
        (13, 5),
        (14, 6),
        (15, 7),
        (16, 10),
        (18, 20),
        (20, 30),
        (23, 1),
    ] {
        csv.push_str(&format!("#NurseLife,2026-11-{day:02},{v},mastodon,uses\n"));
    }
    fs::write(d.join("uses.csv"), csv).unwrap();
    fs::write(
        d.join("nurselife.tsv"),
        "2026-11-15 00:00:00\t1000\n2026-11-17 00:00:00\t3000\n2026-11-23 12:00:00\t9000\n",
    )
    .unwrap();
    fs::write(
        d.join("tagpulse.toml"),
        r#"
[[sources]]
id = "views"
kind = "file"
paths = ["nurselife.tsv"]

[[sources]]
id = "mastodon"
kind = "file"
paths = ["uses.csv"]

[[sources]]
id = "broken"
kind = "file"
paths = ["missing/*.csv"]
"#,
    )
    .unwrap();
    let out = tagpulse(d, &["run", "--week", "2026-W47"]);
    assert_eq!(out.status.code(), Some(1), "a failed source fails the job");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("1 source(s) failed")
            && err.contains("broken: missing/*.csv: matches no file"),
        "{err}"
    );
    // The other sources landed and the report was written all the same.
    let tags = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    let platform = col_str(&tags, "platform");
    let gained = col_f64(&tags, "gained");
    let coverage = col_f64(&tags, "coverage");
    let m: Vec<usize> = (0..tags.height())
        .filter(|i| platform[*i] == "mastodon")
        .collect();
    assert_eq!(m.len(), 3);
    assert_eq!(gained[m[0]], Some(28.0));
    assert_eq!(coverage[m[0]], Some(1.0));
    assert_eq!(gained[m[1]], Some(60.0));
    assert_eq!(coverage[m[1]], Some(3.0 / 7.0));
    assert_eq!(col_f64(&tags, "total_end")[m[1]], None);
    assert_eq!(col_f64(&tags, "wow_growth")[m[1]], Some(60.0 / 28.0 - 1.0));
    let html = fs::read_to_string(d.join("reports/2026-W47/index.html")).unwrap();
    assert!(html.contains("What happened this week — TikTok views"));
    assert!(html.contains("What happened this week — Mastodon uses"));
    assert!(
        html.contains("daily-count series are partial this week"),
        "coverage 3/7 is flagged"
    );
    assert!(d
        .join("reports/2026-W47/occupations-mastodon-uses.png")
        .is_file());
    assert!(d
        .join("reports/2026-W47/occupations-tiktok-views.png")
        .is_file());
    // Platforms are never added: each panel's total tile has its own total.
    assert!(
        html.contains(r#"<div class="v">60</div><div class="k">uses gained by tracked tags</div>"#),
        "{html}"
    );
}

/// The sample in Dutch and German: every fixed text, the dates and the numbers in the
/// language, `lang` on the pages; English stays the default; a bad language is refused
/// naming key and line.
#[test]
fn the_report_speaks_dutch_and_german_and_links_its_weeks_and_files() {
    let dir = sample_checkout();
    let d = dir.path();
    ok(d, &["run", "-q"]);
    let en = fs::read_to_string(d.join("reports/2026-W46/index.html")).unwrap();
    assert!(en.contains(r#"<html lang="en">"#));
    // Every English heading of the page, none of which may survive a translation.
    let english = [
        "What happened this week",
        "Which occupations are growing?",
        "How has that moved over time?",
        "Which tags moved most?",
        "What broke out?",
        "Can I trust these numbers?",
        "What the figures mean",
        "gained by tracked tags",
        "Synthetic sample data.",
    ];
    for e in english {
        assert!(en.contains(e), "English page lacks {e:?}");
    }
    for (lang, week, words) in [
        (
            "nl",
            "week 46, 9–15 nov 2026",
            [
                "Welke beroepen groeien?",
                "Kan ik deze cijfers vertrouwen?",
                "Wat de cijfers betekenen",
                "Synthetische voorbeelddata.",
                " mln",
            ],
        ),
        (
            "de",
            "KW 46, 9.–15. Nov. 2026",
            [
                "Welche Berufe wachsen?",
                "Kann ich diesen Zahlen trauen?",
                "Was die Zahlen bedeuten",
                "Synthetische Beispieldaten.",
                " Mio.",
            ],
        ),
    ] {
        let out = ok(d, &["report", "--language", lang, "--out-dir", lang]);
        assert!(out.contains("2026-W46"), "{out}");
        let html = fs::read_to_string(d.join(lang).join("2026-W46/index.html")).unwrap();
        assert!(html.contains(&format!(r#"<html lang="{lang}">"#)), "{lang}");
        assert!(html.contains(week), "{lang}: {week}");
        for w in words {
            assert!(html.contains(w), "{lang} page lacks {w:?}");
        }
        for e in english {
            assert!(!html.contains(e), "{lang} page still says {e:?}");
        }
        // Decimal commas: a percentage such as "+33,4" and no "+33.4".
        let pct = regex_like_percent(&html);
        assert!(pct.len() > 5, "{lang}: {pct:?}");
        assert!(pct.iter().all(|p| p.contains(',')), "{lang}: {pct:?}");
        let summary = fs::read_to_string(d.join(lang).join("2026-W46/summary.md")).unwrap();
        assert!(summary.contains(week), "{lang} summary: {summary}");
        // The spreadsheet files: headers in the language, `;` between fields, decimal
        // commas, a rounded and a raw column per measure.
        let csv = fs::read_to_string(d.join(lang).join("2026-W46/occupations.csv")).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(';').collect();
        let (occ, raw) = if lang == "nl" {
            ("Beroep", "Erbij (exact)")
        } else {
            ("Beruf", "Zuwachs (exakt)")
        };
        assert!(
            header.contains(&occ) && header.contains(&raw),
            "{lang}: {header:?}"
        );
        let nursing: Vec<&str> = csv
            .lines()
            .find(|l| l.contains(";Nursing;"))
            .unwrap()
            .split(';')
            .collect();
        assert_eq!(nursing.len(), header.len(), "{lang}");
        let share = nursing[header
            .iter()
            .position(|h| h.ends_with("(%)") && h.starts_with("Share"))
            .unwrap()];
        assert!(
            share.contains(',') && !share.contains('.'),
            "{lang}: share {share}"
        );
        let brands = fs::read_to_string(d.join(lang).join("2026-W46/brands.csv")).unwrap();
        assert!(
            brands.lines().count() > 1 && brands.contains(";Acme Care;"),
            "{lang}: {brands}"
        );
        let index = fs::read_to_string(d.join(lang).join("index.html")).unwrap();
        assert!(index.contains(&format!(r#"<html lang="{lang}">"#)));
        assert!(
            index.contains(week),
            "the index shows the week's dates: {index}"
        );
    }
    // A page per tag of the week, linked from the tables: 52 weeks, the breakout
    // marked, its occupations, its quality.
    assert!(
        en.contains(r#"href="tags/elektriker.html""#),
        "the tables link the tag pages"
    );
    let tag = fs::read_to_string(d.join("reports/2026-W46/tags/elektriker.html")).unwrap();
    assert!(
        tag.contains("#elektriker — week 46, 9–15 Nov 2026"),
        "{tag}"
    );
    assert!(tag.contains("Occupations: Electricians."), "{tag}");
    assert!(
        tag.contains("⚡ Breakout") && tag.contains("<title>Breakout, week 46"),
        "breakout marked"
    );
    assert!(tag.contains("Last observation: "), "quality notes");
    let weeks = tag.matches("<tr><td class=\"l\">week ").count();
    assert!((40..=52).contains(&weeks), "{weeks} weeks in the table");
    assert!(tag.contains(r#"href="../index.html""#));
    let tag_pages = fs::read_dir(d.join("reports/2026-W46/tags"))
        .unwrap()
        .count();
    assert_eq!(tag_pages, 37, "one page per tag of the week");
    // Links: the list of weeks, the files to download; a later week links back.
    assert!(en.contains(r#"href="../index.html""#));
    for f in [
        "occupations.csv",
        "tags.csv",
        "summary.md",
        "occupations-tiktok-views.png",
    ] {
        assert!(
            en.contains(&format!(r#"href="{f}""#)),
            "no download link to {f}"
        );
        assert!(d.join("reports/2026-W46").join(f).is_file(), "{f} exists");
    }
    let csv46 = fs::read(d.join("reports/2026-W46/tags.csv")).unwrap();
    ok(d, &["report", "--week", "2026-W45"]);
    let w45 = fs::read_to_string(d.join("reports/2026-W45/index.html")).unwrap();
    assert!(
        w45.contains(r#"href="../2026-W46/index.html" rel="next""#),
        "W45 links W46"
    );
    // W46, published before W45 existed, now links back to it; nothing else changed.
    let w46 = fs::read_to_string(d.join("reports/2026-W46/index.html")).unwrap();
    assert!(
        w46.contains(r#"href="../2026-W45/index.html" rel="prev""#),
        "W46 links W45"
    );
    let without_nav =
        |h: &str| h[..h.find("<nav ").unwrap()].to_string() + &h[h.find("</nav>").unwrap()..];
    assert_eq!(without_nav(&w46), without_nav(&en));
    assert_eq!(
        fs::read(d.join("reports/2026-W46/tags.csv")).unwrap(),
        csv46
    );
    assert!(
        d.join("reports/2026-W46/tags/elektriker.html").is_file(),
        "the tag pages came along"
    );
    let index = fs::read_to_string(d.join("reports/index.html")).unwrap();
    assert!(
        index.contains("week 45, 2–8 Nov 2026") && index.contains("Broke out"),
        "{index}"
    );
    // With a base_url the summary links the published page in full.
    let toml = fs::read_to_string(d.join("tagpulse.toml")).unwrap();
    let published = toml.replace(
        "[report]\n",
        "[report]\nbase_url = \"https://intranet.example/tp/\"\n",
    );
    fs::write(d.join("tagpulse.toml"), &published).unwrap();
    ok(d, &["report", "-q"]);
    let summary = fs::read_to_string(d.join("reports/2026-W46/summary.md")).unwrap();
    assert!(
        summary.contains("Full report: https://intranet.example/tp/2026-W46/index.html ("),
        "{summary}"
    );
    // A language the report does not have is a config error with its line.
    let bad = toml.replace("[report]\n", "[report]\nlanguage = \"fr\"\n");
    assert_ne!(bad, toml, "the sample config has a [report] table");
    fs::write(d.join("tagpulse.toml"), bad).unwrap();
    let (_, err) = fails(d, &["report"]);
    assert!(
        err.contains("report.language") && err.contains("unknown variant `fr`"),
        "{err}"
    );
}

/// The signed percentages of a page (`+33.4%`, `-12,0 %`), as written.
fn regex_like_percent(html: &str) -> Vec<String> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    for (i, c) in b.iter().enumerate() {
        if (*c == b'+' || *c == b'-') && b.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let end = (i + 1..b.len())
                .find(|&j| !(b[j].is_ascii_digit() || b[j] == b'.' || b[j] == b','))
                .unwrap_or(b.len());
            let rest = &html[end..];
            if rest.starts_with('%') || rest.starts_with("\u{a0}%") {
                out.push(html[i..end].to_string());
            }
        }
    }
    out
}

/// What the browser measured on a page (see [`MEASURE`]).
#[derive(Debug, serde::Deserialize)]
struct Layout {
    /// The page's width and the viewport's, in CSS pixels.
    scroll_width: f64,
    viewport: f64,
    /// The smallest chart text as shown, in CSS pixels, and how many were measured.
    min_chart_text: f64,
    chart_texts: usize,
    /// Charts shown, and those with an accessible label.
    charts: usize,
    labelled: usize,
    /// Hover titles in the charts shown.
    titles: usize,
}

/// Appended to a copy of a page: measures it as a reader's browser lays it out and
/// posts the figures to the frame holding it.
const MEASURE: &str = r#"<script>
addEventListener('load', () => {
  const shown = el => el.getClientRects().length > 0;
  let min = Infinity, n = 0, charts = 0, labelled = 0, titles = 0;
  for (const c of document.querySelectorAll('.chart')) {
    for (const svg of c.querySelectorAll('svg')) {
      if (!shown(svg)) continue;
      charts++;
      if (c.getAttribute('role') === 'img' && c.getAttribute('aria-label')) labelled++;
      titles += svg.querySelectorAll('title').length;
      const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
      for (const t of svg.querySelectorAll('text')) {
        const size = parseFloat(t.getAttribute('font-size')) * scale;
        if (t.textContent.trim() && size) { min = Math.min(min, size); n++; }
      }
    }
  }
  parent.postMessage(JSON.stringify({
    scroll_width: document.documentElement.scrollWidth, viewport: innerWidth,
    min_chart_text: min, chart_texts: n, charts, labelled, titles }), '*');
});
</script>"#;

/// Lays `page` out in headless Chromium at `width` CSS pixels and returns the figures.
/// The page sits in a frame that wide (headless windows are at least 500 px), which
/// writes what the page posts onto its `<body data-layout>` for `--dump-dom`.
fn measure(chrome: &std::path::Path, page: &std::path::Path, width: u32) -> Layout {
    let html = fs::read_to_string(page).unwrap();
    let probe = page.with_file_name("probe.html");
    fs::write(
        &probe,
        html.replace("</body>", &format!("{MEASURE}</body>")),
    )
    .unwrap();
    let frame = page.with_file_name("frame.html");
    fs::write(
        &frame,
        format!(
            "<!DOCTYPE html><html><body><iframe src=\"probe.html\" width=\"{width}\" height=\"900\" \
             style=\"border:0\"></iframe><script>addEventListener('message', e => \
             document.body.dataset.layout = e.data)</script></body></html>"
        ),
    )
    .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(chrome)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--user-data-dir={}", profile.path().display()),
            "--window-size=1500,1000",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("file://{}", frame.display()))
        .output()
        .unwrap();
    fs::remove_file(&probe).unwrap();
    fs::remove_file(&frame).unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let at = dom.find("data-layout=\"").unwrap_or_else(|| {
        panic!(
            "no measurement in the DOM: {dom}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let rest = &dom[at + "data-layout=\"".len()..];
    let json = rest[..rest.find('"').unwrap()].replace("&quot;", "\"");
    serde_json::from_str(&json).unwrap()
}

/// The sample's page in each language, laid out by a real browser at a laptop's and a
/// phone's width: no sideways panning, chart text at least 11 px as shown, every chart
/// shown labelled and with hover titles; printed, A4 landscape on at most six pages
/// (ten before the print styles).
#[test]
fn the_pages_fit_a_phone_and_a_laptop_in_a_real_browser() {
    require!(
        "Chromium",
        chromium().is_some(),
        "install it (Debian: apt install chromium); .ci/run does"
    );
    let chrome = chromium().unwrap();
    let dir = sample_checkout();
    let d = dir.path();
    ok(d, &["run", "-q"]);
    for lang in ["en", "nl", "de"] {
        ok(d, &["report", "-q", "--language", lang, "--out-dir", lang]);
        let week = d.join(lang).join("2026-W46");
        for (page, width) in [
            (week.join("index.html"), 1400),
            (week.join("index.html"), 375),
            (week.join("tags/elektriker.html"), 375),
        ] {
            let l = measure(&chrome, &page, width);
            assert_eq!(l.viewport, f64::from(width), "{lang} at {width}: {l:?}");
            assert!(
                l.scroll_width <= l.viewport,
                "{lang} at {width} px pans sideways: {l:?}"
            );
            assert!(
                l.charts >= 2 && l.labelled == l.charts,
                "{lang} at {width}: {l:?}"
            );
            assert!(l.chart_texts > 20, "{lang} at {width}: {l:?}");
            assert!(
                l.min_chart_text >= 11.0,
                "{lang} at {width}: chart text of {:.1} px",
                l.min_chart_text
            );
            assert!(l.titles > 30, "{lang} at {width}: {l:?}");
        }
        let pdf = d.join(format!("{lang}.pdf"));
        let profile = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(&chrome)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-pdf-header-footer",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--print-to-pdf={}", pdf.display()))
            .arg(format!("file://{}", week.join("index.html").display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let bytes = fs::read(&pdf).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        // One media box per page: A4 landscape is 842 x 595 points.
        let boxes: Vec<&str> = text.split("/MediaBox [0 0 ").skip(1).collect();
        assert!(
            (2..=6).contains(&boxes.len()),
            "{lang}: {} printed pages",
            boxes.len()
        );
        let size: Vec<f64> = boxes[0]
            .split([' ', ']'])
            .take(2)
            .map(|v| v.parse().unwrap())
            .collect();
        assert!(
            (size[0] - 842.0).abs() < 1.0 && (size[1] - 595.0).abs() < 1.0,
            "{lang}: {size:?}"
        );
    }
}

/// `tagpulse compare`: up to five tags' weekly gained side by side and indexed to 100,
/// equal to the weekly table; six tags or an unknown one are refused.
#[test]
fn compare_sets_tags_side_by_side_and_indexes_them_to_100() {
    let dir = sample_checkout();
    let d = dir.path();
    ok(d, &["run", "-q"]);
    let out = ok(d, &["compare", "--weeks", "12", "elektriker", "#azubi"]);
    let stem = d.join("reports/compare/compare-elektriker-azubi");
    for ext in [".svg", ".png", "-indexed.svg", "-indexed.png", ".csv"] {
        let f = format!("{}{ext}", stem.display());
        assert!(std::path::Path::new(&f).is_file(), "{f}: {out}");
    }
    let csv = fs::read_to_string(format!("{}.csv", stem.display())).unwrap();
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(lines[0][2], "#elektriker Gained");
    assert_eq!(lines.len(), 13, "a header and 12 weeks");
    // The first week both have is 100 for each; the gained is the weekly table's.
    assert_eq!((lines[1][3], lines[1][5]), ("100", "100"));
    let tags = read(&d.join("data/weekly/weekly_tag_metrics.parquet"));
    let (tn, tw, tg) = (
        col_str(&tags, "tag"),
        col_date(&tags, "week_start"),
        col_f64(&tags, "gained"),
    );
    let week: NaiveDate = lines[12][1].parse().unwrap();
    let i = (0..tags.height())
        .find(|i| tn[*i] == "elektriker" && tw[*i] == week)
        .unwrap();
    assert!(
        close(tg[i], lines[12][2].parse().ok()),
        "{:?} vs {}",
        tg[i],
        lines[12][2]
    );
    let svg = fs::read_to_string(format!("{}-indexed.svg", stem.display())).unwrap();
    assert!(
        svg.contains("indexed to 100") && svg.contains("<title>#azubi, week"),
        "hover titles"
    );
    let (code, err) = fails(d, &["compare", "a", "b", "c", "d", "e", "f"]);
    assert_eq!(code, 2, "{err}");
    let (code, err) = fails(d, &["compare", "elektriker", "nosuchtag"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("#nosuchtag has no weekly figures for tiktok views"),
        "{err}"
    );
}
