//! Bad requests get the right 4xx with a message; the server keeps serving and requests
//! in flight at the same time are stored.

use std::io::Write;
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use tonic::codec::CompressionEncoding;

use crate::otlp_rust::{Transport, export, workload};
use crate::server::Server;

async fn post(
    server: &Server,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (u16, String) {
    post_to(server, "/v1/traces", content_type, encoding, body).await
}

/// POSTs `body` to an OTLP/HTTP `path`; returns the status and the body as text.
pub(crate) async fn post_to(
    server: &Server,
    path: &str,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", server.otlp_http))
        .header("content-type", content_type)
        .body(body);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (
        status,
        String::from_utf8_lossy(&resp.bytes().await.expect("body")).into_owned(),
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).expect("compress");
    enc.finish().expect("finish")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_otlp_http_requests_get_4xx_and_good_ones_still_land() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(
        &dir.path().join("data"),
        &[("HEADROOM_COLLECTOR__MAX_REQUEST_BYTES", "1048576")],
    );
    let base = SystemTime::now() - Duration::from_secs(120);
    let good = workload(5, 600, base);

    let bad = async {
        // (what, content type, content encoding, body, expected status, message fragment)
        type Case<'a> = (&'a str, &'a str, Option<&'a str>, Vec<u8>, u16, &'a str);
        let cases: Vec<Case> = vec![
            (
                "malformed protobuf",
                "application/x-protobuf",
                None,
                vec![0x0a, 0xff, 0xff, 0xff, 0xff],
                400,
                "",
            ),
            (
                "bad json",
                "application/json",
                None,
                b"{\"resourceSpans\": [".to_vec(),
                400,
                "malformed json",
            ),
            (
                "bad json ids",
                "application/json",
                None,
                br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz"}]}]}]}"#.to_vec(),
                400,
                "malformed json",
            ),
            (
                "wrong content type",
                "text/plain",
                None,
                b"hello".to_vec(),
                415,
                "unsupported content type",
            ),
            (
                "unknown encoding",
                "application/json",
                Some("br"),
                b"{}".to_vec(),
                415,
                "content encoding",
            ),
            (
                "oversized",
                "application/json",
                None,
                vec![b' '; 2 << 20],
                413,
                "exceeds",
            ),
            (
                "gzip bomb",
                "application/json",
                Some("gzip"),
                gzip(&vec![b' '; 64 << 20]),
                413,
                "exceeds",
            ),
            (
                "broken gzip",
                "application/json",
                Some("gzip"),
                b"\x1f\x8b not really".to_vec(),
                400,
                "gzip",
            ),
        ];
        for (what, ct, enc, body, want, msg) in cases {
            let (status, text) = post(&server, ct, enc, body).await;
            assert_eq!(status, want, "{what}: {text}");
            assert!(text.contains(msg), "{what}: message {text:?} lacks {msg:?}");
            let health = reqwest::get(format!("{}/healthz", server.api))
                .await
                .expect("healthz");
            assert_eq!(health.status(), 200, "after {what}");
        }
    };
    // Good traffic in flight at the same time as the bad requests.
    tokio::join!(bad, export(&server, Transport::Http, &good));
    assert_eq!(
        server.sql_i64("SELECT count(*) FROM spans").await,
        good.len() as i64
    );

    // Partial success: one bad span among good ones is reported, the rest stored.
    let body = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"partial"}}]},
        "scopeSpans":[{"spans":[
          {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"ok","kind":"SPAN_KIND_SERVER",
           "startTimeUnixNano":"1763856000000000000","endTimeUnixNano":"1763856000100000000"},
          {"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"0000000000000000","name":"zero id",
           "startTimeUnixNano":"1763856000000000000","endTimeUnixNano":"1763856000100000000"}]}]}]}"#;
    let (status, text) = post(&server, "application/json", None, body.to_vec()).await;
    assert_eq!(status, 200, "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    // int64 fields: OTLP/JSON decoders accept a number or a decimal string.
    let rejected = &v["partialSuccess"]["rejectedSpans"];
    assert!(rejected == 1 || rejected == "1", "{text}");
    assert!(
        v["partialSuccess"]["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("span_id"),
        "{text}"
    );
    assert_eq!(
        server
            .sql_i64("SELECT count(*) FROM spans WHERE service_name = 'partial'")
            .await,
        1
    );

    // gRPC: a gzip bomb (a tiny compressed message that inflates past the limit) is refused
    // with RESOURCE_EXHAUSTED; a normal gzip export on the same server still lands.
    let mut client = TraceServiceClient::connect(server.grpc.clone())
        .await
        .expect("connect")
        .send_compressed(CompressionEncoding::Gzip);
    let huge = KeyValue {
        key: "blob".into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(" ".repeat(4 << 20))),
        }),
        ..Default::default()
    };
    let bomb = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![huge],
                ..Default::default()
            }),
            ..Default::default()
        }],
    };
    let status = client.export(bomb).await.expect_err("bomb refused");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status}");
    let before = server.sql_i64("SELECT count(*) FROM spans").await;
    export(&server, Transport::Grpc, &workload(6, 50, base)).await;
    assert!(server.sql_i64("SELECT count(*) FROM spans").await > before);

    // Read-only SQL.
    for (sql, want) in [
        ("CREATE TABLE t AS SELECT 1", 400),
        (
            "COPY (SELECT 1) TO '/tmp/headroom-should-not-exist.csv'",
            400,
        ),
        (
            "CREATE EXTERNAL TABLE x STORED AS PARQUET LOCATION '/tmp'",
            400,
        ),
        ("INSERT INTO spans SELECT * FROM spans", 400),
        ("SELEC 1", 400),
        ("SELECT 1; SELECT 2", 400),
        ("SELECT no_such_column FROM spans", 400),
    ] {
        let (status, v) = server.sql(sql).await;
        assert_eq!(status, want, "{sql}: {v}");
        assert!(
            v["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{sql}: {v}"
        );
    }
    assert!(!std::path::Path::new("/tmp/headroom-should-not-exist.csv").exists());
    let (status, v) = server
        .sql("SELECT span_kind, count(*) AS n FROM spans GROUP BY span_kind ORDER BY span_kind")
        .await;
    assert_eq!(status, 200);
    assert_eq!(v["columns"][0]["name"], "span_kind");
    assert_eq!(v["columns"][1]["type"], "Int64");

    // Arrow IPC stream on request: a continuation marker, then the schema message.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/sql", server.api))
        .header("accept", "application/vnd.apache.arrow.stream")
        .json(&serde_json::json!({"sql": "SELECT service_name FROM spans LIMIT 3"}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.apache.arrow.stream"
    );
    let body = resp.bytes().await.expect("body");
    assert_eq!(&body[..4], &[0xff; 4], "IPC continuation marker");
    assert!(
        body.windows(12).any(|w| w == b"service_name"),
        "schema names the column"
    );
    server.stop();
}
