//! # headroom
//!
//! The `headroom` binary's wiring: configuration, the three listeners (OTLP/gRPC,
//! OTLP/HTTP, API), and ordered start-up and shutdown of storage, collector and query.
//! Everything else lives in the crates: `headroom-storage`, `headroom-collector`,
//! `headroom-query`, `headroom-alerts`, `headroom-ui`.

pub mod cli;
pub mod config;
pub mod demo;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use headroom_collector::Collector;
use headroom_query::QueryEngine;
use headroom_storage::Storage;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

pub use config::Config;

/// Logs to stderr; `RUST_LOG` filters (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
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
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// The addresses the server actually listens on (port 0 resolved).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Bound {
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub http: SocketAddr,
}

async fn bind(addr: SocketAddr, what: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the {what} listener to {addr}"))
}

/// Health and readiness routes.
fn health_router(storage: Storage) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(|State(s): State<Storage>| async move {
                if s.is_ready() {
                    (StatusCode::OK, "ready\n")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                }
            }),
        )
        .with_state(storage)
}

/// Runs the whole server until `shutdown` is cancelled, then stops in order: stop
/// accepting, drain in-flight requests, flush storage.
pub async fn run(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    run_notify(config, shutdown, None).await
}

/// [`run`], sending the bound addresses to `listening` once the listeners are bound (for
/// callers that start the server on port 0, or talk to it from the same process).
pub async fn run_notify(
    config: Config,
    shutdown: CancellationToken,
    listening: Option<oneshot::Sender<Bound>>,
) -> anyhow::Result<()> {
    let storage = Storage::open(config.storage.clone())
        .await
        .context("opening storage")?;
    let collector = Collector::new(storage.clone(), config.collector.clone());
    let engine = Arc::new(
        QueryEngine::new(storage.clone(), config.query.clone())
            .context("starting the query engine")?,
    );

    let grpc_listener = bind(config.collector.grpc_addr, "OTLP/gRPC").await?;
    let otlp_http_listener = bind(config.collector.http_addr, "OTLP/HTTP").await?;
    let http_listener = bind(config.http.addr, "API").await?;
    let bound = Bound {
        otlp_grpc: grpc_listener.local_addr()?,
        otlp_http: otlp_http_listener.local_addr()?,
        http: http_listener.local_addr()?,
    };
    info!(otlp_grpc = %bound.otlp_grpc, otlp_http = %bound.otlp_http, http = %bound.http, data_dir = %config.storage.data_dir.display(), "headroom listening");
    // One machine-readable line on stdout for scripts and tests.
    println!("{}", serde_json::json!({ "listening": bound }));
    if let Some(tx) = listening {
        let _ = tx.send(bound);
    }

    let grpc = tonic::transport::Server::builder()
        .add_service(headroom_collector::grpc::trace_service(collector.clone()))
        .add_service(headroom_collector::grpc::logs_service(collector.clone()))
        .add_service(headroom_collector::grpc::metrics_service(collector.clone()))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(grpc_listener),
            shutdown.clone().cancelled_owned(),
        );
    let otlp_http = axum::serve(
        otlp_http_listener,
        headroom_collector::http::router(collector.clone()),
    )
    .with_graceful_shutdown(shutdown.clone().cancelled_owned());
    let api = axum::serve(
        http_listener,
        headroom_query::http::router(Arc::clone(&engine))
            .merge(health_router(storage.clone()))
            .merge(headroom_ui::server::router(
                Arc::clone(&engine),
                &headroom_ui::server::UiConfig {
                    site_dir: config.ui.resolved_site_dir(),
                    dashboards_dir: config.storage.data_dir.join("dashboards"),
                },
            )),
    )
    .with_graceful_shutdown(shutdown.clone().cancelled_owned());

    let mut servers = tokio::task::JoinSet::new();
    servers.spawn(async move { grpc.await.context("OTLP/gRPC server") });
    servers.spawn(async move { otlp_http.await.context("OTLP/HTTP server") });
    servers.spawn(async move { api.await.context("API server") });

    // Run until asked to stop or a server fails.
    let mut failure = None;
    tokio::select! {
        _ = shutdown.cancelled() => {}
        Some(res) = servers.join_next() => {
            failure = res.map_err(anyhow::Error::from).and_then(|r| r).err();
            shutdown.cancel();
        }
    }
    info!("shutting down: draining requests");
    let timeout = config.http.shutdown_timeout;
    if tokio::time::timeout(timeout, async {
        while servers.join_next().await.is_some() {}
    })
    .await
    .is_err()
    {
        warn!(?timeout, "servers did not drain in time");
        servers.abort_all();
    }
    info!("flushing storage");
    if tokio::time::timeout(timeout, storage.shutdown())
        .await
        .is_err()
    {
        warn!("storage flush timed out; the WAL is replayed at next start");
    }
    info!("stopped");
    match failure {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// How long the demo may take to stop (finish its in-flight exports) at shutdown.
const DEMO_STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// [`run`] with demo traffic (`headroom serve --demo`): the demo sends to the server's own
/// OTLP/gRPC address and asks its API where demo history ends. It runs on its own small
/// runtime, so generating and compressing telemetry never stalls the server's I/O. A demo
/// failure is logged and the server keeps running. At shutdown the demo stops first
/// (its in-flight exports finish), then the server stops in order.
pub async fn run_with_demo(
    config: Config,
    mut opts: demo::DemoOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let server_stop = CancellationToken::new();
    // A child: a server that stops on its own (a listener failed) stops the demo too.
    let demo_stop = server_stop.child_token();
    let (listening, bound) = oneshot::channel::<Bound>();
    let runtime = DemoRuntime::new()?;
    let mut demo_task = runtime.spawn({
        let demo_stop = demo_stop.clone();
        async move {
            let bound = tokio::select! {
                bound = bound => match bound {
                    Ok(b) => b,
                    Err(_) => return, // the server failed before listening
                },
                _ = demo_stop.cancelled() => return,
            };
            opts.endpoint = format!("http://{}", bound.otlp_grpc);
            let result = async {
                opts.resume_after_ns =
                    demo::resume_point(&format!("http://{}", bound.http)).await?;
                demo::run(opts, demo_stop).await
            };
            match result.await {
                Ok(report) => info!(report = %serde_json::json!(report), "demo traffic stopped"),
                Err(e) => error!(
                    error = format!("{e:#}"),
                    "demo traffic failed; the server keeps running"
                ),
            }
        }
    });
    let supervise = async {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = server_stop.cancelled() => {}
        }
        demo_stop.cancel();
        if tokio::time::timeout(DEMO_STOP_TIMEOUT, &mut demo_task)
            .await
            .is_err()
        {
            warn!(timeout = ?DEMO_STOP_TIMEOUT, "demo did not stop in time; aborting it");
            demo_task.abort();
        }
        server_stop.cancel();
    };
    let (result, ()) = tokio::join!(
        run_notify(config, server_stop.clone(), Some(listening)),
        supervise
    );
    result
}

/// The demo's own Tokio runtime, shut down without blocking when dropped (from async code).
struct DemoRuntime {
    handle: tokio::runtime::Handle,
    runtime: Option<tokio::runtime::Runtime>,
}

impl DemoRuntime {
    fn new() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("headroom-demo")
            .enable_all()
            .build()
            .context("starting the demo runtime")?;
        Ok(Self {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        })
    }

    fn spawn(
        &self,
        task: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        self.handle.spawn(task)
    }
}

impl Drop for DemoRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}
