//! Starting, stopping and killing `headroom serve` processes for tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// A running `headroom serve` child process.
pub(crate) struct Server {
    child: Child,
    pub api: String,
    pub grpc: String,
    pub otlp_http: String,
    log: PathBuf,
}

impl Server {
    /// Starts a server on free ports over `data_dir`; returns once it listens.
    pub(crate) fn start(data_dir: &Path, env: &[(&str, &str)]) -> Server {
        std::fs::create_dir_all(data_dir).expect("create data dir");
        let log = data_dir.with_extension("log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_headroom"));
        cmd.arg("serve")
            .env("HEADROOM_DATA_DIR", data_dir)
            .env("HEADROOM_HTTP_ADDR", "127.0.0.1:0")
            .env("HEADROOM_OTLP_GRPC_ADDR", "127.0.0.1:0")
            .env("HEADROOM_OTLP_HTTP_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(log_file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn headroom");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_default();
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|_| {
            panic!(
                "server did not start; log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        let addr = |k: &str| v["listening"][k].as_str().expect("address").to_string();
        Server {
            api: format!("http://{}", addr("http")),
            grpc: format!("http://{}", addr("otlp_grpc")),
            otlp_http: format!("http://{}", addr("otlp_http")),
            child,
            log,
        }
    }

    /// SIGKILL: no shutdown, no flush.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("wait");
    }

    /// SIGTERM and wait for an orderly exit.
    pub(crate) fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait");
        assert!(
            status.success(),
            "server exited with {status}; log:\n{}",
            self.log_text()
        );
    }

    #[allow(dead_code)] // used by benches/ingest.rs
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET an API path; panics unless the status is 200.
    pub(crate) async fn get(&self, path: &str) -> Value {
        let resp = reqwest::get(format!("{}{path}", self.api))
            .await
            .expect("request");
        let status = resp.status();
        let body = resp.text().await.expect("body");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("json")
    }

    /// GET an API path; returns (status, body as JSON).
    pub(crate) async fn get_status(&self, path: &str) -> (u16, Value) {
        let resp = reqwest::get(format!("{}{path}", self.api))
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json body"))
    }

    /// POST /api/v1/sql; returns (status, body).
    pub(crate) async fn sql(&self, sql: &str) -> (u16, Value) {
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/sql", self.api))
            .json(&serde_json::json!({ "sql": sql }))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json"))
    }

    /// A single number from a SQL query.
    pub(crate) async fn sql_i64(&self, sql: &str) -> i64 {
        let (status, v) = self.sql(sql).await;
        assert_eq!(status, 200, "{sql}: {v}");
        v["rows"][0][0]
            .as_i64()
            .unwrap_or_else(|| panic!("{sql}: {v}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
