//! The query engine: one DataFusion `SessionContext` over storage tables, run on a
//! dedicated Tokio runtime so query CPU never stalls the ingest and HTTP runtime.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::RecordBatch;
use datafusion::common::ScalarValue;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use headroom_storage::{Storage, Table};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::sketch;
use crate::table::{STORE_URL, StorageTable};

/// `[query]` in `headroom.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueryConfig {
    /// Threads of the query runtime; 0 means one per CPU core. Default 0.
    pub threads: usize,
    /// Longest a query may run, e.g. `"30s"`. Default 30 s.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// Most rows `POST /api/v1/sql` returns; larger results are truncated. Default 10 000.
    pub max_rows: usize,
    /// Memory all running queries may use for sorts, joins and aggregations, in bytes;
    /// a query that needs more fails (HTTP 503) instead of growing the process. Default 2 GiB.
    pub memory_limit: usize,
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            threads: 0,
            timeout: Duration::from_secs(30),
            max_rows: 10_000,
            memory_limit: 2 << 30,
        }
    }
}

/// A Tokio runtime that is shut down without blocking when dropped (it may be dropped
/// from async code).
struct DedicatedRuntime(Option<tokio::runtime::Runtime>);

impl Drop for DedicatedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Runs SQL over Headroom's tables.
pub struct QueryEngine {
    ctx: SessionContext,
    runtime: DedicatedRuntime,
    config: QueryConfig,
}

impl std::fmt::Debug for QueryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryEngine")
            .field("config", &self.config)
            .finish()
    }
}

impl QueryEngine {
    /// Builds the session, registers every storage table and Headroom's functions.
    pub fn new(storage: Storage, config: QueryConfig) -> Result<Self> {
        let threads = if config.threads == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            config.threads
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("headroom-query")
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("starting the query runtime: {e}")))?;
        let session = SessionConfig::new()
            .with_target_partitions(threads)
            .with_information_schema(true)
            // Row-level pushdown slows whole-range dashboard scans (see docs/architecture.md);
            // statistics and bloom-filter pruning work without it.
            .set_bool("datafusion.execution.parquet.pushdown_filters", false);
        let runtime_env = datafusion::execution::runtime_env::RuntimeEnvBuilder::new()
            .with_memory_limit(config.memory_limit, 1.0)
            .build_arc()?;
        let ctx = SessionContext::new_with_config_rt(session, runtime_env);
        let url = ObjectStoreUrl::parse(STORE_URL)?;
        ctx.register_object_store(url.as_ref(), storage.data_store().object_store());
        for table in Table::ALL {
            ctx.register_table(
                table.name(),
                Arc::new(StorageTable::new(table, storage.clone())),
            )?;
        }
        ctx.register_udaf(sketch::dd_sketch());
        ctx.register_udf(sketch::sketch_quantile());
        Ok(Self {
            ctx,
            runtime: DedicatedRuntime(Some(runtime)),
            config,
        })
    }

    pub fn config(&self) -> &QueryConfig {
        &self.config
    }

    /// The session, for callers that need the planner (tests, sqllogictest).
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }

    /// Runs trusted SQL (built by Headroom) with `$1, $2, …` parameters.
    pub async fn query(&self, sql: &str, params: Vec<ScalarValue>) -> Result<Vec<RecordBatch>> {
        self.run(sql.to_string(), params, None, false)
            .await
            .map(|(b, _)| b)
    }

    /// Runs user SQL read-only: DDL, DML (including `COPY`) and other statements are
    /// refused. Returns at most `max_rows` rows and whether more existed.
    pub async fn user_query(&self, sql: &str) -> Result<(Vec<RecordBatch>, bool)> {
        check_single_statement(sql)?;
        self.run(sql.to_string(), vec![], Some(self.config.max_rows), true)
            .await
    }

    async fn run(
        &self,
        sql: String,
        params: Vec<ScalarValue>,
        max_rows: Option<usize>,
        read_only: bool,
    ) -> Result<(Vec<RecordBatch>, bool)> {
        let ctx = self.ctx.clone();
        let handle = self
            .runtime
            .0
            .as_ref()
            .ok_or_else(|| Error::Internal("query runtime stopped".into()))?
            .handle()
            .clone();
        let task = handle.spawn(async move {
            let options = datafusion::execution::context::SQLOptions::new()
                .with_allow_ddl(!read_only)
                .with_allow_dml(!read_only)
                .with_allow_statements(!read_only);
            let mut df = ctx.sql_with_options(&sql, options).await?;
            if !params.is_empty() {
                df = df.with_param_values(params)?;
            }
            if let Some(n) = max_rows {
                df = df.limit(0, Some(n + 1))?;
            }
            let batches = df.collect().await?;
            let total: usize = batches.iter().map(|b| b.num_rows()).sum();
            let truncated = max_rows.is_some_and(|n| total > n);
            let batches = match max_rows {
                Some(n) if truncated => truncate(batches, n),
                _ => batches,
            };
            Ok::<_, Error>((batches, truncated))
        });
        let abort = task.abort_handle();
        match tokio::time::timeout(self.config.timeout, task).await {
            Ok(joined) => joined.map_err(|e| Error::Internal(format!("query task: {e}")))?,
            Err(_) => {
                abort.abort();
                Err(Error::Timeout(self.config.timeout))
            }
        }
    }
}

fn truncate(batches: Vec<RecordBatch>, mut n: usize) -> Vec<RecordBatch> {
    let mut out = Vec::new();
    for b in batches {
        if n == 0 {
            break;
        }
        let take = b.num_rows().min(n);
        out.push(b.slice(0, take));
        n -= take;
    }
    out
}

/// Refuses multiple statements in one request: one statement, one result.
fn check_single_statement(sql: &str) -> Result<()> {
    let statements = datafusion::sql::sqlparser::parser::Parser::parse_sql(&GenericDialect {}, sql)
        .map_err(|e| Error::BadRequest(format!("SQL syntax error: {e}")))?;
    match statements.len() {
        1 => Ok(()),
        0 => Err(Error::BadRequest("empty SQL".into())),
        n => Err(Error::BadRequest(format!(
            "one statement per request, got {n}"
        ))),
    }
}
