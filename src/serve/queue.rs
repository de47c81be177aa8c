//! The batching queue: requests from many clients wait here and are analysed together, so the
//! encoder sees full batches under load (text-embeddings-inference's design). One worker
//! thread owns the CPU-heavy work; the async handlers only wait for their reply.

use crate::corpus::Article;
use crate::encoder::{Embedding, Role};
use crate::engine::Engine;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::oneshot;

pub use crate::engine::Analysed;

type AnalyzeReply = oneshot::Sender<Result<Vec<Analysed>, String>>;
type EmbedReply = oneshot::Sender<Result<Vec<Embedding>, String>>;

pub enum Job {
    Analyze {
        articles: Vec<Article>,
        /// Keep the results in the state store (ingestion).
        store: bool,
        reply: AnalyzeReply,
    },
    Embed {
        texts: Vec<String>,
        role: Role,
        reply: EmbedReply,
    },
}

impl Job {
    fn size(&self) -> usize {
        match self {
            Job::Analyze { articles, .. } => articles.len(),
            Job::Embed { texts, .. } => texts.len(),
        }
    }
}

/// Why a job was not queued.
#[derive(Debug)]
pub enum Refused {
    /// The queue holds too much already; try again after this many seconds.
    Full { retry_after: u64 },
    /// The service is shutting down.
    Closed,
}

/// What the metrics and the admission rule read.
#[derive(Default)]
pub struct Load {
    /// Articles and texts admitted and not yet answered.
    pub depth: AtomicUsize,
    /// Completed items and the worker's busy time, for the Retry-After estimate.
    pub done: AtomicU64,
    pub busy_micros: AtomicU64,
}

pub struct Queue {
    tx: std::sync::Mutex<Option<mpsc::Sender<Job>>>,
    pub load: Arc<Load>,
    max_depth: usize,
}

/// Called after each batch with its size (for the batch-size histogram).
pub type OnBatch = Box<dyn Fn(usize) + Send>;

impl Queue {
    /// Starts the worker. `max_batch` items at most go to the engine at once; `max_depth`
    /// items at most wait (more are refused with a Retry-After).
    pub fn start(
        engine: Arc<Engine>,
        max_batch: usize,
        max_depth: usize,
        on_batch: OnBatch,
    ) -> std::io::Result<(Queue, std::thread::JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel::<Job>();
        let load = Arc::new(Load::default());
        let worker_load = load.clone();
        let handle = std::thread::Builder::new()
            .name("bantin-worker".into())
            .spawn(move || worker(engine, rx, max_batch.max(1), worker_load, on_batch))?;
        Ok((
            Queue {
                tx: std::sync::Mutex::new(Some(tx)),
                load,
                max_depth: max_depth.max(1),
            },
            handle,
        ))
    }

    /// Queues a job, or refuses it when the queue is full. A single job larger than the whole
    /// queue is still admitted into an empty queue, so no request size is refused forever.
    pub fn submit(&self, job: Job) -> Result<(), Refused> {
        let n = job.size();
        let depth = self.load.depth.load(Ordering::SeqCst);
        if depth > 0 && depth + n > self.max_depth {
            return Err(Refused::Full {
                retry_after: self.retry_after(depth),
            });
        }
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tx) = guard.as_ref() else {
            return Err(Refused::Closed);
        };
        self.load.depth.fetch_add(n, Ordering::SeqCst);
        tx.send(job).map_err(|_| {
            self.load.depth.fetch_sub(n, Ordering::SeqCst);
            Refused::Closed
        })
    }

    /// Seconds until the queue has room, from the throughput so far (at least 1, at most 60).
    fn retry_after(&self, depth: usize) -> u64 {
        let done = self.load.done.load(Ordering::Relaxed) as f64;
        let busy = self.load.busy_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let per_s = if done > 0.0 && busy > 0.0 {
            done / busy
        } else {
            10.0
        };
        ((depth as f64 / per_s).ceil() as u64).clamp(1, 60)
    }

    /// Stops taking jobs; the worker finishes those already queued, then exits.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

fn worker(
    engine: Arc<Engine>,
    rx: mpsc::Receiver<Job>,
    max_batch: usize,
    load: Arc<Load>,
    on_batch: OnBatch,
) {
    while let Ok(first) = rx.recv() {
        // Whatever else has arrived meanwhile joins this batch, up to max_batch items.
        let mut jobs = vec![first];
        let mut size = jobs[0].size();
        while size < max_batch {
            match rx.try_recv() {
                Ok(job) => {
                    size += job.size();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        run_batch(&engine, jobs);
        load.busy_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        load.done.fetch_add(size as u64, Ordering::Relaxed);
        load.depth.fetch_sub(size, Ordering::SeqCst);
        on_batch(size);
    }
}

fn run_batch(engine: &Engine, jobs: Vec<Job>) {
    let mut plain: Vec<(Vec<Article>, AnalyzeReply)> = vec![];
    let mut stored = vec![];
    let mut embeds: Vec<(Vec<String>, Role, EmbedReply)> = vec![];
    for job in jobs {
        match job {
            Job::Analyze {
                articles,
                store: false,
                reply,
            } => plain.push((articles, reply)),
            Job::Analyze {
                articles,
                store: true,
                reply,
            } => stored.push((articles, reply)),
            Job::Embed { texts, role, reply } => embeds.push((texts, role, reply)),
        }
    }
    if !plain.is_empty() {
        let all: Vec<Article> = plain.iter().flat_map(|(a, _)| a.iter().cloned()).collect();
        let results: Vec<Analysed> = engine
            .analyze(&all)
            .into_iter()
            .map(|r| r.map(|a| (a, false)))
            .collect();
        answer(plain, Ok(results));
    }
    if !stored.is_empty() {
        let all: Vec<Article> = stored.iter().flat_map(|(a, _)| a.iter().cloned()).collect();
        let results = engine.run_stored(&all, None).map_err(|e| error_chain(&e));
        answer(stored, results);
    }
    for role in [Role::Query, Role::Passage, Role::Raw] {
        let group: Vec<_> = embeds.iter().filter(|(_, r, _)| *r == role).collect();
        if group.is_empty() {
            continue;
        }
        let texts: Vec<&str> = group
            .iter()
            .flat_map(|(t, _, _)| t.iter().map(String::as_str))
            .collect();
        let result = engine.embed(&texts, role).map_err(|e| error_chain(&e));
        let mut offset = 0;
        let sizes: Vec<usize> = group.iter().map(|(t, _, _)| t.len()).collect();
        let mut chunks = Vec::new();
        for n in sizes {
            chunks.push(match &result {
                Ok(v) => Ok(v[offset..offset + n].to_vec()),
                Err(e) => Err(e.clone()),
            });
            offset += n;
        }
        let replies: Vec<_> = embeds
            .extract_if(.., |(_, r, _)| *r == role)
            .map(|(_, _, reply)| reply)
            .collect();
        for (reply, chunk) in replies.into_iter().zip(chunks) {
            // A client that gave up (timeout, disconnect) dropped its receiver: nothing to do.
            let _ = reply.send(chunk);
        }
    }
}

/// Splits one batch's results back into the requests they came from.
fn answer(jobs: Vec<(Vec<Article>, AnalyzeReply)>, results: Result<Vec<Analysed>, String>) {
    match results {
        Ok(results) => {
            let mut it = results.into_iter();
            for (articles, reply) in jobs {
                let mine: Vec<Analysed> = it.by_ref().take(articles.len()).collect();
                let _ = reply.send(Ok(mine));
            }
        }
        Err(e) => {
            for (_, reply) in jobs {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
