//! Prometheus metrics (prometheus-client, the Prometheus project's own Rust client):
//! requests by route and status, latency by route, articles by outcome, queue depth and
//! batch sizes.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteStatus {
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Route {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RouteStatus, Counter>,
    pub latency: Family<Route, Histogram>,
    pub articles: Family<Outcome, Counter>,
    pub queue_depth: Gauge<i64, std::sync::atomic::AtomicI64>,
    pub batch_size: Histogram,
    pub rejected: Counter<u64, AtomicU64>,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("bantin");
        let requests = Family::<RouteStatus, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and status",
            requests.clone(),
        );
        // 1 ms to about 65 s.
        let latency = Family::<Route, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.001, 2.0, 17))
        });
        registry.register(
            "http_request_duration_seconds",
            "Request latency by route",
            latency.clone(),
        );
        let articles = Family::<Outcome, Counter>::default();
        registry.register(
            "articles",
            "Articles processed, by outcome (ok, error)",
            articles.clone(),
        );
        let queue_depth = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        registry.register(
            "queue_depth",
            "Articles and texts waiting for or in the encoder",
            queue_depth.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register(
            "batch_size",
            "Items per encoder batch (requests batched together)",
            batch_size.clone(),
        );
        let rejected = Counter::default();
        registry.register(
            "rejected_overload",
            "Requests refused because the queue was full (429)",
            rejected.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            articles,
            queue_depth,
            batch_size,
            rejected,
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}
