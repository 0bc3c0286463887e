//! `TableProvider` over a storage table: Parquet files from the catalog plus in-memory
//! batches, resolved at scan time from one consistent [`headroom_storage::Snapshot`].
//!
//! Time filters (`start_time >= …`, `<`, `BETWEEN`) prune files by their catalog time
//! range before any I/O; all filters also reach the Parquet scan as a pruning predicate
//! (row groups and pages by statistics, `trace_id` by bloom filter).

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::TableProvider;
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::logical_expr::utils::conjunction;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::union::UnionExec;
use headroom_storage::{Storage, Table};

/// The URL DataFusion knows the storage object store by.
pub const STORE_URL: &str = "headroom://storage";

/// A storage table as a DataFusion table.
#[derive(Debug)]
pub struct StorageTable {
    table: Table,
    storage: Storage,
    schema: SchemaRef,
}

impl StorageTable {
    pub fn new(table: Table, storage: Storage) -> Self {
        Self {
            schema: table.schema(),
            table,
            storage,
        }
    }
}

/// The `[from, to)` range (ns) on `column` implied by a conjunction of filters.
pub fn time_bounds(column: &str, filters: &[Expr]) -> (i64, i64) {
    let mut bounds = (i64::MIN, i64::MAX);
    for f in filters {
        narrow(column, f, &mut bounds);
    }
    bounds
}

fn literal_ns(e: &Expr) -> Option<i64> {
    match e {
        Expr::Literal(ScalarValue::TimestampNanosecond(Some(v), _), _) => Some(*v),
        Expr::Literal(ScalarValue::TimestampMicrosecond(Some(v), _), _) => v.checked_mul(1_000),
        Expr::Literal(ScalarValue::TimestampMillisecond(Some(v), _), _) => v.checked_mul(1_000_000),
        Expr::Literal(ScalarValue::TimestampSecond(Some(v), _), _) => v.checked_mul(1_000_000_000),
        Expr::Cast(c) => literal_ns(&c.expr),
        Expr::TryCast(c) => literal_ns(&c.expr),
        _ => None,
    }
}

fn is_column(e: &Expr, column: &str) -> bool {
    match e {
        Expr::Column(c) => c.name == column,
        Expr::Cast(c) => is_column(&c.expr, column),
        _ => false,
    }
}

fn narrow(column: &str, e: &Expr, b: &mut (i64, i64)) {
    match e {
        Expr::BinaryExpr(BinaryExpr {
            left,
            op: Operator::And,
            right,
        }) => {
            narrow(column, left, b);
            narrow(column, right, b);
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (op, v) = if is_column(left, column) {
                (*op, literal_ns(right))
            } else if is_column(right, column) {
                match op.swap() {
                    Some(op) => (op, literal_ns(left)),
                    None => return,
                }
            } else {
                return;
            };
            let Some(v) = v else { return };
            match op {
                Operator::GtEq => b.0 = b.0.max(v),
                Operator::Gt => b.0 = b.0.max(v.saturating_add(1)),
                Operator::Lt => b.1 = b.1.min(v),
                Operator::LtEq => b.1 = b.1.min(v.saturating_add(1)),
                Operator::Eq => {
                    b.0 = b.0.max(v);
                    b.1 = b.1.min(v.saturating_add(1));
                }
                _ => {}
            }
        }
        Expr::Between(between) if !between.negated && is_column(&between.expr, column) => {
            if let Some(lo) = literal_ns(&between.low) {
                b.0 = b.0.max(lo);
            }
            if let Some(hi) = literal_ns(&between.high) {
                b.1 = b.1.min(hi.saturating_add(1));
            }
        }
        _ => {}
    }
}

#[async_trait]
impl TableProvider for StorageTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let (from, to) = time_bounds(self.table.time_column(), filters);
        let snapshot = self.storage.snapshot(self.table, from, to);
        let mut plans: Vec<Arc<dyn ExecutionPlan>> = Vec::new();

        if !snapshot.files.is_empty() {
            let mut source = ParquetSource::new(Arc::clone(&self.schema));
            if let Some(predicate) = conjunction(filters.to_vec()) {
                let df_schema = DFSchema::try_from(Arc::clone(&self.schema))?;
                source = source.with_predicate(state.create_physical_expr(predicate, &df_schema)?);
            }
            let groups = state
                .config()
                .target_partitions()
                .max(1)
                .min(snapshot.files.len());
            let mut file_groups: Vec<Vec<PartitionedFile>> = vec![Vec::new(); groups];
            let mut files = snapshot.files;
            files.sort_by_key(|f| std::cmp::Reverse(f.bytes));
            let mut sizes = vec![0u64; groups];
            for f in files {
                // Largest first into the lightest group: balanced partitions.
                let i = (0..groups).min_by_key(|i| sizes[*i]).unwrap_or(0);
                sizes[i] += f.bytes;
                file_groups[i].push(PartitionedFile::new(f.path, f.bytes));
            }
            let config =
                FileScanConfigBuilder::new(ObjectStoreUrl::parse(STORE_URL)?, Arc::new(source))
                    .with_file_groups(file_groups.into_iter().map(FileGroup::new).collect())
                    .with_projection_indices(projection.cloned())?
                    .with_limit(limit)
                    .build();
            plans.push(DataSourceExec::from_data_source(config));
        }
        if !snapshot.batches.is_empty() {
            let parts = state
                .config()
                .target_partitions()
                .max(1)
                .min(snapshot.batches.len());
            let mut partitions = vec![Vec::new(); parts];
            for (i, b) in snapshot.batches.into_iter().enumerate() {
                partitions[i % parts].push(b);
            }
            plans.push(MemorySourceConfig::try_new_exec(
                &partitions,
                Arc::clone(&self.schema),
                projection.cloned(),
            )?);
        }
        match plans.len() {
            0 => {
                let schema = match projection {
                    Some(p) => Arc::new(self.schema.project(p)?),
                    None => Arc::clone(&self.schema),
                };
                Ok(Arc::new(EmptyExec::new(schema)))
            }
            _ => UnionExec::try_new(plans),
        }
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::{col, lit};

    use super::*;

    fn ts(v: i64) -> Expr {
        lit(ScalarValue::TimestampNanosecond(
            Some(v),
            Some("UTC".into()),
        ))
    }

    #[test]
    fn bounds_from_comparisons_between_and_swapped() {
        let f = vec![
            col("start_time")
                .gt_eq(ts(10))
                .and(col("start_time").lt(ts(20))),
        ];
        assert_eq!(time_bounds("start_time", &f), (10, 20));
        let f = vec![
            ts(15).lt_eq(col("start_time")),
            col("start_time").between(ts(0), ts(30)),
        ];
        assert_eq!(time_bounds("start_time", &f), (15, 31));
        let f = vec![col("start_time").gt(ts(5)).or(col("start_time").lt(ts(1)))];
        assert_eq!(time_bounds("start_time", &f), (i64::MIN, i64::MAX));
        let f = vec![col("end_time").gt(ts(5))];
        assert_eq!(time_bounds("start_time", &f), (i64::MIN, i64::MAX));
    }
}
