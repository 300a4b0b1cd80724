//! A closed-loop HTTP load driver for the benchmark harness: a fixed number
//! of keep-alive connections, each sending its next request as soon as the
//! last one answered, until its requests run out or time is up. Latency is
//! measured per request, from send to the end of the body.
//!
//! Written here rather than shelling out to wrk so that the harness runs
//! anywhere the binary does (CI included) and can build request bodies
//! (batches, per-connection scan sequences) that a wrk script cannot.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::Method;
use actix_web::web::Bytes;

/// One request to send.
#[derive(Clone)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub token: Option<Arc<str>>,
    /// A JSON body.
    pub body: Option<Bytes>,
}

impl Request {
    pub fn get(path: impl Into<String>, token: Option<Arc<str>>) -> Request {
        Request { method: Method::GET, path: path.into(), token, body: None }
    }

    pub fn post(path: impl Into<String>, token: Option<Arc<str>>, body: impl Into<Bytes>) -> Request {
        Request { method: Method::POST, path: path.into(), token, body: Some(body.into()) }
    }
}

/// What a load run measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    pub requests: u64,
    /// Answers other than 2xx, and transport failures.
    pub errors: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The first failure seen, for the report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
}

/// The load's shape.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Client threads (each with its own event loop).
    pub threads: usize,
    /// Connections, spread over the threads.
    pub connections: usize,
    /// Stop sending new requests after this long.
    pub duration: Duration,
}

/// Drives `base` with requests from `next(connection, n)` (the n-th request
/// of that connection; `None` ends that connection) and measures them.
pub fn drive<F>(base: &str, shape: Shape, next: F) -> Stats
where
    F: Fn(usize, u64) -> Option<Request> + Send + Sync + 'static,
{
    let next = Arc::new(next);
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let started = Instant::now();
    let deadline = started + shape.duration;
    let threads = shape.threads.clamp(1, shape.connections.max(1));
    let handles: Vec<_> = (0..threads)
        .map(|thread| {
            let (next, errors, first_error, base) = (next.clone(), errors.clone(), first_error.clone(), base.to_string());
            let connections: Vec<usize> = (0..shape.connections).filter(|c| c % threads == thread).collect();
            std::thread::spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let client = awc::Client::builder()
                        .timeout(Duration::from_secs(60))
                        .connector(awc::Connector::new().limit(connections.len().max(1)))
                        .finish();
                    let tasks = connections.into_iter().map(|connection| {
                        let (client, next, errors, first_error, base) = (&client, &next, &errors, &first_error, &base);
                        async move {
                            let mut latencies = Vec::new();
                            let mut n = 0;
                            while Instant::now() < deadline {
                                let Some(request) = next(connection, n) else { break };
                                n += 1;
                                let sent = Instant::now();
                                let outcome = send(client, base, request).await;
                                latencies.push(sent.elapsed().as_micros() as u32);
                                if let Err(e) = outcome {
                                    errors.fetch_add(1, Ordering::Relaxed);
                                    first_error.lock().expect("not poisoned").get_or_insert(e);
                                }
                            }
                            latencies
                        }
                    });
                    futures_util::future::join_all(tasks).await.concat()
                })
            })
        })
        .collect();
    let mut latencies: Vec<u32> = handles.into_iter().flat_map(|h| h.join().expect("load thread")).collect();
    let first_error = first_error.lock().expect("not poisoned").take();
    summarize(&mut latencies, started.elapsed().as_secs_f64(), errors.load(Ordering::Relaxed), first_error)
}

/// Runs `work(connection, n)` on `connections` threads, each with its own
/// database connection from `pool`, for `duration`, and measures each call:
/// the floors that need no HTTP (a point read through the pool).
pub fn drive_pool<F>(pool: &exampost::db::Pool, connections: usize, duration: Duration, work: F) -> Stats
where
    F: Fn(&mut exampost::db::DbConn, usize, u64) -> Result<(), String> + Send + Sync + 'static,
{
    let work = Arc::new(work);
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    // Every connection open before the clock starts: opening 64 on a busy
    // machine can take longer than the pool's wait, and is no point read.
    let mut opened = Vec::with_capacity(connections.max(1));
    for _ in 0..connections.max(1) {
        match pool.get_timeout(Duration::from_secs(60)) {
            Ok(conn) => opened.push(conn),
            Err(e) => {
                errors.fetch_add(1, Ordering::Relaxed);
                first_error.lock().expect("not poisoned").get_or_insert(e.to_string());
            }
        }
    }
    let started = Instant::now();
    let deadline = started + duration;
    let handles: Vec<_> = opened
        .into_iter()
        .enumerate()
        .map(|(connection, mut conn)| {
            let (work, errors, first_error) = (work.clone(), errors.clone(), first_error.clone());
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut n = 0;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    let outcome = work(&mut conn, connection, n);
                    latencies.push(sent.elapsed().as_micros() as u32);
                    n += 1;
                    if let Err(e) = outcome {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error.lock().expect("not poisoned").get_or_insert(e);
                    }
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<u32> = handles.into_iter().flat_map(|h| h.join().expect("floor thread")).collect();
    let first_error = first_error.lock().expect("not poisoned").take();
    summarize(&mut latencies, started.elapsed().as_secs_f64(), errors.load(Ordering::Relaxed), first_error)
}

/// The figures of one phase from its latencies (µs).
fn summarize(latencies: &mut [u32], seconds: f64, errors: u64, first_error: Option<String>) -> Stats {
    latencies.sort_unstable();
    let at = |q: f64| latencies.get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1)).map_or(0.0, |&us| us as f64 / 1000.0);
    Stats {
        requests: latencies.len() as u64,
        errors,
        seconds,
        per_second: latencies.len() as f64 / seconds,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
        first_error,
    }
}

/// Sends one request and reads the whole answer; Err for anything but 2xx.
async fn send(client: &awc::Client, base: &str, request: Request) -> Result<(), String> {
    let mut builder = client.request(request.method, format!("{base}{}", request.path));
    if let Some(token) = &request.token {
        builder = builder.bearer_auth(token);
    }
    let response = match request.body {
        Some(body) => builder.content_type("application/json").send_body(body).await,
        None => builder.send().await,
    };
    let mut response = response.map_err(|e| format!("{} {}: {e}", "request", request.path))?;
    let body = response.body().limit(256 * 1024 * 1024).await.map_err(|e| format!("reading {}: {e}", request.path))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{} {}: {}", response.status(), request.path, String::from_utf8_lossy(&body[..body.len().min(400)])))
    }
}
