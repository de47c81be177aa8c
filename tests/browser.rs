//! digest.html of corpus/ in a real browser (Debian's headless Chromium): screenshots at
//! desktop and phone width under out/browser/ (kept by CI as artifacts), the DOM after the
//! page's script ran, the console, and the filter and search driven over WebDriver
//! (chromedriver from Debian's chromium-driver). `.ci/run` installs both; where Chromium is
//! missing the test says it skipped, and where only chromedriver is, the interactive part says so.

use serde_json::{json, Value};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use unicode_normalization::UnicodeNormalization;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| {
        std::env::split_paths(&path)
            .map(|d| d.join(n))
            .find(|p| p.is_file())
    })
}

/// Runs a command with its output in files (Chromium writes much to stderr), killing it
/// after `secs`: a hung browser fails the test instead of hanging CI.
fn run(cmd: &mut Command, dir: &Path, tag: &str, secs: u64) -> (bool, String, String) {
    let (o, e) = (
        dir.join(format!("{tag}.out")),
        dir.join(format!("{tag}.err")),
    );
    let mut child = cmd
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .spawn()
        .unwrap_or_else(|err| panic!("starting {cmd:?}: {err}"));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish in {secs} s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (
        status.success(),
        std::fs::read_to_string(o).unwrap_or_default(),
        std::fs::read_to_string(e).unwrap_or_default(),
    )
}

fn chromium_cmd(chromium: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chromium);
    // Root in a container has no user namespace sandbox; a fresh profile per run avoids a
    // locked profile from a crashed run.
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn png_size(path: &Path) -> (u32, u32) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        &b[..8],
        b"\x89PNG\r\n\x1a\n",
        "{} is not a PNG",
        path.display()
    );
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

fn attr_values<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    html.split(&format!(" {attr}=\""))
        .skip(1)
        .filter_map(|p| p.split('"').next())
        .collect()
}

/// Diacritics folded as the page's search does, so that the test can say which articles a
/// query must find without asking the page.
fn fold(s: &str) -> String {
    s.nfd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(|c| if c == 'đ' || c == 'Đ' { 'd' } else { c })
        .collect::<String>()
        .to_lowercase()
}

#[test]
fn digest_page_in_chromium() {
    let Some(chromium) = on_path(&["chromium", "chromium-browser", "google-chrome"]) else {
        eprintln!(
            "SKIPPED digest_page_in_chromium: no chromium on PATH (apt-get install chromium chromium-driver; .ci/run does)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let digest = tmp.path().join("digest");
    let o = Command::new(env!("CARGO_BIN_EXE_bantin"))
        .args(["digest", "corpus", "--no-state", "--out"])
        .arg(&digest)
        .current_dir(root())
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .env_remove("BANTIN_MODEL")
        .env_remove("BANTIN_LANG")
        .output()
        .expect("bantin runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let artifacts = root().join("out/browser");
    std::fs::create_dir_all(&artifacts).unwrap();
    let page = digest.join("digest.html");
    std::fs::copy(&page, artifacts.join("digest.html")).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    let url = format!("file://{}", page.display());

    // Nothing the page could fetch: no src, no <link>, no CSS url(); http(s) only in the
    // article links. The CSP forbids everything else anyway.
    assert!(!html.contains(" src=\""), "a resource with src");
    assert!(!html.contains("<link"), "a <link>");
    assert!(!html.contains("url(") && !html.contains("@import"));
    for (i, _) in html.match_indices("href=\"http") {
        let tag_start = html[..i].rfind('<').unwrap();
        assert!(html[tag_start..].starts_with("<a "), "non-link href at {i}");
    }
    assert!(html.contains("http-equiv=\"Content-Security-Policy\" content=\"default-src 'none';"));

    // Screenshots: what a reader sees on a desktop and on a phone.
    for (name, width) in [("desktop", 1280), ("phone", 390)] {
        let png = artifacts.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        let (_, _, err) = run(
            chromium_cmd(&chromium, &tmp.path().join(format!("profile-{name}")))
                .arg(format!("--screenshot={}", png.display()))
                .arg(format!("--window-size={width},2000"))
                .arg(&url),
            tmp.path(),
            name,
            120,
        );
        assert!(png.is_file(), "no {name} screenshot: {err}");
        assert_eq!(png_size(&png), (width, 2000), "{name} screenshot size");
        eprintln!("screenshot: {}", png.display());
    }

    // The DOM after the script ran, and everything the page wrote to the console.
    let (ok, dom, log) = run(
        chromium_cmd(&chromium, &tmp.path().join("profile-dom"))
            .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
            .arg(&url),
        tmp.path(),
        "dom",
        120,
    );
    assert!(ok && dom.contains("</html>"), "--dump-dom failed: {log}");
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(dom.contains("<html lang=\"vi\">"));
    for label in [
        "Mục lục",
        "Tổng quan",
        "Xu hướng theo thời gian",
        "bài viết",
        "Tất cả chủ đề",
        "Lập lúc",
    ] {
        assert!(dom.contains(label), "Vietnamese label {label:?} missing");
    }
    for english in [
        "article(s)",
        "Overview",
        "Also reported",
        "near-duplicates",
        "generated ",
    ] {
        assert!(
            !dom.contains(english),
            "English left in the page: {english:?}"
        );
    }
    let ids: HashSet<&str> = attr_values(&dom, "id").into_iter().collect();
    let fragments: Vec<&str> = attr_values(&dom, "href")
        .into_iter()
        .filter_map(|h| h.strip_prefix('#'))
        .collect();
    assert!(
        fragments.len() >= 30,
        "only {} in-page links",
        fragments.len()
    );
    for f in &fragments {
        assert!(ids.contains(f), "href=\"#{f}\" points to no id");
    }
    // Every article's theme tags link to sections, when the theme has one.
    assert!(dom.contains("<a class=\"tag primary\" href=\"#t-"));
    // The script ran under the CSP: the filter form it reveals is visible and counting.
    let form = dom
        .split("<form id=\"filter\"")
        .nth(1)
        .expect("filter form");
    let form_tag = form.split('>').next().unwrap();
    assert!(
        !form_tag.contains("hidden"),
        "the script did not run: {form_tag}"
    );
    assert!(dom.contains("<svg class=\"trend\""), "no trend chart");

    match on_path(&["chromedriver"]) {
        Some(driver) => interactive(&driver, &chromium, &url),
        None => eprintln!(
            "SKIPPED the interactive filter checks: no chromedriver on PATH (apt-get install chromium-driver)"
        ),
    }
}

/// A WebDriver session on a chromedriver this test starts (and stops) on a free loopback port.
struct Driver {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Driver {
    fn start(driver: &Path) -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let d = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .build(),
        };
        let start = Instant::now();
        while d.agent.get(&format!("{}/status", d.base)).call().is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver not ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let req = self.agent.request(method, &format!("{}{path}", self.base));
        let resp = match body {
            Some(b) => req
                .set("Content-Type", "application/json")
                .send_string(&b.to_string()),
            None => req.call(),
        };
        let text = match resp {
            Ok(r) => r.into_string().unwrap(),
            Err(ureq::Error::Status(code, r)) => {
                panic!(
                    "{method} {path}: {code} {}",
                    r.into_string().unwrap_or_default()
                )
            }
            Err(e) => panic!("{method} {path}: {e}"),
        };
        serde_json::from_str::<Value>(&text).unwrap()["value"].clone()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Session<'a> {
    d: &'a Driver,
    id: String,
}

impl Session<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.d
            .call(method, &format!("/session/{}{path}", self.id), body)
    }
    fn exec(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }
    fn element(&self, css: &str) -> String {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }
    /// (id, themes, text, shown) for each article.
    fn articles(&self) -> Vec<(String, String, String, bool)> {
        let v = self.exec(
            "return Array.from(document.querySelectorAll('article')).map(function (a) { return [a.id, a.getAttribute('data-themes'), a.textContent, a.getClientRects().length > 0]; });",
        );
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a[0].as_str().unwrap().to_string(),
                    a[1].as_str().unwrap().to_string(),
                    a[2].as_str().unwrap().to_string(),
                    a[3].as_bool().unwrap(),
                )
            })
            .collect()
    }
    fn shown(&self) -> HashSet<String> {
        self.articles()
            .into_iter()
            .filter(|a| a.3)
            .map(|a| a.0)
            .collect()
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self
            .d
            .agent
            .delete(&format!("{}/session/{}", self.d.base, self.id))
            .call();
    }
}

fn interactive(driver: &Path, chromium: &Path, url: &str) {
    let d = Driver::start(driver);
    let caps = json!({"capabilities": {"alwaysMatch": {
        "goog:chromeOptions": {
            "binary": chromium.to_str().unwrap(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000"]
        },
        "goog:loggingPrefs": {"browser": "ALL"}
    }}});
    let v = d.call("POST", "/session", Some(caps));
    let s = Session {
        d: &d,
        id: v["sessionId"].as_str().expect("a session").to_string(),
    };
    s.call("POST", "/url", Some(json!({ "url": url })));
    let all = s.articles();
    let total = all.len();
    assert!(total >= 10, "{total} articles");
    assert_eq!(s.shown().len(), total, "everything shows before filtering");

    // Filter by a theme that some but not all articles carry.
    let options = s.exec(
        "return Array.from(document.querySelectorAll('#filter option')).map(function (o) { return o.value; }).filter(function (v) { return v; });",
    );
    let theme = options
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|t| {
            let n = all
                .iter()
                .filter(|a| a.1.split(' ').any(|x| x == *t))
                .count();
            n > 1 && n < total
        })
        .expect("a theme carried by some articles")
        .to_string();
    let expected: HashSet<String> = all
        .iter()
        .filter(|a| a.1.split(' ').any(|x| x == theme))
        .map(|a| a.0.clone())
        .collect();
    let option = s.element(&format!("#filter option[value=\"{theme}\"]"));
    s.call("POST", &format!("/element/{option}/click"), Some(json!({})));
    assert_eq!(s.shown(), expected, "filter by {theme}");
    let hidden_sections =
        s.exec("return document.querySelectorAll('section.theme[hidden]').length");
    assert!(hidden_sections.as_u64().unwrap() > 0, "empty sections stay");
    let all_option = s.element("#filter option[value=\"\"]");
    s.call(
        "POST",
        &format!("/element/{all_option}/click"),
        Some(json!({})),
    );
    assert_eq!(s.shown().len(), total, "back to all themes");

    // Text search, with and without diacritics.
    let search = s.element("#filter input[name=\"q\"]");
    let want: HashSet<String> = all
        .iter()
        .filter(|a| {
            let t = fold(&a.2);
            t.contains("ban") && t.contains("dan")
        })
        .map(|a| a.0.clone())
        .collect();
    assert!(!want.is_empty() && want.len() < total, "{want:?}");
    for q in ["ban dan", "bán dẫn"] {
        s.call(
            "POST",
            &format!("/element/{search}/value"),
            Some(json!({ "text": q })),
        );
        assert_eq!(s.shown(), want, "search {q:?}");
        let out = s.exec("return document.querySelector('#filter output').textContent");
        let expect_out = format!("Đang hiện {}/{} bài viết", want.len(), total);
        assert_eq!(out.as_str(), Some(expect_out.as_str()));
        // Select-all and delete, as a reader would.
        let backspaces: String = "\u{E003}".repeat(q.chars().count());
        s.call(
            "POST",
            &format!("/element/{search}/value"),
            Some(json!({ "text": backspaces })),
        );
        assert_eq!(s.shown().len(), total, "cleared search {q:?}");
    }
    s.call(
        "POST",
        &format!("/element/{search}/value"),
        Some(json!({"text": "zzzkhôngcó"})),
    );
    assert!(s.shown().is_empty());
    let out = s.exec("return document.querySelector('#filter output').textContent");
    assert_eq!(out.as_str(), Some("Không có bài viết nào khớp."));

    // No request of any kind, and a clean console.
    let resources = s.exec(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })",
    );
    assert_eq!(resources, json!([]), "the page fetched something");
    let logs = s.call("POST", "/se/log", Some(json!({"type": "browser"})));
    let bad: Vec<&Value> = logs
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["level"] != "INFO" && l["level"] != "DEBUG")
        .collect();
    assert!(bad.is_empty(), "console: {bad:#?}");

    // Phone width: nothing wider than the screen (tables scroll in their own box).
    s.call(
        "POST",
        "/goog/cdp/execute",
        Some(json!({"cmd": "Emulation.setDeviceMetricsOverride",
            "params": {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": true}})),
    );
    s.call("POST", "/refresh", Some(json!({})));
    // With the co-occurrence table open too: it scrolls inside its own box.
    let widths = s.exec(
        "var c = document.querySelector('details.cooc-box'); if (c) c.open = true; return [document.documentElement.scrollWidth, document.documentElement.clientWidth, document.querySelector('svg.trend').getBoundingClientRect().width]",
    );
    let (scroll, client, chart) = (
        widths[0].as_f64().unwrap(),
        widths[1].as_f64().unwrap(),
        widths[2].as_f64().unwrap(),
    );
    assert_eq!(client, 390.0, "the phone emulation did not apply");
    assert!(
        scroll <= client,
        "page is {scroll}px wide on a {client}px phone"
    );
    assert!(
        chart > 300.0 && chart <= client,
        "chart {chart}px on a {client}px phone"
    );
}
