//! Routes, request and response shapes, and the JSON errors.

use super::queue::{Analysed, Job, Refused};
use super::{App, Ready};
use crate::corpus::{Article, ItemError};
use crate::encoder::Role;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Query, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio::sync::oneshot;

type Shared = Arc<App>;

pub(crate) fn router(app: Shared) -> Router {
    let v1 = Router::new()
        .route("/classify", post(classify))
        .route("/summarize", post(summarize))
        .route("/analyze", post(analyze))
        .route("/embed", post(embed))
        .route("/articles", post(ingest))
        .route("/digest", get(digest))
        .route_layer(middleware::from_fn_with_state(app.clone(), authorize));
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .nest("/v1", v1)
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            app.clone(),
            refuse_oversized,
        ))
        .layer(middleware::from_fn_with_state(app.clone(), track))
        .layer(DefaultBodyLimit::max(app.config.max_body))
        .with_state(app)
}

/// A JSON error: `{"error": {"status": 400, "code": "bad_request", "message": "..."}}`.
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    fn retry(mut self, secs: u64) -> ApiError {
        self.retry_after = Some(secs);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self
            .status
            .canonical_reason()
            .unwrap_or("error")
            .to_ascii_lowercase()
            .replace(' ', "_");
        let body = json!({"error": {"status": self.status.as_u16(), "code": code, "message": self.message}});
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// `Json<T>` whose rejections are bantin's JSON errors: malformed JSON and wrong types are
/// 400 with serde's path to the field (`articles[0].text: invalid type ...`), an oversized body
/// is 413, a missing `Content-Type: application/json` is 415.
pub(crate) struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> ApiError {
    let status = match r.status() {
        // Well-formed JSON of the wrong shape is still the client's bad request.
        StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
        s => s,
    };
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            "request body is larger than the limit (--max-body); send fewer articles per request"
                .to_string()
        }
        _ => r.body_text(),
    };
    ApiError::new(status, message)
}

#[derive(Deserialize)]
pub(crate) struct ArticleIn {
    id: String,
    text: String,
    title: Option<String>,
    date: Option<String>,
    url: Option<String>,
    source: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct ArticlesRequest {
    articles: Vec<ArticleIn>,
}

impl ArticlesRequest {
    /// NFC everywhere, as for files; the origin names the request position.
    fn into_articles(self) -> Result<Vec<Article>, ApiError> {
        use unicode_normalization::UnicodeNormalization;
        if self.articles.is_empty() {
            return Err(ApiError::bad_request(
                "articles: empty; send at least one {\"id\", \"text\"} object",
            ));
        }
        let nfc = |s: Option<String>| s.map(|s| s.nfc().collect::<String>());
        Ok(self
            .articles
            .into_iter()
            .enumerate()
            .map(|(i, a)| {
                let mut art = Article::new(a.id, a.text);
                art.origin = format!("articles[{i}]");
                art.title = nfc(a.title).filter(|t| !t.trim().is_empty());
                art.date = nfc(a.date);
                art.url = nfc(a.url);
                art.source = nfc(a.source);
                art
            })
            .collect())
    }
}

fn ready(app: &App) -> Result<&Ready, ApiError> {
    app.ready.get().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the model is still loading; try again shortly (GET /health says when it is ready)",
        )
        .retry(5)
    })
}

/// Queues a job and waits for its answer, within the request timeout.
async fn submit<T>(
    app: &App,
    job: impl FnOnce(oneshot::Sender<Result<T, String>>) -> Job,
) -> Result<T, ApiError> {
    let r = ready(app)?;
    let (tx, rx) = oneshot::channel();
    match r.queue.submit(job(tx)) {
        Ok(()) => {}
        Err(Refused::Full { retry_after }) => {
            app.metrics.rejected.inc();
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "the queue is full ({} items waiting); retry after {retry_after} s",
                    r.queue
                        .load
                        .depth
                        .load(std::sync::atomic::Ordering::Relaxed)
                ),
            )
            .retry(retry_after));
        }
        Err(Refused::Closed) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the service is shutting down",
            ))
        }
    }
    match tokio::time::timeout(app.config.request_timeout, rx).await {
        Ok(Ok(Ok(v))) => Ok(v),
        Ok(Ok(Err(msg))) => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, msg)),
        Ok(Err(_)) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the worker stopped before answering",
        )),
        Err(_) => Err(ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!(
                "no answer within {} s (--request-timeout); the service is busy or the articles are very long",
                app.config.request_timeout.as_secs()
            ),
        )),
    }
}

async fn run_articles(
    app: &App,
    req: ArticlesRequest,
    store: bool,
) -> Result<(Vec<Article>, Vec<Analysed>), ApiError> {
    let articles = req.into_articles()?;
    let copy = articles.clone();
    let results = submit(app, move |reply| Job::Analyze {
        articles: copy,
        store,
        reply,
    })
    .await?;
    let (ok, err) = results.iter().fold((0u64, 0u64), |(o, e), r| {
        if r.is_ok() {
            (o + 1, e)
        } else {
            (o, e + 1)
        }
    });
    let m = &app.metrics.articles;
    m.get_or_create(&super::metrics::Outcome {
        outcome: "ok".into(),
    })
    .inc_by(ok);
    m.get_or_create(&super::metrics::Outcome {
        outcome: "error".into(),
    })
    .inc_by(err);
    Ok((articles, results))
}

fn split(
    results: Vec<Analysed>,
    shape: impl Fn(&crate::pipeline::Analysis, bool) -> Value,
) -> Value {
    let mut out = Vec::new();
    let mut errors: Vec<&ItemError> = Vec::new();
    for r in &results {
        match r {
            Ok((a, reused)) => out.push(shape(a, *reused)),
            Err(e) => errors.push(e),
        }
    }
    json!({"results": out, "errors": errors})
}

async fn classify(
    State(app): State<Shared>,
    ApiJson(req): ApiJson<ArticlesRequest>,
) -> Result<Json<Value>, ApiError> {
    let (_, results) = run_articles(&app, req, false).await?;
    Ok(Json(split(results, |a, _| a.result.classification_json())))
}

async fn summarize(
    State(app): State<Shared>,
    ApiJson(req): ApiJson<ArticlesRequest>,
) -> Result<Json<Value>, ApiError> {
    let (_, results) = run_articles(&app, req, false).await?;
    Ok(Json(split(results, |a, _| a.result.summary_json())))
}

async fn analyze(
    State(app): State<Shared>,
    ApiJson(req): ApiJson<ArticlesRequest>,
) -> Result<Json<Value>, ApiError> {
    let (_, results) = run_articles(&app, req, false).await?;
    Ok(Json(split(results, |a, _| {
        serde_json::to_value(&a.result).unwrap_or(Value::Null)
    })))
}

/// Crawler ingestion: analysed, committed to the state store, then acknowledged. The same
/// content sent again is not analysed again (`"status": "unchanged"`).
async fn ingest(
    State(app): State<Shared>,
    ApiJson(req): ApiJson<ArticlesRequest>,
) -> Result<Json<Value>, ApiError> {
    let (_, results) = run_articles(&app, req, true).await?;
    Ok(Json(split(results, |a, reused| {
        json!({
            "id": a.result.id,
            "status": if reused { "unchanged" } else { "stored" },
            "result": a.result,
        })
    })))
}

#[derive(Deserialize)]
pub(crate) struct EmbedRequest {
    texts: Vec<String>,
    #[serde(default)]
    role: RoleIn,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RoleIn {
    #[default]
    Query,
    Passage,
}

async fn embed(
    State(app): State<Shared>,
    ApiJson(req): ApiJson<EmbedRequest>,
) -> Result<Json<Value>, ApiError> {
    use unicode_normalization::UnicodeNormalization;
    if req.texts.is_empty() {
        return Err(ApiError::bad_request(
            "texts: empty; send at least one text",
        ));
    }
    let texts: Vec<String> = req.texts.iter().map(|t| t.nfc().collect()).collect();
    let role = match req.role {
        RoleIn::Query => Role::Query,
        RoleIn::Passage => Role::Passage,
    };
    let vectors = submit(&app, move |reply| Job::Embed { texts, role, reply }).await?;
    let engine = &ready(&app)?.engine;
    Ok(Json(json!({
        "embeddings": vectors.iter().map(|e| &e.vector).collect::<Vec<_>>(),
        "tokens": vectors.iter().map(|e| e.tokens).collect::<Vec<_>>(),
        "windows": vectors.iter().map(|e| e.windows).collect::<Vec<_>>(),
        "dim": engine.embedder().dim(),
        "model": engine.provenance(),
    })))
}

#[derive(Deserialize)]
pub(crate) struct DigestQuery {
    since: Option<String>,
    format: Option<String>,
    title: Option<String>,
    lang: Option<crate::digest::Lang>,
}

/// The digest of what the state store holds (optionally since a day).
async fn digest(
    State(app): State<Shared>,
    query: Result<Query<DigestQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|r| ApiError::bad_request(r.body_text()))?;
    if let Some(s) = &q.since {
        if !crate::engine::is_iso_date(s) {
            return Err(ApiError::bad_request(format!(
                "since: {s:?} is not a date like 2024-05-31"
            )));
        }
    }
    let format = q.format.as_deref().unwrap_or("json").to_ascii_lowercase();
    if !["json", "md", "markdown", "html"].contains(&format.as_str()) {
        return Err(ApiError::bad_request(format!(
            "format: {format:?} is not one of json, md, html"
        )));
    }
    let engine = ready(&app)?.engine.clone();
    let title = q.title.unwrap_or_else(|| app.config.title.clone());
    let since = q.since.clone();
    let lang = q.lang.unwrap_or_default();
    let built = tokio::task::spawn_blocking(move || {
        let mut analyses = engine.stored().map_err(|e| super::queue::error_chain(&e))?;
        let mut previous = Vec::new();
        if let Some(since) = &since {
            // The period of the same length before `since` is only counted, for the
            // comparison of the two periods, as `bantin digest --since` does.
            let dated: Vec<(Option<String>, crate::pipeline::Analysis)> =
                analyses.into_iter().map(|a| (stored_date(&a), a)).collect();
            let known: Vec<String> = dated.iter().filter_map(|(d, _)| d.clone()).collect();
            let from = crate::digest::trends::period(since, &known)
                .map_or_else(|| since.clone(), |p| p.previous_from);
            analyses = Vec::new();
            for (d, a) in dated {
                match d {
                    Some(d) if d.as_str() >= since.as_str() => analyses.push(a),
                    Some(d) if d >= from => previous.push(a),
                    _ => {}
                }
            }
        }
        let input = match &since {
            Some(s) => format!("state store, since {s}"),
            None => "state store".to_string(),
        };
        let options = crate::digest::Options {
            lang,
            since: since.as_deref(),
            previous: &previous,
        };
        Ok::<_, String>(engine.digest(&title, &input, &analyses, &[], &options))
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
    let (ctype, body) = match format.as_str() {
        "md" | "markdown" => (
            "text/markdown; charset=utf-8",
            crate::digest::markdown(&built),
        ),
        "html" => ("text/html; charset=utf-8", crate::digest::html(&built)),
        _ => (
            "application/json",
            serde_json::to_string(&built).unwrap_or_default(),
        ),
    };
    Ok(([(header::CONTENT_TYPE, ctype)], body).into_response())
}

/// A stored analysis's date as yyyy-mm-dd (the analysis keeps the input's date or the
/// dateline's).
fn stored_date(a: &crate::pipeline::Analysis) -> Option<String> {
    let d = a.result.date.as_deref()?;
    let iso: String = d.trim().chars().take(10).collect();
    if crate::engine::is_iso_date(&iso) {
        Some(iso)
    } else {
        crate::pipeline::find_date(d)
    }
}

async fn health(State(app): State<Shared>) -> Response {
    match app.ready.get() {
        Some(r) => Json(json!({
            "status": "ok",
            "model": r.engine.provenance(),
            "dim": r.engine.embedder().dim(),
            "classifier": r.engine.classifier_name(),
            "themes": r.engine.taxonomy().ids(),
            "generator": r.engine.abstractive().map(|a| a.model().to_string()),
            "state_store": r.engine.has_store(),
            "uptime_s": app.started.elapsed().as_secs(),
            "version": env!("CARGO_PKG_VERSION"),
        }))
        .into_response(),
        None => {
            let mut resp = (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "loading", "uptime_s": app.started.elapsed().as_secs()})),
            )
                .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(5u64));
            resp
        }
    }
}

async fn metrics(State(app): State<Shared>) -> Response {
    if let Some(r) = app.ready.get() {
        app.metrics.queue_depth.set(
            r.queue
                .load
                .depth
                .load(std::sync::atomic::Ordering::Relaxed) as i64,
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}

async fn openapi() -> Json<Value> {
    Json(super::openapi::document())
}

async fn not_found(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no route {} {}; see GET /openapi.json",
            req.method(),
            req.uri().path()
        ),
    )
}

/// Every `/v1` route needs `Authorization: Bearer KEY` when the service has a key.
async fn authorize(State(app): State<Shared>, req: Request, next: Next) -> Response {
    if let Some(key) = &app.config.api_key {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if !given.is_some_and(|g| constant_time_eq(g.as_bytes(), key.as_bytes())) {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token: send Authorization: Bearer <the --api-key>",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Comparison time independent of where the strings differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Counts requests and times them, by route pattern (not by raw path: ids stay out of labels).
/// The most of an oversized body that is read and thrown away before the 413 is sent.
const DRAIN_LIMIT: usize = 64 << 20;

/// A body declared larger than `--max-body` is refused with 413 *after* reading it (up to
/// [`DRAIN_LIMIT`]): a server that answers and closes while the client is still sending makes
/// the kernel reset the connection, and the client sees "broken pipe" instead of the 413 and
/// its message. Bodies beyond the drain limit are refused at once.
async fn refuse_oversized(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > app.config.max_body as u64 => {
            if n <= DRAIN_LIMIT as u64 {
                let _ = axum::body::to_bytes(req.into_body(), DRAIN_LIMIT).await;
            }
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "request body is {n} bytes, larger than the limit of {} (--max-body); send fewer articles per request",
                    app.config.max_body
                ),
            )
            .into_response()
        }
        _ => next.run(req).await,
    }
}

async fn track(State(app): State<Shared>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    let m = &app.metrics;
    m.latency
        .get_or_create(&super::metrics::Route {
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&super::metrics::RouteStatus {
            route,
            status: resp.status().as_u16(),
        })
        .inc();
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
