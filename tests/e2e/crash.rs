//! SIGKILL right after acknowledgement: after restart every acknowledged
//! span, log record and metric point is queryable exactly once, whether it was in Parquet, in
//! the WAL, or replayed and unflushed.

use std::time::{Duration, SystemTime};

use crate::otlp_rust::{Transport, export, workload};
use crate::server::Server;
use crate::signals::send_acked_logs_and_points;

/// (spans, distinct span ids, log records, distinct bodies, metric points, distinct routes).
async fn counts(server: &Server) -> [i64; 6] {
    [
        server.sql_i64("SELECT count(*) FROM spans").await,
        server
            .sql_i64("SELECT count(DISTINCT span_id) FROM spans")
            .await,
        server.sql_i64("SELECT count(*) FROM logs").await,
        server
            .sql_i64("SELECT count(DISTINCT body) FROM logs")
            .await,
        server.sql_i64("SELECT count(*) FROM metrics").await,
        server
            .sql_i64("SELECT count(DISTINCT attributes['route']) FROM metrics")
            .await,
    ]
}

fn expect(spans: i64, others: i64) -> [i64; 6] {
    [spans, spans, others, others, others, others]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_after_ack_loses_nothing_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let env = [("HEADROOM_STORAGE__MEMTABLE__FLUSH_INTERVAL", "1s")];
    let base = SystemTime::now() - Duration::from_secs(300);

    // Round 1: some data reaches Parquet (flush after 1 s), more stays in the WAL only.
    let server = Server::start(&data, &env);
    let flushed = workload(1, 1_500, base);
    export(&server, Transport::Grpc, &flushed).await;
    send_acked_logs_and_points(&server, 1, 1_000).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while server.get("/api/v1/services?from=now-1h").await["services"]
        .as_array()
        .map_or(0, |a| a.len())
        == 0
        || !has_parquet(&data)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no parquet file after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let unflushed = workload(2, 1_500, base);
    export(&server, Transport::Http, &unflushed).await;
    send_acked_logs_and_points(&server, 2, 500).await;
    server.kill();

    let sent = (flushed.len() + unflushed.len()) as i64;
    let mut others = 1_500;
    let server = Server::start(
        &data,
        &[("HEADROOM_STORAGE__MEMTABLE__FLUSH_INTERVAL", "1h")],
    );
    assert_eq!(
        counts(&server).await,
        expect(sent, others),
        "after first SIGKILL"
    );

    // Round 2: killed again while the replayed rows are still only in memory + WAL.
    let more = workload(3, 500, base);
    export(&server, Transport::Grpc, &more).await;
    send_acked_logs_and_points(&server, 3, 300).await;
    others += 300;
    server.kill();
    let sent = sent + more.len() as i64;
    let server = Server::start(&data, &[]);
    assert_eq!(
        counts(&server).await,
        expect(sent, others),
        "after second SIGKILL"
    );

    // A clean stop flushes everything; the next start reads it from Parquet alone.
    server.stop();
    let server = Server::start(&data, &[]);
    let log = server.log_text();
    let last_replay = log
        .lines()
        .rfind(|l| l.contains("wal replayed"))
        .unwrap_or_default();
    assert!(
        last_replay.contains("rows=0"),
        "clean shutdown leaves nothing to replay: {last_replay}"
    );
    assert_eq!(
        counts(&server).await,
        expect(sent, others),
        "after clean restart"
    );
}

fn has_parquet(dir: &std::path::Path) -> bool {
    fn walk(p: &std::path::Path) -> bool {
        std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| {
                let path = e.path();
                if path.is_dir() {
                    walk(&path)
                } else {
                    path.extension().is_some_and(|x| x == "parquet")
                }
            })
    }
    walk(dir)
}
