//! Reliability end to end (issue 6): long and hostile input, crash safety, the state store's
//! lock and incremental runs, `--since`, `inbox`, shards and `merge`, labels and taxonomies
//! with errors, and path traversal through article ids and `--out`.
//!
//! Like tests/cli.rs, every test runs the bantin binary with the real default model (cached in
//! ~/.cache/bantin; the hub is pointed at a closed loopback port). Model loading dominates the
//! cost, so the articles are short (each test article is cut to its first paragraph) and the
//! two runs several tests compare against are made once per test binary.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Running bantin

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary with the hub closed and no BANTIN_* settings from the caller's environment.
fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bantin"));
    c.args(args).env("HF_ENDPOINT", "http://127.0.0.1:9");
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("BANTIN_") {
            c.env_remove(k);
        }
    }
    c
}

fn bantin(args: &[&str]) -> Output {
    command(args).output().expect("bantin runs")
}

fn spawn(args: &[&str]) -> Child {
    command(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bantin starts")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout_lines(o: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line {l:?}: {e}")))
        .collect()
}

#[track_caller]
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "exit status\n--- stderr:\n{}",
        stderr(o)
    );
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: bad line: {e}", path.display()))
        })
        .collect()
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn by_id(results: &[Value]) -> BTreeMap<String, Value> {
    results
        .iter()
        .map(|r| (r["id"].as_str().expect("id").to_string(), r.clone()))
        .collect()
}

/// The count in the digest's summary line "digest: N articles (K reused from state, ...".
fn reused(stderr: &str) -> usize {
    let at = stderr
        .find(" reused from state")
        .unwrap_or_else(|| panic!("no \"reused from state\" in:\n{stderr}"));
    let digits: String = stderr[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().expect("a count before \"reused\"")
}

/// All regular files under `dir`, relative paths, sorted.
fn snapshot(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Test data

/// The first 40 articles of eval/test.jsonl (the set itself grows; the tests below count on 40),
/// each cut after its first body paragraph (the lines above it, furniture included, are kept):
/// enough for the model to classify and summarise, short enough for a 40-article run to take
/// seconds.
fn short_articles() -> Vec<Value> {
    let text = std::fs::read_to_string(root().join("eval/test.jsonl")).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(40)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let mut kept = Vec::new();
            for line in v["text"].as_str().unwrap().split('\n') {
                kept.push(line);
                if line.chars().count() >= 80 && line.trim_end().ends_with('.') {
                    break;
                }
            }
            serde_json::json!({
                "id": v["id"], "title": v["title"], "date": v["date"], "source": v["source"],
                "text": kept.join("\n"),
            })
        })
        .collect()
}

fn write_jsonl(path: &Path, items: &[Value]) {
    let mut text = String::new();
    for v in items {
        text.push_str(&serde_json::to_string(v).unwrap());
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

/// splitmix64: deterministic variety for generated text.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// A plausible Vietnamese policy-news sentence, starting upper case and ending with a period
/// (so that each one is exactly one sentence to the segmenter).
fn sentence(rng: &mut Rng) -> String {
    const WHO: &[&str] = &[
        "Bộ Công Thương",
        "Ủy ban nhân dân tỉnh Bắc Ninh",
        "Chính phủ",
        "Hiệp hội Doanh nghiệp điện tử Việt Nam",
        "Ngân hàng Nhà nước",
        "Sở Kế hoạch và Đầu tư Hải Phòng",
        "Tập đoàn Điện lực Việt Nam",
        "Ban Kinh tế Trung ương",
        "Nhiều doanh nghiệp nhỏ và vừa",
        "Thủ tướng Chính phủ",
    ];
    const DID: &[&str] = &[
        "vừa ban hành kế hoạch",
        "đã đề xuất cơ chế ưu đãi về",
        "tiếp tục triển khai chương trình",
        "công bố báo cáo đánh giá về",
        "kiến nghị sửa đổi chính sách",
        "yêu cầu đẩy nhanh tiến độ",
    ];
    const WHAT: &[&str] = &[
        "phát triển công nghiệp hỗ trợ",
        "chuyển đổi số trong doanh nghiệp",
        "thu hút đầu tư vào khu công nghiệp",
        "đào tạo nhân lực ngành bán dẫn",
        "phát triển điện gió ngoài khơi",
        "hoàn thiện thể chế về kinh tế tuần hoàn",
        "công nghiệp hóa, hiện đại hóa đất nước",
    ];
    let y = 2020 + rng.below(10);
    let tail = match rng.below(4) {
        0 => format!("giai đoạn {y}-{}", y + 5),
        1 => format!("với tổng vốn {} tỷ đồng", 100 + rng.below(9900)),
        2 => format!(
            "trong năm {y}, tăng {},{}% so với năm trước",
            rng.below(30),
            rng.below(10)
        ),
        _ => format!("nhằm nâng tỷ trọng công nghiệp lên {}%", 20 + rng.below(25)),
    };
    format!(
        "{} {} {} {tail}.",
        WHO[rng.below(WHO.len())],
        DID[rng.below(DID.len())],
        WHAT[rng.below(WHAT.len())]
    )
}

/// An article of about `bytes` bytes in lines of `per_line` sentences; returns the text and
/// its number of sentences.
fn long_article(
    seed: u64,
    bytes: Option<usize>,
    lines: Option<usize>,
    per_line: usize,
) -> (String, usize) {
    let mut rng = Rng(seed);
    let mut text = String::from("Kế hoạch phát triển công nghiệp hỗ trợ đến năm 2030\n\n");
    let mut n = 1; // the headline is a sentence of its own
    let mut count = 0;
    loop {
        let line: Vec<String> = (0..per_line).map(|_| sentence(&mut rng)).collect();
        n += line.len();
        text.push_str(&line.join(" "));
        text.push('\n');
        count += 1;
        if bytes.is_some_and(|b| text.len() >= b) || lines.is_some_and(|l| count >= l) {
            return (text, n);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Runs shared by several tests

/// What a run left behind, read into memory (the temp dir is gone).
struct Finished {
    status: Option<i32>,
    stderr: String,
    seconds: f64,
    articles: Vec<Value>,
    digest: Value,
    files: BTreeMap<String, Vec<u8>>,
    /// Files that appeared outside the output directory, relative to the sandbox.
    escaped: Vec<PathBuf>,
}

fn read_outputs(out: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(out)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(out.join(&p)).unwrap();
            (p.display().to_string(), bytes)
        })
        .collect()
}

/// One unsharded, stateless digest of the 40 short articles: what the crash, shard and
/// incremental tests compare with.
fn reference() -> &'static Finished {
    static RUN: OnceLock<Finished> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("short40.jsonl");
        write_jsonl(&input, &short_articles());
        let out = dir.path().join("out");
        let t = Instant::now();
        let o = bantin(&["digest", s(&input), "--out", s(&out), "--no-state"]);
        assert_exit(&o, 0);
        assert!(
            !out.join("state.sqlite").exists(),
            "--no-state must not create a state store"
        );
        Finished {
            status: o.status.code(),
            stderr: stderr(&o),
            seconds: t.elapsed().as_secs_f64(),
            articles: jsonl(&out.join("articles.jsonl")),
            digest: json(&out.join("digest.json")),
            files: read_outputs(&out),
            escaped: Vec::new(),
        }
    })
}

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="vi"><head><meta charset="utf-8">
<title>Doanh nghiệp công nghệ số tăng tốc</title>
<style>body { font-family: STYLELEAK_HEAD, sans-serif }</style>
<script>var token = "SCRIPTLEAK_HEAD"; if (a < b && c > d) { document.write("<p>SCRIPTLEAK_WRITE</p>"); }</script>
<SCRIPT type="text/javascript">window.SCRIPTLEAK_UPPER = "</div><p>";</SCRIPT>
</head>
<body>
<h1>Doanh nghiệp công nghệ số tăng tốc</h1>
<p>Bộ Thông tin và Truyền thông cho biết số doanh nghiệp công nghệ số đã vượt 74.000 trong năm 2024, tăng hơn 5% so với năm trước.</p>
<script>/* </p></div> */ var leak = "SCRIPTLEAK_BODY"; </script>
<p>Doanh thu công nghiệp công nghệ số ước đạt 152 tỷ USD, trong đó phần cứng và điện tử chiếm tỷ trọng lớn nhất.</p>
<style media="screen">.STYLELEAK_BODY { color: red }</style>
<p>Các địa phương được yêu cầu xây dựng chương trình hỗ trợ doanh nghiệp nhỏ và vừa chuyển đổi số, ưu tiên nền tảng số dùng chung.</p>
<script src="/analytics.js"/>var SCRIPTLEAK_SELFCLOSING = 1;</script>
<noscript><p>NOSCRIPTLEAK bật JavaScript để xem trang.</p></noscript>
<script><!-- SCRIPTLEAK_COMMENT --></script>
<p>Bộ cũng đề xuất cơ chế thử nghiệm có kiểm soát cho các sản phẩm trí tuệ nhân tạo.</p>
<script>unclosed SCRIPTLEAK_EOF <p>never text</p>
"#;

/// Script and style content; digest.html's own stylesheet has no such words.
const LEAKS: &[&str] = &[
    "LEAK",
    "color: red",
    "document.write",
    "window.",
    "var ",
    "never text",
];

/// Ids that look like paths: none may lead bantin to write outside its output directory.
fn hostile_ids() -> Vec<String> {
    vec![
        "../../escape".into(),
        format!("/tmp/bantin-reliability-escape-{}/abs", std::process::id()),
        "..\\..\\escape-win".into(),
        "a/../../escape-b".into(),
        "./.hidden-escape".into(),
        "%2e%2e%2fescape-enc".into(),
        "<img src=x onerror=alert(1)>".into(),
    ]
}

/// One digest over hostile input: a 5 MB article, a 100,000-line article, an HTML page full of
/// scripts and styles, and JSON Lines whose ids are paths; run from inside a sandbox with an
/// `--out` that climbs (`../out`).
struct Hostile {
    run: Finished,
    sentences_5mb: usize,
    sentences_100k: usize,
}

fn hostile() -> &'static Hostile {
    static RUN: OnceLock<Hostile> = OnceLock::new();
    RUN.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let sandbox = tmp.path().join("a/b/sandbox");
        let input = sandbox.join("in");
        let work = sandbox.join("work");
        std::fs::create_dir_all(&input).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        let (big, sentences_5mb) = long_article(5, Some(5 << 20), None, 5);
        assert!(big.len() >= 5 << 20);
        std::fs::write(input.join("big-5mb.txt"), big).unwrap();
        let (many, sentences_100k) = long_article(100, None, Some(100_000), 1);
        assert_eq!(many.lines().count(), 100_002);
        std::fs::write(input.join("lines-100k.txt"), many).unwrap();
        std::fs::write(input.join("page.html"), PAGE).unwrap();
        let ids: Vec<Value> = hostile_ids()
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut rng = Rng(1000 + i as u64);
                serde_json::json!({"id": id, "text": format!("{} {}", sentence(&mut rng), sentence(&mut rng))})
            })
            .collect();
        write_jsonl(&input.join("ids.jsonl"), &ids);
        let abs_escape = PathBuf::from(format!(
            "/tmp/bantin-reliability-escape-{}",
            std::process::id()
        ));
        let before = snapshot(tmp.path());
        let t = Instant::now();
        let o = command(&["digest", s(&input), "--out", "../out"])
            .current_dir(&work)
            .output()
            .unwrap();
        let seconds = t.elapsed().as_secs_f64();
        let after = snapshot(tmp.path());
        let out_rel = Path::new("a/b/sandbox/out");
        let mut escaped: Vec<PathBuf> = after
            .difference(&before)
            .filter(|p| !p.starts_with(out_rel))
            .cloned()
            .collect();
        if abs_escape.exists() {
            escaped.push(abs_escape.clone());
            let _ = std::fs::remove_dir_all(&abs_escape);
        }
        let out = sandbox.join("out");
        let run = Finished {
            status: o.status.code(),
            stderr: stderr(&o),
            seconds,
            articles: if out.join("articles.jsonl").exists() {
                jsonl(&out.join("articles.jsonl"))
            } else {
                Vec::new()
            },
            digest: if out.join("digest.json").exists() {
                json(&out.join("digest.json"))
            } else {
                Value::Null
            },
            files: read_outputs(&out),
            escaped,
        };
        Hostile {
            run,
            sentences_5mb,
            sentences_100k,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Long and hostile input

#[test]
fn huge_articles_are_capped_with_an_explicit_warning_in_bounded_time() {
    // Longer articles are cut to their first MAX sentences, with a warning.
    const MAX: usize = bantin::pipeline::MAX_SENTENCES;
    let h = hostile();
    let r = &h.run;
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(
        r.seconds < 300.0,
        "a 5 MB and a 100,000-line article took {:.0}s",
        r.seconds
    );
    eprintln!(
        "hostile digest (5 MB + 100,000 lines + HTML + 7 ids): {:.1}s",
        r.seconds
    );
    let results = by_id(&r.articles);
    for (id, total) in [
        ("big-5mb", h.sentences_5mb),
        ("lines-100k", h.sentences_100k),
    ] {
        let a = results
            .get(id)
            .unwrap_or_else(|| panic!("{id} missing: {:?}", results.keys()));
        let want = format!(
            "article has {total} sentences: only the first {MAX} were classified and summarised"
        );
        let warnings: Vec<&str> = a["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        assert!(
            warnings.contains(&want.as_str()),
            "{id}: warnings {warnings:?}, wanted {want:?}"
        );
        assert_eq!(a["sentences"], MAX, "{id}: sentences analysed");
        assert!(!a["summary"].as_str().unwrap().trim().is_empty(), "{id}");
        assert!(!a["themes"].as_array().unwrap().is_empty(), "{id}");
    }
    assert!(h.sentences_5mb > 30_000, "{}", h.sentences_5mb);
    assert_eq!(h.sentences_100k, 100_001);
    // The digest shows the cut too, not only the JSON. The two generated articles share their
    // wording, so one may be folded into the other as a near-duplicate; an article shown in
    // full shows its warning.
    let mut shown = 0;
    for section in r.digest["themes"].as_array().unwrap() {
        for e in section["articles"].as_array().unwrap() {
            if e["id"] == "big-5mb" || e["id"] == "lines-100k" {
                shown += 1;
                assert!(
                    e["warnings"]
                        .to_string()
                        .contains(&format!("only the first {MAX} ")),
                    "{e}"
                );
            }
        }
    }
    assert!(shown >= 1);
    for f in ["digest.md", "digest.html"] {
        let text = String::from_utf8_lossy(&r.files[f]);
        // The digest speaks Vietnamese by default (`--lang vi`), warnings included.
        assert_eq!(
            text.matches(&format!("chỉ {MAX} câu đầu được phân loại và tóm tắt"))
                .count(),
            shown,
            "{f} does not show the warnings"
        );
    }
}

#[test]
fn html_scripts_and_styles_never_reach_any_output() {
    let r = &hostile().run;
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    let page = r
        .articles
        .iter()
        .find(|a| a["id"] == "page")
        .expect("the HTML page was analysed");
    assert_eq!(page["title"], "Doanh nghiệp công nghệ số tăng tốc");
    assert!(page["sentences"].as_u64().unwrap() >= 4, "{page}");
    for (name, bytes) in &r.files {
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        if name == "digest.html" {
            // bantin's own filter script (one element, allowed by the page's CSP hash) is not
            // input: take it out, then look for the input's scripts anywhere else.
            assert!(
                text.matches("<script").count() <= 1,
                "one script of bantin's own"
            );
            if let (Some(a), Some(b)) = (text.find("<script"), text.find("</script>")) {
                text.replace_range(a..b + "</script>".len(), "");
            }
        }
        for leak in LEAKS {
            assert!(
                !text.contains(leak),
                "{name} holds script or style content {leak:?}"
            );
        }
    }
    assert!(!r.stderr.contains("LEAK"), "{}", r.stderr);
    // The page's own text is there.
    let analyses = String::from_utf8_lossy(&r.files["analyses.jsonl"]);
    assert!(analyses.contains("74.000"), "body text missing");
}

#[test]
fn article_ids_and_out_paths_cannot_write_outside_the_output_dir() {
    let r = &hostile().run;
    assert_eq!(r.status, Some(0), "{}", r.stderr);
    assert!(
        r.escaped.is_empty(),
        "files written outside the output directory: {:?}",
        r.escaped
    );
    let names: BTreeSet<&str> = r.files.keys().map(String::as_str).collect();
    for f in [
        "articles.jsonl",
        "analyses.jsonl",
        "errors.jsonl",
        "digest.json",
        "digest.md",
        "digest.html",
        "state.sqlite",
    ] {
        assert!(names.contains(f), "{f} missing from the output: {names:?}");
    }
    assert!(
        names
            .iter()
            .all(|n| !n.contains('/') && !n.contains("escape")),
        "output named after an id: {names:?}"
    );
    // The ids themselves are kept as data, verbatim.
    let ids: BTreeSet<&str> = r
        .articles
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    for id in hostile_ids() {
        assert!(ids.contains(id.as_str()), "{id} missing: {ids:?}");
    }
    let html = String::from_utf8_lossy(&r.files["digest.html"]);
    assert!(!html.contains("<img"), "an id reached the HTML unescaped");
}

// ---------------------------------------------------------------------------------------------
// Bad labels and theme files

#[test]
fn eval_reports_bad_label_lines_and_scores_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let arts = short_articles();
    let gold = std::fs::read_to_string(root().join("eval/test.jsonl")).unwrap();
    let gold: BTreeMap<String, Value> = gold
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["id"].as_str().unwrap().to_string(), v))
        .collect();
    let label = |i: usize, with_text: bool| {
        let a = &arts[i];
        let g = &gold[a["id"].as_str().unwrap()];
        let mut v = serde_json::json!({"id": a["id"], "primary": g["primary"],
            "themes": g["themes"], "summary": g["summary"]});
        if with_text {
            v["text"] = a["text"].clone();
            v["title"] = a["title"].clone();
        }
        v
    };
    let mut unknown_primary = label(2, true);
    unknown_primary["primary"] = "no-such-theme".into();
    let mut unknown_theme = label(3, true);
    unknown_theme["themes"] = serde_json::json!([unknown_theme["primary"], "made-up-theme"]);
    let mut missing = label(4, false);
    missing["id"] = "not-in-corpus".into();
    let lines = [
        serde_json::to_string(&label(0, true)).unwrap(),
        serde_json::to_string(&label(1, true)).unwrap(),
        serde_json::to_string(&unknown_primary).unwrap(),
        serde_json::to_string(&unknown_theme).unwrap(),
        serde_json::to_string(&missing).unwrap(),
        serde_json::to_string(&label(5, false)).unwrap(), // text joined from --corpus
        "{\"id\": \"broken\", \"primary\": ".to_string(),
    ];
    let labels = dir.path().join("labels.jsonl");
    std::fs::write(&labels, lines.join("\n") + "\n").unwrap();
    let corpus = dir.path().join("corpus.jsonl");
    write_jsonl(&corpus, &[arts[5].clone(), arts[6].clone()]);
    let out = dir.path().join("report");
    let o = bantin(&[
        "eval",
        "--labels",
        s(&labels),
        "--corpus",
        s(&corpus),
        "--out",
        s(&out),
        "--bootstrap",
        "20",
    ]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    let at = |n: usize| format!("{}:{n}:", labels.display());
    for (line, needle) in [
        (3, "no-such-theme"),
        (4, "made-up-theme"),
        (5, "not-in-corpus"),
        (7, "malformed JSON"),
    ] {
        let hit = err
            .lines()
            .any(|l| l.contains(&at(line)) && l.contains(needle));
        assert!(hit, "no message for line {line} ({needle}) in:\n{err}");
    }
    for line in [1, 2, 6] {
        assert!(
            !err.contains(&at(line)),
            "good line {line} reported:\n{err}"
        );
    }
    let report = json(&out.join("report.json"));
    assert_eq!(report["articles"], 3, "lines 1, 2 and 6 are scored");
    assert_eq!(report["skipped"].as_array().unwrap().len(), 4);
    assert!(out.join("report.md").is_file());
    assert!(String::from_utf8_lossy(&o.stdout).contains("primary accuracy"));
}

#[test]
fn malformed_taxonomy_files_exit_2_naming_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    write_jsonl(&input, &short_articles()[..1]);
    let theme = "[[theme]]\nid = \"a\"\nname = \"A\"\ndescription = \"Công nghiệp\"\n";
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "syntax.toml",
            b"name = \"x\"\n[[theme]\nid = \"a\"\n".to_vec(),
            "not a valid theme file",
        ),
        (
            "no-description.toml",
            b"name = \"x\"\n[[theme]]\nid = \"a\"\nname = \"A\"\n".to_vec(),
            "missing field `description`",
        ),
        (
            "duplicate.toml",
            format!("name = \"x\"\n{theme}{theme}").into_bytes(),
            "appears twice",
        ),
        (
            "no-themes.toml",
            b"name = \"x\"\n".to_vec(),
            "missing field `theme`",
        ),
        (
            "bad-id.toml",
            b"name = \"x\"\n[[theme]]\nid = \"../evil\"\nname = \"A\"\ndescription = \"d\"\n"
                .to_vec(),
            "use letters, digits",
        ),
        ("latin1.toml", b"name = \"C\xf4ng\"\n".to_vec(), "UTF-8"),
        ("missing.toml", Vec::new(), "No such file"),
    ];
    for (name, bytes, problem) in &cases {
        let path = dir.path().join(name);
        if *name != "missing.toml" {
            std::fs::write(&path, bytes).unwrap();
        }
        let out = dir.path().join(format!("out-{name}"));
        let o = bantin(&[
            "digest",
            s(&input),
            "--out",
            s(&out),
            "--no-state",
            "--themes",
            s(&path),
        ]);
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(
            err.contains(s(&path)) && err.contains(problem),
            "{name}: wanted the path and {problem:?} in:\n{err}"
        );
        assert!(
            !out.join("digest.json").exists(),
            "{name}: a digest was written"
        );
    }
    // The other commands that take --themes refuse it the same way.
    let bad = dir.path().join("duplicate.toml");
    for args in [
        vec!["classify", s(&input), "--themes", s(&bad)],
        vec!["eval", "--labels", "eval/test.jsonl", "--themes", s(&bad)],
    ] {
        let o = command(&args).current_dir(root()).output().unwrap();
        assert_exit(&o, 2);
        assert!(stderr(&o).contains("appears twice"), "{}", stderr(&o));
    }
}

// ---------------------------------------------------------------------------------------------
// Crash safety and the state store

fn state_rows(path: &Path) -> Option<i64> {
    use rusqlite::{Connection, OpenFlags};
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    conn.query_row("SELECT COUNT(*) FROM analyses", [], |r| r.get(0))
        .ok()
}

/// Every output under its final name is whole: JSON Lines parse line by line, JSON parses, the
/// HTML page ends.
fn assert_outputs_whole(out: &Path) {
    for f in ["articles.jsonl", "analyses.jsonl", "errors.jsonl"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'), "{f} cut short");
        jsonl(&out.join(f));
    }
    json(&out.join("digest.json"));
    let html = std::fs::read_to_string(out.join("digest.html")).unwrap();
    assert!(html.ends_with("</html>\n"), "digest.html cut short");
    let md = std::fs::read_to_string(out.join("digest.md")).unwrap();
    assert!(md.starts_with("# "), "digest.md");
}

#[track_caller]
fn assert_same_results(got: &[Value], want: &[Value], what: &str) {
    let (got, want) = (by_id(got), by_id(want));
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "{what}: ids"
    );
    for (id, w) in &want {
        let g = &got[id];
        let theme_ids = |v: &Value| -> Vec<String> {
            v["themes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(g["primary"], w["primary"], "{what}: {id} primary");
        assert_eq!(theme_ids(g), theme_ids(w), "{what}: {id} themes");
        assert_eq!(g["summary"], w["summary"], "{what}: {id} summary");
    }
}

#[test]
fn kill_9_mid_run_loses_nothing_and_the_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let all = short_articles();
    assert_eq!(all.len(), 40);
    let first = dir.path().join("first8.jsonl");
    write_jsonl(&first, &all[..8]);
    let input = dir.path().join("all40.jsonl");
    write_jsonl(&input, &all);
    let out = dir.path().join("out");
    let state = out.join("state.sqlite");

    // A finished run first, so that the killed one has outputs it could damage.
    let o = bantin(&["digest", s(&first), "--out", s(&out), "--chunk", "4"]);
    assert_exit(&o, 0);
    assert_eq!(state_rows(&state), Some(8));
    let before = read_outputs(&out);

    // The full run, killed mid-analysis once at least one new chunk of 4 is committed.
    // The fast encoder finishes 40 short articles in well under a second: a pause after each
    // commit (test hook) leaves time to kill the run between chunks on any machine.
    let mut child = command(&["digest", s(&input), "--out", s(&out), "--chunk", "4"])
        .env("BANTIN_TEST_CHUNK_DELAY_MS", "150")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bantin starts");
    let t = Instant::now();
    let seen = loop {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before it could be killed");
        }
        match state_rows(&state) {
            Some(n) if n >= 12 => break n,
            _ => {}
        }
        assert!(t.elapsed() < Duration::from_secs(240), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Land inside the next chunk's pause or work rather than right on a commit.
    std::thread::sleep(Duration::from_millis(60));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let rows = state_rows(&state).expect("the store opens after kill -9");
    assert!(rows >= seen && rows < 40, "{rows} rows after the kill");
    {
        let conn = rusqlite::Connection::open_with_flags(
            &state,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }
    // The outputs are the previous run's, whole; no temp file is left.
    assert_outputs_whole(&out);
    for (name, bytes) in &before {
        if !name.starts_with("state.") {
            assert_eq!(
                std::fs::read(out.join(name)).unwrap(),
                *bytes,
                "{name} changed by the killed run"
            );
        }
    }
    let names: Vec<String> = snapshot(&out)
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "temp files left: {names:?}"
    );

    // The re-run takes over the lock of the dead process, reuses every committed row and
    // finishes the rest.
    let o = bantin(&["digest", s(&input), "--out", s(&out), "--chunk", "4"]);
    assert_exit(&o, 0);
    let n = reused(&stderr(&o));
    assert!(
        n as i64 >= rows,
        "{n} reused, but {rows} rows were committed before the kill"
    );
    assert_outputs_whole(&out);
    assert_eq!(state_rows(&state), Some(40));
    let got = jsonl(&out.join("articles.jsonl"));
    assert_same_results(&got, &reference().articles, "resumed run vs one clean run");
    eprintln!("crash: killed with {rows}/40 rows committed; the re-run reused {n}");
}

#[test]
fn a_second_run_on_the_same_state_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    write_jsonl(&input, &short_articles()[..1]);
    let state = dir.path().join("shared.sqlite");
    let (out1, out2) = (dir.path().join("out1"), dir.path().join("out2"));
    let mut first = spawn(&["digest", s(&input), "--out", s(&out1), "--state", s(&state)]);
    let t = Instant::now();
    while !state.exists() {
        assert!(first.try_wait().unwrap().is_none(), "first run ended early");
        assert!(t.elapsed() < Duration::from_secs(60));
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = bantin(&["digest", s(&input), "--out", s(&out2), "--state", s(&state)]);
    assert!(
        first.try_wait().unwrap().is_none(),
        "the first run must still hold the store for this test to mean anything"
    );
    assert_exit(&o, 2);
    let err = stderr(&o);
    assert!(
        err.contains("is in use by another bantin run") && err.contains(s(&state)),
        "{err}"
    );
    assert!(!out2.join("digest.json").exists());
    let status = first.wait().unwrap();
    assert!(status.success(), "the first run failed: {status}");
    assert!(out1.join("digest.json").is_file());
}

#[test]
fn incremental_runs_reuse_what_is_done_and_recompute_exactly_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mut arts: Vec<Value> = short_articles()[..4].to_vec();
    let input = dir.path().join("in.jsonl");
    write_jsonl(&input, &arts);
    let out = dir.path().join("out");
    let digest = |extra: &[&str]| {
        let mut args = vec!["digest", s(&input), "--out", s(&out)];
        args.extend_from_slice(extra);
        let o = bantin(&args);
        assert_exit(&o, 0);
        (reused(&stderr(&o)), jsonl(&out.join("articles.jsonl")))
    };
    let (n, first) = digest(&[]);
    assert_eq!(n, 0);
    assert_eq!(first.len(), 4);

    let (n, again) = digest(&[]);
    assert_eq!(n, 4, "an unchanged re-run reuses everything");
    assert_eq!(again, first, "reused results are the same results");

    // One article's text changes: only it is recomputed.
    let changed = arts[1]["id"].as_str().unwrap().to_string();
    let text = arts[1]["text"].as_str().unwrap().to_string();
    arts[1]["text"] = format!(
        "{text}\nBộ Công Thương cũng đề xuất bổ sung cơ chế hỗ trợ doanh nghiệp công nghiệp hỗ trợ tiếp cận vốn vay ưu đãi."
    )
    .into();
    write_jsonl(&input, &arts);
    let (n, edited) = digest(&[]);
    assert_eq!(n, 3, "only the changed article is recomputed");
    let (a, b) = (by_id(&first), by_id(&edited));
    for id in a.keys() {
        if *id == changed {
            assert_ne!(
                a[id]["sentences"], b[id]["sentences"],
                "{id} was recomputed"
            );
        } else {
            assert_eq!(a[id], b[id], "{id} was reused as is");
        }
    }

    // Same theme ids, one description changed: a new taxonomy version, nothing reused.
    let default = std::fs::read_to_string(root().join("taxonomy/default.toml")).unwrap();
    let edited_themes = default.replacen(
        "description = \"Chuyển đổi số,",
        "description = \"Chuyển đổi số và đổi mới sáng tạo,",
        1,
    );
    assert_ne!(edited_themes, default);
    let themes = dir.path().join("themes.toml");
    std::fs::write(&themes, edited_themes).unwrap();
    let (n, retheme) = digest(&["--themes", s(&themes)]);
    assert_eq!(n, 0, "a changed taxonomy invalidates every row it affects");
    assert_eq!(retheme.len(), 4);
}

#[test]
fn since_keeps_recent_articles_and_counts_the_undated() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(7);
    let mut text = || format!("{} {}", sentence(&mut rng), sentence(&mut rng));
    let items = vec![
        serde_json::json!({"id": "old", "date": "2024-01-15", "text": text()}),
        serde_json::json!({"id": "new", "date": "2024-06-20", "text": text()}),
        serde_json::json!({"id": "edge", "date": "2024-06-01", "text": text()}),
        serde_json::json!({"id": "timestamp", "date": "2024-07-02T08:15:00+07:00", "text": text()}),
        serde_json::json!({"id": "vn-format-new", "date": "20/06/2024", "text": text()}),
        serde_json::json!({"id": "vn-format-old", "date": "31/12/2019", "text": text()}),
        serde_json::json!({"id": "dateline-new", "text": format!("Thứ Năm, 20/06/2024 08:15 (GMT+7)\n{}", text())}),
        serde_json::json!({"id": "dateline-old", "text": format!("Thứ Hai, 15/01/2024 10:00 (GMT+7)\n{}", text())}),
        serde_json::json!({"id": "undated", "text": text()}),
    ];
    let input = dir.path().join("in.jsonl");
    write_jsonl(&input, &items);
    let out = dir.path().join("out");
    let o = bantin(&[
        "digest",
        s(&input),
        "--out",
        s(&out),
        "--no-state",
        "--since",
        "2024-06-01",
    ]);
    assert_exit(&o, 0);
    let got: BTreeSet<String> = jsonl(&out.join("articles.jsonl"))
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = ["new", "edge", "timestamp", "vn-format-new", "dateline-new"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
    let err = stderr(&o);
    assert!(err.contains("1 undated left out by --since"), "{err}");

    let o = bantin(&[
        "digest",
        s(&input),
        "--out",
        s(&out),
        "--since",
        "2024/06/01",
    ]);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("not a date"), "{}", stderr(&o));
}

#[test]
fn inbox_classifies_each_new_or_changed_file_once_and_retries_failures() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let arts = short_articles();
    let text = |i: usize| arts[i]["text"].as_str().unwrap().to_string();
    std::fs::write(inbox.join("a.txt"), text(0)).unwrap();
    std::fs::write(inbox.join("b.md"), format!("# Tin mới\n\n{}", text(1))).unwrap();
    std::fs::write(inbox.join("late.txt"), "").unwrap();
    let run = || bantin(&["inbox", s(&inbox)]);
    let ids = |o: &Output| -> BTreeSet<String> {
        stdout_lines(o)
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect()
    };
    let set = |v: &[&str]| -> BTreeSet<String> { v.iter().map(|s| s.to_string()).collect() };

    let o = run();
    assert_exit(&o, 1);
    assert_eq!(ids(&o), set(&["a", "b"]));
    let err = stderr(&o);
    assert!(
        err.contains("late.txt") && err.contains("empty file"),
        "{err}"
    );
    assert!(inbox.join(".bantin-inbox.sqlite").is_file());

    // Nothing new: nothing printed, but the failed file is still reported.
    let o = run();
    assert_exit(&o, 1);
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(stderr(&o).contains("late.txt"), "{}", stderr(&o));

    // A changed file and the failed one, now filled, are classified; the other is not.
    std::fs::write(
        inbox.join("a.txt"),
        format!(
            "{}\nBài viết được cập nhật lúc 10 giờ với số liệu mới của Bộ Công Thương.",
            text(0)
        ),
    )
    .unwrap();
    std::fs::write(inbox.join("late.txt"), text(2)).unwrap();
    let o = run();
    assert_exit(&o, 0);
    assert_eq!(ids(&o), set(&["a", "late"]));
    for v in stdout_lines(&o) {
        assert!(v["primary"].is_string() && v["summary"].is_string(), "{v}");
    }

    let o = run();
    assert_exit(&o, 0);
    assert!(o.stdout.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Shards

/// bantin's shard assignment (FNV-1a of the id, modulo N), restated to pin it down: a change
/// would move articles between the shards of a running job array.
fn fnv_shard(id: &str, n: u64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in id.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h % n
}

/// Equal up to float noise: batch composition changes the last bits of an embedding.
fn close(a: &Value, b: &Value, path: &str, diffs: &mut Vec<String>) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            if (x - y).abs() > 1e-4 {
                diffs.push(format!("{path}: {x} vs {y}"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                close(
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    &format!("{path}.{k}"),
                    diffs,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                close(u, v, &format!("{path}[{i}]"), diffs);
            }
        }
        _ if a == b => {}
        _ => diffs.push(format!("{path}: {a} vs {b}")),
    }
}

#[test]
fn three_shard_runs_merged_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("short40.jsonl");
    write_jsonl(&input, &short_articles());
    let mut shard_dirs = Vec::new();
    let mut seen = BTreeSet::new();
    for i in 0..3 {
        let out = dir.path().join(format!("shard-{i}"));
        let shard = format!("{i}/3");
        let o = bantin(&["digest", s(&input), "--out", s(&out), "--shard", &shard]);
        assert_exit(&o, 0);
        let ids: Vec<String> = jsonl(&out.join("articles.jsonl"))
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!ids.is_empty(), "shard {i} is empty");
        for id in ids {
            assert_eq!(fnv_shard(&id, 3), i, "{id} in shard {i}");
            assert!(seen.insert(id.clone()), "{id} in two shards");
        }
        shard_dirs.push(out);
    }
    assert_eq!(seen.len(), 40, "every article in exactly one shard");
    let merged = dir.path().join("merged");
    let mut args = vec!["merge"];
    args.extend(shard_dirs.iter().map(|p| s(p)));
    args.extend(["--out", s(&merged)]);
    let o = bantin(&args);
    assert_exit(&o, 0);

    let want = reference();
    let mut diffs = Vec::new();
    let strip = |v: &Value| {
        let mut v = v.clone();
        let m = v.as_object_mut().unwrap();
        m.remove("generated");
        m.remove("input");
        v
    };
    close(
        &strip(&json(&merged.join("digest.json"))),
        &strip(&want.digest),
        "digest.json",
        &mut diffs,
    );
    // Sorted by id; `origin` names the input file, which lives in another temp dir.
    let sorted = |v: &[Value]| {
        by_id(v)
            .into_values()
            .map(|mut a| {
                let origin = a["origin"].as_str().unwrap();
                a["origin"] = origin.rsplit('/').next().unwrap().into();
                a
            })
            .collect::<Vec<_>>()
    };
    close(
        &Value::Array(sorted(&jsonl(&merged.join("articles.jsonl")))),
        &Value::Array(sorted(&want.articles)),
        "articles.jsonl",
        &mut diffs,
    );
    assert!(
        diffs.is_empty(),
        "merged shards differ from one run:\n{}",
        diffs.join("\n")
    );
    assert_outputs_whole(&merged);
}

/// Timing of the shared reference run, for the record (`--nocapture`).
#[test]
fn reference_run_is_clean() {
    let r = reference();
    assert_eq!(r.status, Some(0));
    assert_eq!(r.articles.len(), 40);
    assert_eq!(r.digest["failed"], 0);
    assert!(r.escaped.is_empty());
    eprintln!("reference digest of 40 short articles: {:.1}s", r.seconds);
}
