//! `bantin serve` end to end: the real binary on a loopback port, a real HTTP client, a tiny
//! random-weight model built here (and, in one test, the real default model). Every route,
//! every error the issue names, the token, graceful shutdown, kill -9 during ingestion, a
//! bounded load run and an overload run. All traffic is to 127.0.0.1 and every loop is bounded.

mod common;

use common::model::TinyModel;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Service {
    child: Child,
    base: String,
    _stderr: std::thread::JoinHandle<Vec<String>>,
}

impl Service {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Polls /health until 200 (the model loads in the background).
    fn wait_ready(&self) -> Value {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            match ureq::get(&self.url("/health")).call() {
                Ok(r) => return r.into_json().expect("health JSON"),
                Err(ureq::Error::Status(503, r)) => {
                    let v: Value = r.into_json().expect("503 JSON");
                    assert_eq!(v["status"], "loading");
                }
                Err(e) => panic!("health: {e}"),
            }
            assert!(Instant::now() < deadline, "model never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn signal(&self, sig: &str) {
        let st = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(st.success());
    }

    /// Waits (bounded) for the process to exit.
    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            assert!(Instant::now() < deadline, "service did not exit in time");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tiny_model(home: &Path) -> PathBuf {
    let dir = home.join("tiny-bert");
    if !dir.join("config.json").exists() {
        TinyModel::bert(&dir);
    }
    dir
}

/// Starts `bantin serve` on a free loopback port and returns once it listens.
fn start(home: &Path, model: &str, state: &Path, extra: &[&str], env: &[(&str, &str)]) -> Service {
    let mut cmd = common::bantin_command(home);
    cmd.args([
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--offline",
        "--model",
        model,
    ])
    .arg("--state")
    .arg(state)
    .args(extra)
    .env("HF_ENDPOINT", common::closed_port_url())
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    spawn(cmd)
}

fn spawn(mut cmd: std::process::Command) -> Service {
    let mut child = cmd.spawn().expect("bantin serve starts");
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let _ = tx.send(rest.trim().to_string());
            }
            lines.push(line);
        }
        lines
    });
    let base = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the service prints its address");
    Service {
        child,
        base,
        _stderr: reader,
    }
}

fn post(url: &str, body: &Value) -> (u16, Value) {
    post_raw(url, &body.to_string(), None)
}

fn post_raw(url: &str, body: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = ureq::post(url).set("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    match req.send_string(body) {
        Ok(r) => (r.status(), r.into_json().expect("JSON body")),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().expect("JSON error body")),
        Err(e) => panic!("POST {url}: {e}"),
    }
}

fn article(id: &str, n: usize) -> Value {
    // Distinct wording per article, so near-duplicate folding keeps them apart.
    let topics = [
        "Bộ Công Thương trình Chính phủ dự thảo nghị định về điện mặt trời mái nhà tự sản xuất tự tiêu thụ.",
        "Tỉnh Thái Bình khởi công khu công nghiệp mới với tổng vốn đầu tư hơn ba nghìn tỷ đồng.",
        "Trường nghề mở chương trình đào tạo kỹ thuật viên bán dẫn cho doanh nghiệp điện tử.",
        "Vốn đầu tư trực tiếp nước ngoài giải ngân sáu tháng đầu năm tăng so với cùng kỳ.",
        "Luật Dữ liệu có hiệu lực, đặt ra yêu cầu mới về quản trị dữ liệu số quốc gia.",
        "Ngân hàng Nhà nước điều chỉnh lãi suất điều hành để hỗ trợ doanh nghiệp sản xuất.",
    ];
    let a = topics[n % topics.len()];
    let b = topics[(n + 2) % topics.len()];
    json!({"id": id, "title": format!("Tin số {n}"), "date": format!("2024-06-{:02}", 1 + n % 28),
           "text": format!("{a} {b} Đây là bài số {n} trong loạt tin thử nghiệm.")})
}

#[test]
fn every_route_and_every_error() {
    let home = tempfile::tempdir().unwrap();
    let model = tiny_model(home.path());
    let state = home.path().join("state.sqlite");
    let svc = start(
        home.path(),
        model.to_str().unwrap(),
        &state,
        &["--max-body", "4096"],
        &[],
    );
    let health = svc.wait_ready();
    assert_eq!(health["status"], "ok");
    assert!(health["model"]["model"].as_str().is_some(), "{health}");
    assert_eq!(health["themes"].as_array().unwrap().len(), 10);

    // Decomposed (NFD) input comes back composed: NFC on input.
    let nfd = "Hà Nội: Bộ Công Thương họp về nghị định điện mặt trời.";
    let nfd: String = unicode_nfd(nfd);
    let body = json!({"articles": [
        article("a1", 0),
        {"id": "nfd", "title": nfd, "text": format!("{nfd} {nfd} Thêm một câu nữa về năng lượng.")},
        {"id": "empty", "text": "   "},
    ]});
    for route in ["classify", "summarize", "analyze"] {
        let (code, v) = post(&svc.url(&format!("/v1/{route}")), &body);
        assert_eq!(code, 200, "{route}: {v}");
        let results = v["results"].as_array().unwrap();
        let errors = v["errors"].as_array().unwrap();
        assert_eq!(results.len(), 2, "{route}: {v}");
        assert_eq!(
            errors.len(),
            1,
            "{route}: one bad article is an error entry: {v}"
        );
        assert_eq!(errors[0]["id"], "empty");
        assert_eq!(errors[0]["origin"], "articles[2]");
        let nfd_result = results.iter().find(|r| r["id"] == "nfd").unwrap();
        let title = nfd_result["title"].as_str().unwrap();
        assert!(title.contains("Hà Nội"), "title is NFC: {title:?}");
        match route {
            "classify" => {
                assert!(results[0]["primary"].as_str().is_some());
                assert!(results[0].get("summary").is_none());
            }
            "summarize" => assert!(!results[0]["summary"].as_str().unwrap().is_empty()),
            _ => {
                // The same object as a line of articles.jsonl.
                for k in [
                    "primary",
                    "themes",
                    "summary",
                    "provenance",
                    "warnings",
                    "origin",
                ] {
                    assert!(results[0].get(k).is_some(), "analyze result lacks {k}");
                }
            }
        }
    }

    let (code, v) = post(
        &svc.url("/v1/embed"),
        &json!({"texts": ["công nghiệp hỗ trợ", "điện mặt trời"], "role": "passage"}),
    );
    assert_eq!(code, 200, "{v}");
    let dim = v["dim"].as_u64().unwrap() as usize;
    let e = v["embeddings"].as_array().unwrap();
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].as_array().unwrap().len(), dim);
    assert_ne!(e[0], e[1]);

    // Errors: each a JSON body with a message that says what is wrong.
    let url = svc.url("/v1/classify");
    let (code, v) = post_raw(&url, "{\"articles\": [", None);
    assert_eq!(code, 400, "malformed JSON: {v}");
    let (code, v) = post_raw(&url, r#"{"articles": [{"id": "x", "text": 5}]}"#, None);
    assert_eq!(code, 400);
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains("articles[0].text"), "names the field: {msg}");
    let (code, v) = post_raw(&url, r#"{"articles": [{"text": "x"}]}"#, None);
    assert_eq!(code, 400);
    assert!(
        v["error"]["message"].as_str().unwrap().contains("id"),
        "{v}"
    );
    let (code, v) = post(&url, &json!({"articles": []}));
    assert_eq!(code, 400, "{v}");
    let (code, v) = post(
        &svc.url("/v1/embed"),
        &json!({"texts": ["x"], "role": "nobody"}),
    );
    assert_eq!(code, 400, "{v}");
    let big = json!({"articles": [{"id": "big", "text": "chữ ".repeat(3000)}]});
    let (code, v) = post(&url, &big);
    assert_eq!(code, 413, "over --max-body: {v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-body"),
        "{v}"
    );
    match ureq::post(&url).send_string("{}") {
        Err(ureq::Error::Status(415, _)) => {}
        other => panic!("no content type: {other:?}"),
    }
    match ureq::get(&svc.url("/v1/nothing")).call() {
        Err(ureq::Error::Status(404, r)) => {
            let v: Value = r.into_json().unwrap();
            assert!(v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("/v1/nothing"));
        }
        other => panic!("unknown route: {other:?}"),
    }
    for bad in ["since=2024-6-1", "format=pdf"] {
        match ureq::get(&svc.url(&format!("/v1/digest?{bad}"))).call() {
            Err(ureq::Error::Status(400, _)) => {}
            other => panic!("digest?{bad}: {other:?}"),
        }
    }

    // The service is still up after all of that.
    assert_eq!(svc.wait_ready()["status"], "ok");
    let spec: Value = ureq::get(&svc.url("/openapi.json"))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    for p in [
        "/v1/classify",
        "/v1/embed",
        "/v1/articles",
        "/v1/digest",
        "/health",
    ] {
        assert!(spec["paths"].get(p).is_some(), "openapi lacks {p}");
    }
    let metrics = ureq::get(&svc.url("/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        metrics.contains(r#"bantin_http_requests_total{route="/v1/classify",status="200"}"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"status="413""#));
    assert!(metrics.contains("bantin_http_request_duration_seconds_bucket"));
    assert!(metrics.contains("bantin_batch_size"));
    assert!(metrics.contains("bantin_queue_depth"));
    assert!(metrics.contains(r#"bantin_articles_total{outcome="error"}"#));
}

fn unicode_nfd(s: &str) -> String {
    // A few precomposed letters decomposed by hand (NFD of à, ộ, ệ, ặ, ờ), so the test does not
    // depend on the normaliser it checks.
    s.replace('à', "a\u{300}")
        .replace('ộ', "o\u{323}\u{302}")
        .replace('ệ', "e\u{323}\u{302}")
        .replace('ặ', "a\u{323}\u{306}")
        .replace('ờ', "o\u{31b}\u{300}")
}

#[test]
fn bearer_token_guards_v1_only() {
    let home = tempfile::tempdir().unwrap();
    let model = tiny_model(home.path());
    let svc = start(
        home.path(),
        model.to_str().unwrap(),
        &home.path().join("s.sqlite"),
        &[],
        &[("BANTIN_API_KEY", "s3cret")],
    );
    svc.wait_ready(); // /health needs no token
    let url = svc.url("/v1/classify");
    let body = json!({"articles": [article("t", 1)]}).to_string();
    let (code, v) = post_raw(&url, &body, None);
    assert_eq!(code, 401, "{v}");
    let (code, _) = post_raw(&url, &body, Some("wrong"));
    assert_eq!(code, 401);
    let (code, v) = post_raw(&url, &body, Some("s3cret"));
    assert_eq!(code, 200, "{v}");
    match ureq::get(&svc.url("/v1/digest")).call() {
        Err(ureq::Error::Status(401, r)) => {
            assert_eq!(r.header("WWW-Authenticate"), Some("Bearer"));
        }
        other => panic!("digest without token: {other:?}"),
    }
    assert!(ureq::get(&svc.url("/metrics")).call().is_ok());
}

fn digest_ids(v: &Value) -> std::collections::BTreeSet<String> {
    let mut ids = std::collections::BTreeSet::new();
    for s in v["themes"].as_array().unwrap() {
        for a in s["articles"].as_array().unwrap() {
            ids.insert(a["id"].as_str().unwrap().to_string());
            for d in a["also_reported"].as_array().into_iter().flatten() {
                ids.insert(d["id"].as_str().unwrap().to_string());
            }
        }
    }
    ids
}

fn get_json(url: &str) -> Value {
    ureq::get(url).call().unwrap().into_json().unwrap()
}

#[test]
fn ingestion_is_idempotent_and_digests_the_store_then_shuts_down_gracefully() {
    let home = tempfile::tempdir().unwrap();
    let model = tiny_model(home.path());
    let state = home.path().join("ingest.sqlite");
    let mut svc = start(home.path(), model.to_str().unwrap(), &state, &[], &[]);
    svc.wait_ready();
    let batch = json!({"articles": [article("i1", 1), article("i2", 2), article("i3", 10)]});
    let (code, v) = post(&svc.url("/v1/articles"), &batch);
    assert_eq!(code, 200, "{v}");
    let statuses: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["stored", "stored", "stored"]);
    let (_, v) = post(&svc.url("/v1/articles"), &batch);
    let statuses: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["unchanged", "unchanged", "unchanged"],
        "same content, no re-analysis"
    );

    let d = get_json(&svc.url("/v1/digest"));
    assert_eq!(d["articles"], 3, "{d}");
    assert_eq!(
        digest_ids(&d).into_iter().collect::<Vec<_>>(),
        ["i1", "i2", "i3"]
    );
    // i3 is dated 2024-06-11; the others earlier.
    let d = get_json(&svc.url("/v1/digest?since=2024-06-10"));
    assert_eq!(digest_ids(&d).into_iter().collect::<Vec<_>>(), ["i3"]);
    let md = ureq::get(&svc.url("/v1/digest?format=md")).call().unwrap();
    assert!(md.content_type().contains("markdown"));
    assert!(md.into_string().unwrap().contains("Tin số 1"));
    let html = ureq::get(&svc.url("/v1/digest?format=html"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(html.contains("<html"));

    // SIGTERM with a request in flight: it is answered, then the process exits 0.
    let url = svc.url("/v1/articles");
    let inflight = std::thread::spawn(move || {
        let many: Vec<Value> = (20..36).map(|n| article(&format!("late{n}"), n)).collect();
        post(&url, &json!({ "articles": many }))
    });
    std::thread::sleep(Duration::from_millis(150));
    svc.signal("-TERM");
    let (code, v) = inflight.join().unwrap();
    let st = svc.wait_exit(Duration::from_secs(60));
    assert_eq!(st.code(), Some(0), "graceful exit");
    if code == 200 {
        // Acknowledged, so committed: a new service on the same store has them.
        let svc2 = start(home.path(), model.to_str().unwrap(), &state, &[], &[]);
        svc2.wait_ready();
        let ids = digest_ids(&get_json(&svc2.url("/v1/digest")));
        assert!(ids.contains("late20") && ids.contains("late35"), "{ids:?}");
    } else {
        // The signal beat the request to the listener: refused, never half-done.
        assert!(code == 503 || code == 0, "in-flight request: {code} {v}");
    }
}

#[test]
fn kill_9_during_ingestion_loses_nothing_acknowledged() {
    let home = tempfile::tempdir().unwrap();
    let model = tiny_model(home.path());
    let state = home.path().join("crash.sqlite");
    // A pause after each commit keeps the run killable mid-stream on any machine.
    let svc = start(
        home.path(),
        model.to_str().unwrap(),
        &state,
        &["--max-batch", "2"],
        &[("BANTIN_TEST_CHUNK_DELAY_MS", "30")],
    );
    svc.wait_ready();
    let url = svc.url("/v1/articles");
    let (tx, rx) = mpsc::channel::<String>();
    let client = std::thread::spawn(move || {
        for n in 0..200 {
            let id = format!("k{n}");
            let body = json!({"articles": [article(&id, n)]}).to_string();
            match ureq::post(&url)
                .set("Content-Type", "application/json")
                .send_string(&body)
            {
                Ok(r) if r.status() == 200 => {
                    if tx.send(id).is_err() {
                        return;
                    }
                }
                _ => return, // the server died mid-request: not acknowledged
            }
        }
    });
    let mut acked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.len() < 8 && Instant::now() < deadline {
        if let Ok(id) = rx.recv_timeout(Duration::from_secs(1)) {
            acked.push(id);
        }
    }
    assert!(acked.len() >= 8, "ingestion made progress");
    let mut svc = svc;
    svc.signal("-KILL");
    svc.wait_exit(Duration::from_secs(30));
    client.join().unwrap();
    acked.extend(rx.try_iter());

    let svc2 = start(home.path(), model.to_str().unwrap(), &state, &[], &[]);
    svc2.wait_ready();
    let ids = digest_ids(&get_json(&svc2.url("/v1/digest")));
    for id in &acked {
        assert!(
            ids.contains(id),
            "{id} was acknowledged but lost; store has {ids:?}"
        );
    }
}

/// A bounded load run (16 clients, 40 requests each of 3 articles) answers everything, and a
/// small queue under the same load answers 429 with Retry-After and stays up.
#[test]
fn bounded_load_then_overload() {
    let home = tempfile::tempdir().unwrap();
    let model = tiny_model(home.path());
    let svc = start(
        home.path(),
        model.to_str().unwrap(),
        &home.path().join("load.sqlite"),
        &[],
        &[],
    );
    svc.wait_ready();
    let (oks, others, _) = hammer(&svc.url("/v1/classify"), 16, 40, 3);
    assert_eq!(others, Vec::<u16>::new(), "no errors under load");
    assert_eq!(oks, 16 * 40);
    let metrics = ureq::get(&svc.url("/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    // Requests were batched together: some batch held more than one request's 3 articles.
    let single = batch_count_at_most(&metrics, 4.0);
    let total = batch_count_at_most(&metrics, f64::INFINITY);
    assert!(
        total > 0 && single < total,
        "no batching across requests: {single} of {total}"
    );
    drop(svc);

    let svc = start(
        home.path(),
        model.to_str().unwrap(),
        &home.path().join("over.sqlite"),
        &["--max-queue", "6", "--max-batch", "3"],
        &[("BANTIN_TEST_CHUNK_DELAY_MS", "100")],
    );
    svc.wait_ready();
    let (oks, others, retry_after) = hammer(&svc.url("/v1/articles"), 16, 5, 3);
    assert!(others.iter().all(|&c| c == 429), "only 429s: {others:?}");
    assert!(
        !others.is_empty(),
        "a 6-article queue under 16 clients refuses some"
    );
    assert!(oks > 0, "and still serves others");
    assert!(
        retry_after.iter().all(|&s| (1..=60).contains(&s)),
        "{retry_after:?}"
    );
    assert_eq!(svc.wait_ready()["status"], "ok", "still up after overload");
}

/// `clients` threads each send `requests` requests of `size` articles; returns the number of
/// 200s, the other statuses, and the Retry-After values seen.
fn hammer(url: &str, clients: usize, requests: usize, size: usize) -> (usize, Vec<u16>, Vec<u64>) {
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let url = url.to_string();
            std::thread::spawn(move || {
                let mut ok = 0;
                let mut other = Vec::new();
                let mut retry = Vec::new();
                for r in 0..requests {
                    let arts: Vec<Value> = (0..size)
                        .map(|k| article(&format!("c{c}r{r}k{k}"), c * 7 + r * 3 + k))
                        .collect();
                    let body = json!({ "articles": arts }).to_string();
                    match ureq::post(&url)
                        .set("Content-Type", "application/json")
                        .send_string(&body)
                    {
                        Ok(_) => ok += 1,
                        Err(ureq::Error::Status(code, resp)) => {
                            if let Some(s) = resp.header("Retry-After") {
                                retry.push(s.parse().unwrap_or(0));
                            }
                            other.push(code);
                        }
                        Err(e) => panic!("transport error: {e}"),
                    }
                }
                (ok, other, retry)
            })
        })
        .collect();
    let mut total = (0, Vec::new(), Vec::new());
    for h in handles {
        let (ok, other, retry) = h.join().unwrap();
        total.0 += ok;
        total.1.extend(other);
        total.2.extend(retry);
    }
    total
}

/// Cumulative count of the batch-size histogram at bucket `le` (+Inf for all).
fn batch_count_at_most(metrics: &str, le: f64) -> u64 {
    let want = if le.is_infinite() {
        "+Inf".to_string()
    } else {
        format!("{le:.1}")
    };
    metrics
        .lines()
        .find(|l| {
            l.starts_with("bantin_batch_size_bucket") && l.contains(&format!("le=\"{want}\""))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no bucket le={want} in {metrics}"))
}

/// The real default model behind the service: the README's one-curl example.
#[test]
fn real_model_classifies_a_seed_article() {
    if std::env::var_os("BANTIN_SKIP_REAL_MODEL").is_some() {
        eprintln!("skipped: BANTIN_SKIP_REAL_MODEL is set");
        return;
    }
    let state = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bantin"));
    cmd.args(["serve", "--addr", "127.0.0.1:0", "--state"])
        .arg(state.path().join("s.sqlite"))
        .env("HF_ENDPOINT", common::closed_port_url())
        .env_remove("BANTIN_MODEL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let svc = spawn(cmd);
    let health = svc.wait_ready();
    let name = health["model"]["model"].as_str().unwrap_or_default();
    assert!(name.starts_with("multilingual-e5-small"), "{health}");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/seeds/003_d51ff44d6cffccb3.txt"),
    )
    .unwrap();
    let (code, v) = post(
        &svc.url("/v1/classify"),
        &json!({"articles": [{"id": "003", "text": text}]}),
    );
    assert_eq!(code, 200, "{v}");
    let primary = v["results"][0]["primary"].as_str().unwrap();
    assert!(
        health["themes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == primary),
        "{primary} is a theme"
    );
}
