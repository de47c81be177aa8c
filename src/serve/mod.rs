//! `bantin serve`: the engine behind an HTTP API (axum on tokio), for crawlers that send
//! articles as they arrive and for programs in other languages. JSON in and out, UTF-8, NFC.
//!
//! Routes: `GET /health`, `GET /metrics`, `GET /openapi.json`, and under `/v1` (bearer token
//! when `--api-key` is set): `POST classify | summarize | analyze | embed | articles`,
//! `GET digest`. Requests from concurrent clients are analysed together by one worker
//! ([`queue`]); a full queue answers 429 with `Retry-After`, a slow answer 504.

mod api;
pub mod metrics;
mod openapi;
pub mod queue;

use crate::engine::{Engine, EngineBuilder};
use crate::progress::Progress;
use anyhow::Context;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How the service listens and what it accepts.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// `host:port`; port 0 picks a free port (printed on stderr).
    pub addr: String,
    /// Bearer token every `/v1` route requires (none: open).
    pub api_key: Option<String>,
    /// Largest request body in bytes (larger: 413).
    pub max_body: usize,
    /// Articles and texts that may wait for the encoder (more: 429).
    pub max_queue: usize,
    /// Articles and texts analysed together in one batch.
    pub max_batch: usize,
    /// A request not answered within this time gets 504.
    pub request_timeout: Duration,
    /// Title of `GET /v1/digest` pages.
    pub title: String,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            addr: "127.0.0.1:8080".into(),
            api_key: None,
            max_body: 8 << 20,
            max_queue: 1024,
            max_batch: 64,
            request_timeout: Duration::from_secs(120),
            title: "Bản tin chính sách công nghiệp".into(),
        }
    }
}

/// The loaded engine and its queue; absent while the model loads.
pub(crate) struct Ready {
    pub engine: Arc<Engine>,
    pub queue: queue::Queue,
}

pub(crate) struct App {
    pub config: ServeConfig,
    pub ready: OnceLock<Ready>,
    pub metrics: metrics::Metrics,
    pub started: Instant,
}

/// Binds, loads the engine in the background (`/health` answers 503 until it is ready), and
/// serves until SIGTERM or Ctrl-C: then it stops accepting connections, answers the requests
/// in flight, lets the worker finish what is queued, closes the state store and returns.
pub fn run(config: ServeConfig, builder: EngineBuilder, progress: Progress) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bantin-http")
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config, builder, progress))
}

async fn serve(
    config: ServeConfig,
    builder: EngineBuilder,
    progress: Progress,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let local = listener.local_addr().context("reading the bound address")?;
    // Always printed: scripts and tests read the port from here when they asked for port 0.
    eprintln!("bantin serve: listening on http://{local}");
    if !local.ip().is_loopback() && config.api_key.is_none() {
        progress.warn(&format!(
            "listening on {local}, reachable from other machines, with no --api-key: anyone who can reach it can use it"
        ));
    }
    let app = Arc::new(App {
        config: config.clone(),
        ready: OnceLock::new(),
        metrics: metrics::Metrics::new(),
        started: Instant::now(),
    });

    // The model loads on its own thread so that /health can answer 503 meanwhile.
    let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<String>();
    let worker: Arc<Mutex<Option<std::thread::JoinHandle<()>>>> = Arc::new(Mutex::new(None));
    {
        let app = app.clone();
        let worker = worker.clone();
        let progress = progress.clone();
        std::thread::Builder::new()
            .name("bantin-load".into())
            .spawn(move || match builder.try_build() {
                Ok(engine) => {
                    let engine = Arc::new(engine);
                    let metrics_app = app.clone();
                    let started = queue::Queue::start(
                        engine.clone(),
                        app.config.max_batch,
                        app.config.max_queue,
                        Box::new(move |n| metrics_app.metrics.batch_size.observe(n as f64)),
                    );
                    let (q, handle) = match started {
                        Ok(started) => started,
                        Err(e) => {
                            let _ = failed_tx.send(format!("starting the worker thread: {e}"));
                            return;
                        }
                    };
                    *worker.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
                    progress.info(&format!(
                        "bantin serve: ready ({}, {} themes, {}) in {:.1}s",
                        engine.provenance().model,
                        engine.taxonomy().themes.len(),
                        engine.classifier_name(),
                        engine.load_time().as_secs_f64()
                    ));
                    let _ = app.ready.set(Ready { engine, queue: q });
                }
                Err(e) => {
                    let _ = failed_tx.send(queue::error_chain(&e));
                }
            })
            .context("spawning the loader thread")?;
    }

    let router = api::router(app.clone());
    let load_failure = Arc::new(Mutex::new(None::<String>));
    let shutdown = {
        let load_failure = load_failure.clone();
        async move {
            tokio::select! {
                _ = terminate() => {}
                msg = failed_rx => {
                    if let Ok(msg) = msg {
                        *load_failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(msg);
                    } else {
                        // The loader finished without failing: wait for a signal.
                        terminate().await;
                    }
                }
            }
        }
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    if let Some(msg) = load_failure
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        anyhow::bail!("the engine could not be loaded: {msg}");
    }
    progress.info("bantin serve: stopping; finishing queued work");
    if let Some(ready) = app.ready.get() {
        ready.queue.close();
    }
    let handle = worker.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(h) = handle {
        let _ = tokio::task::spawn_blocking(move || h.join()).await;
    }
    progress.info("bantin serve: stopped");
    Ok(())
}

/// SIGTERM (what service managers send) or Ctrl-C.
async fn terminate() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
