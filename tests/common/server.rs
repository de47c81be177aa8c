//! Loopback HTTP/1.1 servers on std::net: one request per connection (`Connection: close`),
//! every thread bounded in time, everything stopped and joined on drop.
//!
//! `HubServer` speaks the part of the Hugging Face hub protocol that hf-hub 0.4 (sync/ureq)
//! uses: `GET /{repo}/resolve/{revision}/{file}` with `Range: bytes=0-0` for metadata
//! (`x-repo-commit`, `etag` / `x-linked-etag`, `Content-Range: bytes 0-0/SIZE`), then
//! `Range: bytes=N-` for the data. LFS files answer with a 302 to a `/cdn/{sha256}` URL, as the
//! real hub does. `PypiServer` serves a PEP 503 "simple" index and the files it links.

use super::{git_blob_sha1, sha256_hex};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// No server thread ever sleeps longer than this, whatever a test asks for.
pub const MAX_DELAY: Duration = Duration::from_secs(20);

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Range: bytes=A-` or `bytes=A-B` (one range only).
    pub fn range(&self) -> Option<(u64, Option<u64>)> {
        let r = self.header("range")?.trim().strip_prefix("bytes=")?;
        let (a, b) = r.split_once('-')?;
        let a: u64 = a.trim().parse().ok()?;
        let b = b.trim();
        let b = if b.is_empty() {
            None
        } else {
            Some(b.parse().ok()?)
        };
        Some((a, b))
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send only this many body bytes, then close.
    pub cut_at: Option<usize>,
    /// Leave out Content-Length (a close-delimited body).
    pub no_length: bool,
    /// Sleep before answering (capped at MAX_DELAY).
    pub delay: Duration,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.into(),
            cut_at: None,
            no_length: false,
            delay: Duration::ZERO,
        }
    }
    pub fn header(mut self, k: &str, v: impl Into<String>) -> Response {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        _ => "Status",
    }
}

type Handler = dyn Fn(&Request, &str) -> Response + Send + Sync;

/// A generic loopback server: `handler(request, base_url)` answers each request.
pub struct Server {
    base: String,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    log: Arc<Mutex<Vec<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: Arc<Handler>) -> Server {
        warn_about_proxies();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let log = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let (stop, requests, log, base) =
                (stop.clone(), requests.clone(), log.clone(), base.clone());
            std::thread::spawn(move || {
                let mut workers: Vec<JoinHandle<()>> = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (handler, requests, log, base, stop) = (
                                handler.clone(),
                                requests.clone(),
                                log.clone(),
                                base.clone(),
                                stop.clone(),
                            );
                            workers.push(std::thread::spawn(move || {
                                serve_one(stream, &*handler, &requests, &log, &base, &stop)
                            }));
                            workers.retain(|w| !w.is_finished());
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(2));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
                for w in workers {
                    let _ = w.join();
                }
            })
        };
        Server {
            base,
            stop,
            requests,
            log,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// Requests answered so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// "METHOD PATH [range] -> STATUS" lines, in order of arrival.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// ureq 2 (bantin's and hf-hub's HTTP client) sends every request through ALL_PROXY /
/// HTTPS_PROXY / HTTP_PROXY and ignores NO_PROXY, loopback included; in-process tests cannot
/// unset them (no set_var), so say why they are about to fail.
fn warn_about_proxies() {
    for k in [
        "ALL_PROXY",
        "all_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ] {
        if std::env::var(k).is_ok_and(|v| !v.trim().is_empty()) {
            eprintln!(
                "warning: {k} is set; ureq 2 ignores NO_PROXY, so requests to this loopback test \
                 server go through the proxy. Unset it to run these tests."
            );
        }
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let path = first.next()?.to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Some(Request {
        method,
        path,
        headers,
    })
}

fn serve_one(
    mut stream: TcpStream,
    handler: &Handler,
    requests: &AtomicUsize,
    log: &Mutex<Vec<String>>,
    base: &str,
    stop: &AtomicBool,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let Some(req) = read_request(&mut stream) else {
        return;
    };
    requests.fetch_add(1, Ordering::SeqCst);
    let resp = handler(&req, base);
    log.lock().unwrap().push(format!(
        "{} {}{} -> {}",
        req.method,
        req.path,
        req.header("range")
            .map(|r| format!(" [{r}]"))
            .unwrap_or_default(),
        resp.status
    ));
    // Sleep in small steps so that a dropped server does not wait for the whole delay.
    let until = Instant::now() + resp.delay.min(MAX_DELAY);
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut head = format!("HTTP/1.1 {} {}\r\n", resp.status, reason(resp.status));
    for (k, v) in &resp.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !resp.no_length {
        head.push_str(&format!("Content-Length: {}\r\n", resp.body.len()));
    }
    head.push_str("Connection: close\r\n\r\n");
    let body: &[u8] = if req.method == "HEAD" {
        &[]
    } else {
        &resp.body[..resp.cut_at.unwrap_or(resp.body.len()).min(resp.body.len())]
    };
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

/// Serves `content` for a request, honouring `Range`, with the fault applied to the data.
fn serve_bytes(content: &[u8], req: &Request, fault: Fault) -> Response {
    let total = content.len() as u64;
    let data: Vec<u8> = if fault == Fault::Corrupt {
        // Same length, different bytes: flip a stretch in the middle.
        let mut c = content.to_vec();
        let mid = c.len() / 2;
        for b in c.iter_mut().skip(mid).take(64) {
            *b ^= 0x5A;
        }
        c
    } else {
        content.to_vec()
    };
    let mut resp = match req.range() {
        Some((a, b)) => {
            let last = b
                .unwrap_or(total.saturating_sub(1))
                .min(total.saturating_sub(1));
            if a >= total || a > last {
                return Response::new(416, Vec::new())
                    .header("Content-Range", format!("bytes */{total}"));
            }
            Response::new(206, data[a as usize..=last as usize].to_vec())
                .header("Content-Range", format!("bytes {a}-{last}/{total}"))
        }
        None => Response::new(200, data),
    };
    resp = resp
        .header("Accept-Ranges", "bytes")
        .header("Content-Type", "application/octet-stream");
    let n = resp.body.len();
    match fault {
        Fault::Truncated if n > 1 => resp.cut_at = Some(n / 2),
        Fault::TruncatedNoLength if n > 1 => {
            resp.cut_at = Some(n / 2);
            resp.no_length = true;
        }
        Fault::Delay(d) => resp.delay = d,
        _ => {}
    }
    resp
}

// ---------------------------------------------------------------------------------------------
// Hugging Face hub

/// What goes wrong when a file is served.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    None,
    /// 404 (EntryNotFound) on the resolve URL.
    NotFound,
    /// 500 on the resolve URL.
    ServerError,
    /// The data differs from what the sha256 etag promises (same length).
    Corrupt,
    /// Content-Length announces the full range, the connection closes after half of it.
    Truncated,
    /// A close-delimited body (no Content-Length) that stops after half of the range.
    TruncatedNoLength,
    /// Every response for the file waits this long first (capped at MAX_DELAY).
    Delay(Duration),
}

#[derive(Debug, Clone)]
pub struct HubFile {
    pub content: Vec<u8>,
    /// Stored in LFS: etag = sha256 and a redirect to a CDN URL, like the real hub.
    pub lfs: bool,
    pub fault: Fault,
}

struct HubState {
    repo: String,
    commit: String,
    files: Mutex<BTreeMap<String, HubFile>>,
}

pub struct HubServer {
    pub server: Server,
    state: Arc<HubState>,
}

pub const HUB_COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

impl HubServer {
    /// Serves `files` (name, bytes) for `repo`; files ending in .safetensors/.bin go to LFS.
    pub fn start(repo: &str, files: Vec<(String, Vec<u8>)>) -> HubServer {
        let map = files
            .into_iter()
            .map(|(name, content)| {
                let lfs = name.ends_with(".safetensors") || name.ends_with(".bin");
                (
                    name,
                    HubFile {
                        content,
                        lfs,
                        fault: Fault::None,
                    },
                )
            })
            .collect();
        let state = Arc::new(HubState {
            repo: repo.to_string(),
            commit: HUB_COMMIT.to_string(),
            files: Mutex::new(map),
        });
        let st = state.clone();
        let server = Server::start(Arc::new(move |req: &Request, base: &str| {
            hub_handle(&st, req, base)
        }));
        HubServer { server, state }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> usize {
        self.server.requests()
    }

    pub fn log(&self) -> Vec<String> {
        self.server.log()
    }

    pub fn set_fault(&self, file: &str, fault: Fault) {
        self.state
            .files
            .lock()
            .unwrap()
            .get_mut(file)
            .unwrap_or_else(|| panic!("hub server has no {file}"))
            .fault = fault;
    }

    pub fn set_lfs(&self, file: &str, lfs: bool) {
        self.state
            .files
            .lock()
            .unwrap()
            .get_mut(file)
            .expect("file")
            .lfs = lfs;
    }

    pub fn commit(&self) -> &str {
        &self.state.commit
    }
}

fn hub_handle(st: &HubState, req: &Request, base: &str) -> Response {
    if req.method != "GET" && req.method != "HEAD" {
        return Response::new(400, "bad method");
    }
    let path = req.path.split('?').next().unwrap_or("");
    if let Some(sha) = path.strip_prefix("/cdn/") {
        let files = st.files.lock().unwrap();
        return match files
            .values()
            .find(|f| f.lfs && sha256_hex(&f.content) == sha)
        {
            Some(f) => serve_bytes(&f.content, req, f.fault),
            None => Response::new(404, "no such object"),
        };
    }
    let prefix = format!("/{}/resolve/", st.repo);
    let Some(rest) = path.strip_prefix(&prefix) else {
        return Response::new(404, "Repository not found").header("X-Error-Code", "RepoNotFound");
    };
    let Some((rev, file)) = rest.split_once('/') else {
        return Response::new(404, "Entry not found").header("X-Error-Code", "EntryNotFound");
    };
    if rev != "main" && rev != st.commit {
        return Response::new(404, "Revision not found").header("X-Error-Code", "RevisionNotFound");
    }
    let files = st.files.lock().unwrap();
    let Some(f) = files.get(file) else {
        return Response::new(404, "Entry not found").header("X-Error-Code", "EntryNotFound");
    };
    match f.fault {
        Fault::NotFound => {
            return Response::new(404, "Entry not found").header("X-Error-Code", "EntryNotFound")
        }
        Fault::ServerError => return Response::new(500, "Internal Error"),
        _ => {}
    }
    if f.lfs {
        let sha = sha256_hex(&f.content);
        let mut r = Response::new(302, Vec::new())
            .header("Location", format!("{base}/cdn/{sha}"))
            .header("X-Repo-Commit", st.commit.clone())
            .header("X-Linked-Etag", format!("\"{sha}\""))
            .header("X-Linked-Size", f.content.len().to_string())
            .header("ETag", format!("W/\"{}\"", git_blob_sha1(sha.as_bytes())));
        if let Fault::Delay(d) = f.fault {
            r.delay = d;
        }
        r
    } else {
        serve_bytes(&f.content, req, f.fault)
            .header("X-Repo-Commit", st.commit.clone())
            .header("ETag", format!("\"{}\"", git_blob_sha1(&f.content)))
    }
}

// ---------------------------------------------------------------------------------------------
// PyPI "simple" index

#[derive(Debug, Clone)]
pub struct PypiFile {
    pub package: String,
    pub filename: String,
    pub content: Vec<u8>,
    /// The `#sha256=` the index page publishes (None: no fragment).
    pub published_sha256: Option<String>,
    pub fault: Fault,
}

pub struct PypiServer {
    pub server: Server,
    files: Arc<Mutex<Vec<PypiFile>>>,
}

impl PypiServer {
    pub fn start(files: Vec<PypiFile>) -> PypiServer {
        let files = Arc::new(Mutex::new(files));
        let f = files.clone();
        let server = Server::start(Arc::new(move |req: &Request, _base: &str| {
            pypi_handle(&f, req)
        }));
        PypiServer { server, files }
    }

    /// What PIP_INDEX_URL should be.
    pub fn index_url(&self) -> String {
        format!("{}/simple", self.server.url())
    }

    pub fn requests(&self) -> usize {
        self.server.requests()
    }

    pub fn log(&self) -> Vec<String> {
        self.server.log()
    }

    pub fn set_fault(&self, filename: &str, fault: Fault) {
        let mut files = self.files.lock().unwrap();
        files
            .iter_mut()
            .find(|f| f.filename == filename)
            .expect("file")
            .fault = fault;
    }
}

/// A file listed with its true digest.
pub fn pypi_file(package: &str, filename: &str, content: Vec<u8>) -> PypiFile {
    PypiFile {
        package: package.to_string(),
        filename: filename.to_string(),
        published_sha256: Some(sha256_hex(&content)),
        content,
        fault: Fault::None,
    }
}

fn pypi_handle(files: &Mutex<Vec<PypiFile>>, req: &Request) -> Response {
    let files = files.lock().unwrap();
    let path = req.path.split('?').next().unwrap_or("");
    if let Some(pkg) = path.strip_prefix("/simple/") {
        let Some(pkg) = pkg.strip_suffix('/') else {
            return Response::new(301, Vec::new()).header("Location", format!("{path}/"));
        };
        let listed: Vec<&PypiFile> = files.iter().filter(|f| f.package == pkg).collect();
        if listed.is_empty() {
            return Response::new(404, "Not Found");
        }
        let mut html = format!(
            "<!DOCTYPE html>\n<html>\n  <head><meta name=\"pypi:repository-version\" content=\"1.1\"><title>Links for {pkg}</title></head>\n  <body>\n    <h1>Links for {pkg}</h1>\n"
        );
        for f in listed {
            let frag = f
                .published_sha256
                .as_ref()
                .map(|s| format!("#sha256={s}"))
                .unwrap_or_default();
            html.push_str(&format!(
                "    <a href=\"../../files/{0}{frag}\" data-requires-python=\"&gt;=3.8\">{0}</a><br />\n",
                f.filename
            ));
        }
        html.push_str("  </body>\n</html>\n");
        return Response::new(200, html).header("Content-Type", "text/html; charset=utf-8");
    }
    if let Some(name) = path.strip_prefix("/files/") {
        return match files.iter().find(|f| f.filename == name) {
            Some(f) => match f.fault {
                Fault::NotFound => Response::new(404, "Not Found"),
                Fault::ServerError => Response::new(500, "Internal Error"),
                fault => serve_bytes(&f.content, req, fault),
            },
            None => Response::new(404, "Not Found"),
        };
    }
    Response::new(404, "Not Found")
}
