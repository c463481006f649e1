//! The HTML page of a small real sweep, in a real browser (headless Chromium): it loads from a
//! file with no network, every chart is present and drawn, its table's numbers are those of
//! `report --format csv`, and it prints to PDF.
//!
//! CI installs Debian's `chromium` (.ci/run). Without it this test FAILS, unless
//! NNSWEEP_SKIP_BROWSER=1 says to skip it (and then it says so loudly).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{nnsweep, write};

const SWEEP: &str = "name = \"p\"\n\
[data]\nkind = \"circles\"\nsamples = 120\nseed = 3\n\
[train]\nsteps = 300\nlog_every = 100\n\
[grid]\nhidden = [3, 8]\neta = [0.01, 0.03]\nseed = [0, 1]\n\
[output]\nsave_models = true\n";

/// The browser, or `None` when the user opted out of this test.
fn chromium() -> Option<PathBuf> {
    let skip = std::env::var("NNSWEEP_SKIP_BROWSER").is_ok_and(|v| v == "1");
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output() {
            if out.status.success() {
                let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
                return Some(PathBuf::from(path));
            }
        }
    }
    if skip {
        eprintln!("\n*** SKIPPED the browser test: no chromium, and NNSWEEP_SKIP_BROWSER=1 ***\n");
        return None;
    }
    panic!(
        "chromium is not installed: `apt-get install chromium` (as .ci/run does), or set \
         NNSWEEP_SKIP_BROWSER=1 to skip this test knowingly"
    );
}

/// Runs headless Chromium on the page with `args`, no network (a proxy that does not exist),
/// in a profile of its own.
fn browse(browser: &Path, dir: &Path, page: &Path, args: &[String]) -> Vec<u8> {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--proxy-server=127.0.0.1:9",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The text between `start` and the next `end`, from `from`.
fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

#[test]
fn the_page_of_a_real_sweep_in_a_real_browser() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "p.toml", SWEEP);
    let run = nnsweep(d)
        .args(["run", "p.toml", "--threads", "2"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let page = d.join("results/p/summary.html");
    assert!(
        page.exists(),
        "run writes the page beside the other summaries"
    );

    // The DOM as the browser built it from the file.
    let dom = String::from_utf8(browse(&browser, d, &page, &["--dump-dom".into()])).unwrap();
    assert!(
        dom.contains("<h1>nnsweep: p</h1>"),
        "the page loaded: {}",
        &dom[..dom.len().min(300)]
    );
    for banned in ["<script", "src=", "href=", "@import", "url("] {
        assert!(
            !dom.contains(banned),
            "{banned}: the page must fetch nothing"
        );
    }

    // Every chart is there and drawn: an SVG with lines, shapes and text in it.
    for kind in ["accuracy", "gap", "curves", "boundary"] {
        let figure = between(
            &dom,
            &format!("<figure class=\"chart {kind}\">"),
            "</figure>",
        )
        .unwrap_or_else(|| panic!("no {kind} chart on the page"));
        let shapes = [
            "<polyline",
            "<path",
            "<rect",
            "<circle",
            "<line",
            "<polygon",
        ]
        .iter()
        .map(|t| figure.matches(t).count())
        .sum::<usize>();
        assert!(figure.starts_with("<svg"), "{kind}");
        assert!(shapes > 20, "{kind} chart has only {shapes} shapes");
        assert!(
            figure.matches("<text").count() > 5,
            "{kind} chart has no labels"
        );
    }
    // Two hidden sizes: a learning-curves chart and a boundary for each.
    assert_eq!(dom.matches("<figure class=\"chart curves\">").count(), 2);
    assert_eq!(dom.matches("<figure class=\"chart boundary\">").count(), 2);
    // Each boundary rings its 24 test points (120 samples × 0.2) in their class's colour, plus
    // one ring per class in the legend, which names them.
    for figure in dom.split("<figure class=\"chart boundary\">").skip(1) {
        let figure = figure.split("</figure>").next().unwrap();
        let rings = ["#1F77B4", "#FF7F0E"]
            .iter()
            .map(|c| {
                figure
                    .matches(&format!("fill=\"none\" stroke=\"{c}\""))
                    .count()
            })
            .sum::<usize>();
        assert_eq!(rings, 24 + 2, "test rings on a boundary chart");
        assert!(
            figure.contains("class 1, test"),
            "the legend names the test points"
        );
    }

    // The table's numbers are report --format csv's: every group, every mean and sd.
    let csv_out = nnsweep(d)
        .args(["report", "results/p.csv", "--format", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(csv_out.stdout).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 4, "{text}");
    let table = between(&dom, "<table class=\"long\">", "</table>").expect("the long table");
    let trs: Vec<&str> = table.split("<tr>").skip(2).collect();
    assert_eq!(trs.len(), rows.len(), "one table row per group");
    for (tr, row) in trs.iter().zip(&rows) {
        for metric in ["train_acc", "test_acc", "gap"] {
            let col = |suffix: &str| {
                let name = format!("{metric}_{suffix}");
                let i = header.iter().position(|h| h == name).unwrap();
                row[i].to_string()
            };
            let cell = between(tr, &format!("data-metric=\"{metric}\""), "</td>").unwrap();
            let mean = between(cell, "data-mean=\"", "\"").unwrap();
            let sd = between(cell, "data-sd=\"", "\"").unwrap();
            assert_eq!(
                (mean.to_string(), sd.to_string()),
                (col("mean"), col("sd")),
                "{tr}"
            );
            // And the text a person reads is that mean in percent.
            let shown = cell.rsplit('>').next().unwrap();
            let pct = format!("{:.1}", 100.0 * col("mean").parse::<f64>().unwrap());
            assert!(shown.starts_with(&pct), "{shown} vs {pct}");
        }
        // The group's keys: hidden and eta as the CSV has them.
        let keys: Vec<&str> = tr
            .split("<td class=\"key\">")
            .skip(1)
            .map(|s| s.split('<').next().unwrap())
            .collect();
        assert_eq!(keys, [&row[0], &row[1]]);
    }

    // A 1280×800 screenshot that is not blank, and a PDF of the printed page.
    let shot = d.join("shot.png");
    browse(
        &browser,
        d,
        &page,
        &[
            "--window-size=1280,800".into(),
            format!("--screenshot={}", shot.display()),
        ],
    );
    let img = image::open(&shot).expect("a PNG screenshot").to_rgb8();
    assert_eq!(img.dimensions(), (1280, 800));
    let dark = img
        .pixels()
        .filter(|p| p.0.iter().all(|&c| c < 128))
        .count();
    assert!(
        dark > 2_000,
        "the screenshot is nearly blank ({dark} dark pixels)"
    );
    let pdf = d.join("page.pdf");
    browse(
        &browser,
        d,
        &page,
        &[format!("--print-to-pdf={}", pdf.display())],
    );
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(
        bytes.starts_with(b"%PDF") && bytes.len() > 20_000,
        "PDF of {} bytes",
        bytes.len()
    );
    if let Ok(keep) = std::env::var("NNSWEEP_KEEP_PAGE") {
        for f in [&page, &shot, &pdf] {
            std::fs::copy(f, Path::new(&keep).join(f.file_name().unwrap())).unwrap();
        }
    }
}
