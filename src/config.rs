//! The whole configuration: defaults < TOML file < `HEADROOM_*` environment variables.
//!
//! Environment variables: `HEADROOM_SECTION__KEY=value` sets `[section] key` (nested keys
//! joined by `__`, e.g. `HEADROOM_STORAGE__WAL__FSYNC=never`); values are parsed as TOML
//! and fall back to strings. Short aliases: `HEADROOM_OTLP_GRPC_ADDR`,
//! `HEADROOM_OTLP_HTTP_ADDR`, `HEADROOM_HTTP_ADDR`, `HEADROOM_DATA_DIR`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use headroom_collector::CollectorConfig;
use headroom_query::QueryConfig;
use headroom_storage::StorageConfig;
use serde::{Deserialize, Serialize};

/// `headroom.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `[http]`: the API and web UI server.
    pub http: HttpConfig,
    /// `[collector]`: OTLP receivers.
    pub collector: CollectorConfig,
    /// `[storage]`: WAL, memtable, Parquet files.
    pub storage: StorageConfig,
    /// `[query]`: the query engine.
    pub query: QueryConfig,
    /// `[ui]`: the web UI.
    pub ui: UiSection,
}

/// `[ui]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UiSection {
    /// Directory holding the UI's wasm bundle in `pkg/` (built by `./headroom.sh`). Empty
    /// (default): `site/` in the parent of the executable's directory, which is
    /// `target/site` for `target/release/headroom`.
    pub site_dir: PathBuf,
}

impl UiSection {
    /// The site directory to serve from.
    pub fn resolved_site_dir(&self) -> PathBuf {
        if !self.site_dir.as_os_str().is_empty() {
            return self.site_dir.clone();
        }
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("site")))
            .unwrap_or_else(|| PathBuf::from("target/site"))
    }
}

/// `[http]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// API listen address. Default `127.0.0.1:8080`; port 0 picks a free port.
    pub addr: SocketAddr,
    /// How long shutdown waits for in-flight requests and the final flush. Default 30 s.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

const ALIASES: &[(&str, &str)] = &[
    ("HEADROOM_OTLP_GRPC_ADDR", "collector.grpc_addr"),
    ("HEADROOM_OTLP_HTTP_ADDR", "collector.http_addr"),
    ("HEADROOM_HTTP_ADDR", "http.addr"),
    ("HEADROOM_DATA_DIR", "storage.data_dir"),
];

impl Config {
    /// Loads the configuration from an optional file and the given environment.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Config> {
        let mut tree = toml::Table::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            tree = text
                .parse::<toml::Table>()
                .with_context(|| format!("parsing config file {}", path.display()))?;
        }
        for (key, value) in env {
            let Some(rest) = key.strip_prefix("HEADROOM_") else {
                continue;
            };
            let path = match ALIASES.iter().find(|(k, _)| *k == key) {
                Some((_, p)) => p.to_string(),
                None if rest.contains("__") => rest.to_ascii_lowercase().replace("__", "."),
                None => continue,
            };
            set(&mut tree, &path, &value)
                .with_context(|| format!("applying environment variable {key}"))?;
        }
        let config: Config = toml::Value::Table(tree)
            .try_into()
            .context("invalid configuration")?;
        config.storage.validate().context("invalid configuration")?;
        if config.collector.max_request_bytes == 0 {
            bail!("invalid configuration: collector.max_request_bytes must be positive");
        }
        Ok(config)
    }
}

fn set(tree: &mut toml::Table, path: &str, raw: &str) -> anyhow::Result<()> {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap_or_default();
    let mut node = tree;
    for p in parts {
        node = node
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .with_context(|| format!("{p} is not a section"))?;
    }
    let value = format!("v = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()));
    node.insert(last.to_string(), value);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn example_file_loads_and_lists_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
        let c = Config::load(Some(&path), vec![]).expect("example config loads");
        assert_eq!(c.http.addr.port(), 8080);
        assert_eq!(c.collector.grpc_addr.port(), 4317);
        // The example documents every key: serializing the defaults yields the same keys.
        let example: toml::Table = std::fs::read_to_string(&path)
            .expect("read")
            .parse()
            .expect("toml");
        let defaults: toml::Table = toml::Value::try_from(Config::default())
            .expect("ser")
            .try_into()
            .expect("table");
        assert_eq!(keys(&example, ""), keys(&defaults, ""));
    }

    fn keys(t: &toml::Table, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in t {
            let name = format!("{prefix}{k}");
            match v.as_table() {
                Some(inner) => out.extend(keys(inner, &format!("{name}."))),
                None => out.push(name),
            }
        }
        out.sort();
        out
    }

    #[test]
    fn env_overrides_file_and_aliases_work() {
        let c = Config::load(
            None,
            env(&[
                ("HEADROOM_OTLP_GRPC_ADDR", "127.0.0.1:0"),
                ("HEADROOM_HTTP_ADDR", "0.0.0.0:9000"),
                ("HEADROOM_DATA_DIR", "/tmp/x y"),
                ("HEADROOM_STORAGE__WAL__FSYNC", "never"),
                ("HEADROOM_STORAGE__MEMTABLE__FLUSH_INTERVAL", "5s"),
                ("HEADROOM_COLLECTOR__MAX_REQUEST_BYTES", "1024"),
                ("PATH", "/bin"),
            ]),
        )
        .expect("loads");
        assert_eq!(c.collector.grpc_addr.port(), 0);
        assert_eq!(c.http.addr.to_string(), "0.0.0.0:9000");
        assert_eq!(c.storage.data_dir, Path::new("/tmp/x y"));
        assert_eq!(c.storage.wal.fsync, headroom_storage::FsyncPolicy::Never);
        assert_eq!(c.storage.memtable.flush_interval, Duration::from_secs(5));
        assert_eq!(c.collector.max_request_bytes, 1024);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(Config::load(None, env(&[("HEADROOM_STORAGE__NOPE", "1")])).is_err());
        assert!(Config::load(None, env(&[("HEADROOM_HTTP_ADDR", "not an address")])).is_err());
        assert!(
            Config::load(None, env(&[("HEADROOM_STORAGE__WAL__QUEUE_CAPACITY", "0")])).is_err()
        );
    }
}
