//! End-to-end: the bantin binary on temp dirs, with the real default model (materialised from
//! the package-index mirror into ~/.cache/bantin on first use; the hub is pointed at a closed
//! loopback port so nothing waits on it).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bantin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bantin"))
        .args(args)
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env_remove("BANTIN_MODEL")
        .output()
        .expect("bantin runs")
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Markers of page furniture that must never reach a summary.
const FURNITURE: &[&str] = &[
    "Tin liên quan",
    "Tin khác",
    "TIN KHÁC",
    "Tin cùng chuyên mục",
    "A- A A+",
    "Ảnh:",
    "đường dây nóng",
    "Email:",
    "email:",
    "đánh giá bài viết",
    "Trang chủ",
    "BAN BIÊN TẬP",
];

#[test]
fn digest_of_the_sample_corpus() {
    let out = tempfile::tempdir().unwrap();
    let o = bantin(&["digest", "corpus", "--out", out.path().to_str().unwrap()]);
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        stderr(&o)
    );
    for f in [
        "digest.md",
        "digest.html",
        "digest.json",
        "articles.jsonl",
        "errors.jsonl",
    ] {
        assert!(out.path().join(f).is_file(), "{f} missing");
    }
    let results = lines(&out.path().join("articles.jsonl"));
    let labels = lines(&root().join("eval/seeds_labels.jsonl"));
    let mut agree = 0;
    for l in &labels {
        let id = l["id"].as_str().unwrap();
        let r = results
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("seed {id} missing from the digest"));
        if r["primary"] == l["primary"] {
            agree += 1;
        }
        let themes = r["themes"].as_array().unwrap();
        assert!((1..=4).contains(&themes.len()));
        assert_eq!(themes[0]["id"], r["primary"], "primary leads the theme set");
        assert_eq!(r["provenance"]["source"], "mirror");
    }
    assert!(
        agree >= 4,
        "only {agree}/5 seed primaries agree with the labels"
    );
    for r in &results {
        let summary = r["summary"].as_str().unwrap();
        assert!(
            !summary.trim().is_empty(),
            "{} has an empty summary",
            r["id"]
        );
        for f in FURNITURE {
            assert!(
                !summary.contains(f),
                "{}: summary holds furniture {f:?}: {summary}",
                r["id"]
            );
        }
        // Headline-less seeds get a whole sentence as their headline, never a cut line.
        let title = r["title"].as_str().unwrap_or("");
        assert!(
            !title.trim().is_empty() && !title.ends_with('…'),
            "{}: title {title:?}",
            r["id"]
        );
    }
    // Seed 001's most central sentence lists a dozen officials with their titles: not a summary.
    let seed_001 = results
        .iter()
        .find(|r| r["id"] == "001_4e5171a3436d924b")
        .expect("seed 001 in the digest");
    let summary = seed_001["summary"].as_str().unwrap();
    assert!(
        !summary.contains("Chủ trì điểm cầu chính có đồng chí"),
        "seed 001 summarised by its roster: {summary}"
    );
    let digest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("digest.json")).unwrap())
            .unwrap();
    let shown: u64 = digest["themes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        shown + digest["duplicates_folded"].as_u64().unwrap(),
        digest["articles"].as_u64().unwrap(),
        "every article is shown once or folded into its duplicate"
    );
    let md = std::fs::read_to_string(out.path().join("digest.md")).unwrap();
    // Vietnamese by default, English on request (the analyses are reused from the state).
    assert!(md.contains("Tổng quan") && md.contains("bài viết"), "{md}");
    let o = bantin(&[
        "digest",
        "corpus",
        "--out",
        out.path().to_str().unwrap(),
        "--lang",
        "en",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.path().join("digest.md")).unwrap();
    assert!(md.contains("Overview") && md.contains(" articles"), "{md}");
    let html = std::fs::read_to_string(out.path().join("digest.html")).unwrap();
    assert!(html.contains("<html lang=\"en\">"));
}

#[test]
fn bad_inputs_fail_alone_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let seed =
        std::fs::read_to_string(root().join("corpus/seeds/004_e3d4a5aa67d246c2.txt")).unwrap();
    std::fs::write(input.join("good.txt"), &seed).unwrap();
    // The same article in decomposed form must behave like its NFC form.
    let nfd: String = unicode_nfd(&seed);
    assert_ne!(nfd, seed);
    std::fs::write(input.join("good-nfd.txt"), &nfd).unwrap();
    std::fs::write(input.join("empty.txt"), "").unwrap();
    std::fs::write(input.join("blank.txt"), "  \n\t\n").unwrap();
    std::fs::write(input.join("binary.txt"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    std::fs::write(input.join("latin1.txt"), b"Vi\xeat Nam c\xf4ng nghi\xeap").unwrap();
    std::fs::write(
        input.join("zfeed.jsonl"),
        "{\"id\":\"j1\",\"title\":\"<script>alert(1)</script>\",\"text\":\"Bộ Công Thương công bố kế hoạch phát triển công nghiệp hỗ trợ giai đoạn 2025-2030 với nhiều ưu đãi mới. <script>alert(2)</script> Các doanh nghiệp linh kiện điện tử được ưu tiên vay vốn.\"}\n{not json}\n{\"id\":\"good\",\"text\":\"Trùng mã với tệp good.txt nên bị bỏ qua.\"}\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = bantin(&[
        "digest",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let errors = lines(&out.join("errors.jsonl"));
    let text = serde_json::to_string(&errors).unwrap();
    for needle in [
        "empty.txt",
        "blank.txt",
        "binary.txt",
        "latin1.txt",
        "zfeed.jsonl:2",
        "duplicate id",
    ] {
        assert!(text.contains(needle), "no error for {needle}: {text}");
    }
    assert!(text.contains("invalid UTF-8"), "{text}");
    let results = lines(&out.join("articles.jsonl"));
    let ids: Vec<&str> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&"good") && ids.contains(&"good-nfd") && ids.contains(&"j1"),
        "{ids:?}"
    );
    let good = results.iter().find(|r| r["id"] == "good").unwrap();
    let twin = results.iter().find(|r| r["id"] == "good-nfd").unwrap();
    assert_eq!(good["primary"], twin["primary"]);
    assert_eq!(good["summary"], twin["summary"], "NFD input is read as NFC");
    let html = std::fs::read_to_string(out.join("digest.html")).unwrap();
    // The page's own filter script is the only one: article text is escaped.
    assert_eq!(
        html.matches("<script").count(),
        1,
        "article text must be escaped in HTML"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

/// Canonical decomposition of Vietnamese letters, without a Unicode crate in the tests: the
/// binary does the NFC side, so this only needs to produce valid NFD for the seed's letters.
fn unicode_nfd(s: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys,unicodedata;sys.stdout.write(unicodedata.normalize('NFD',sys.stdin.read()))"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(s.as_bytes())?;
            c.wait_with_output()
        });
    match out {
        Ok(o) if o.status.success() => String::from_utf8(o.stdout).unwrap(),
        // Without python3, decompose the one letter we know is there by hand.
        _ => s
            .replace('ệ', "e\u{323}\u{302}")
            .replace('ố', "o\u{302}\u{301}"),
    }
}

#[test]
fn usage_and_model_errors_exit_2() {
    let o = bantin(&["digest", "does-not-exist", "--out", "/tmp/x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("does-not-exist"));
    let o = bantin(&["embed", "--model", "no-such-model", "xin chào"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-model"), "{}", stderr(&o));
    let o = bantin(&["digest", "--bogus-flag"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The regression bar on the held-out test set with every default (the shipped head and
/// sentence scorer): a change that loses quality fails here. Bars sit a little under the
/// figures in README (0.840 / 0.913 / 42.2 / 25.2) so that bootstrap-level noise from a
/// kernel or tokeniser change does not fail CI, but a real loss does.
#[test]
fn eval_on_the_test_set_reaches_the_regression_bar() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let labels = root().join("eval/test.jsonl");
    let o = bantin(&[
        "eval",
        "--labels",
        labels.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--bootstrap",
        "200",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("paired difference"), "{stdout}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["articles"].as_u64(), Some(100));
    let main = &report["classifiers"][0];
    assert!(
        main["name"]
            .as_str()
            .unwrap()
            .contains("shipped few-shot head"),
        "the default must be the shipped head: {}",
        main["name"]
    );
    let value = |v: &Value| v["value"].as_f64().unwrap();
    let acc = value(&main["primary_accuracy"]);
    let micro = value(&main["micro_f1"]);
    assert!(acc >= 0.80, "primary accuracy {acc} < 0.80");
    assert!(micro >= 0.88, "theme micro-F1 {micro} < 0.88");
    let rows = report["summarisers"].as_array().unwrap();
    let row = |prefix: &str| {
        rows.iter()
            .find(|r| r["name"].as_str().unwrap().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} row"))
    };
    let (ours, lead) = (row("bantin extractive"), row("Lead-2"));
    let (r1, r2) = (value(&ours["rouge1"]), value(&ours["rouge2"]));
    assert!(
        r1 >= 41.0 && r2 >= 24.0,
        "extract ROUGE-1/2 {r1:.1}/{r2:.1}"
    );
    assert!(
        r1 > value(&lead["rouge1"]) && r2 > value(&lead["rouge2"]),
        "the extract must stay above Lead-2"
    );
    assert!(row("oracle-2")["rouge1"]["value"].as_f64().unwrap() > r1);
    assert_eq!(report["summary_differences"].as_array().unwrap().len(), 3);
    for f in ["report.md", "theme_f1.svg", "confusion.svg"] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
}

/// The abstractive path end to end with the real gemma-3-270m from the package-index mirror:
/// hybrid summaries on two seeds, kept beside the extract, in every output.
#[test]
fn hybrid_digest_with_the_real_generator() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    for seed in ["002_ebd99de0a1d6bba1.txt", "003_d51ff44d6cffccb3.txt"] {
        std::fs::copy(root().join("corpus/seeds").join(seed), input.join(seed)).unwrap();
    }
    let out = dir.path().join("out");
    let started = std::time::Instant::now();
    let o = bantin(&[
        "digest",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--no-state",
        "--summarizer",
        "hybrid",
        "--max-new-tokens",
        "24",
        "--hybrid-sentences",
        "3",
    ]);
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        stderr(&o)
    );
    // Generous: two articles, 24 tokens each, on a 2-core machine that may be busy.
    assert!(
        started.elapsed().as_secs() < 600,
        "took {:?}",
        started.elapsed()
    );
    let err = stderr(&o);
    assert!(
        err.contains("is a base model"),
        "no base-model warning: {err}"
    );
    assert!(err.contains("generator: 2 summaries"), "{err}");
    let articles = lines(&out.join("articles.jsonl"));
    assert_eq!(articles.len(), 2);
    use unicode_normalization::UnicodeNormalization;
    for a in &articles {
        let g = &a["abstractive"];
        assert_eq!(g["mode"], "hybrid", "{a}");
        assert_eq!(g["input_sentences"], 3, "{a}");
        assert!(g["new_tokens"].as_u64().unwrap() <= 24, "{a}");
        assert!(
            g["model"].as_str().unwrap().starts_with("gemma-3-270m"),
            "{a}"
        );
        let text = g["text"].as_str().unwrap();
        assert_eq!(text, text.nfc().collect::<String>(), "not NFC");
        // The extract is always kept.
        assert!(!a["summary"].as_str().unwrap().is_empty());
        // The gate's decision is recorded, and a flagged summary is never shown.
        let shown = g["shown"].as_str().unwrap();
        assert!(shown == "extract" || shown == "generated", "{a}");
        assert!(!g["gate_reason"].as_str().unwrap().is_empty(), "{a}");
        if g["usable"].as_bool().unwrap() {
            // Judged on coverage with the manifest's margin, chosen on dev.
            assert!(
                g["gate_reason"].as_str().unwrap().contains("margin +0.030"),
                "{a}"
            );
        }
        if shown == "generated" {
            assert!(g["usable"].as_bool().unwrap(), "{a}");
            assert!(g.get("unsupported").is_none(), "{a}");
        }
        if g.get("unsupported").is_some() {
            assert_eq!(shown, "extract", "{a}");
            assert!(g["flags"].to_string().contains("unsupported"), "{a}");
        }
        // A flagged summary says so in the warnings.
        if !g["usable"].as_bool().unwrap() {
            assert!(
                a["warnings"]
                    .to_string()
                    .contains("abstractive summary flagged"),
                "{a}"
            );
        }
    }
    let md = std::fs::read_to_string(out.join("digest.md")).unwrap();
    assert!(md.contains("Tóm tắt do máy viết: gemma-3-270m"), "{md}");
    // Deterministic by default: the same run gives the same text. An open gate (margin -1)
    // shows every summary that passes the checks, and only those.
    let o = bantin(&[
        "summarize",
        input.to_str().unwrap(),
        "--summarizer",
        "hybrid",
        "--max-new-tokens",
        "24",
        "--hybrid-sentences",
        "3",
        "--gate-margin",
        "-1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (a, b) in articles.iter().zip(&again) {
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["abstractive"]["text"], b["abstractive"]["text"]);
        let g = &b["abstractive"];
        let want = if g["usable"].as_bool().unwrap() {
            "generated"
        } else {
            "extract"
        };
        assert_eq!(g["shown"], want, "{b}");
    }
}
