//! OTLP/gRPC receivers (`TraceService`, `LogsService`, `MetricsService` `Export`), gzip
//! accepted. All three share [`Collector::export`].

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::Collector;
use crate::ingest::Signal;

/// The gRPC trace service with compression and message limits applied.
pub fn trace_service(collector: Collector) -> TraceServiceServer<Collector> {
    let limit = collector.config.max_request_bytes;
    TraceServiceServer::new(collector)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit)
}

/// The gRPC logs service with compression and message limits applied.
pub fn logs_service(collector: Collector) -> LogsServiceServer<Collector> {
    let limit = collector.config.max_request_bytes;
    LogsServiceServer::new(collector)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit)
}

/// The gRPC metrics service with compression and message limits applied.
pub fn metrics_service(collector: Collector) -> MetricsServiceServer<Collector> {
    let limit = collector.config.max_request_bytes;
    MetricsServiceServer::new(collector)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit)
}

async fn export<S: Signal>(
    collector: &Collector,
    request: Request<S>,
) -> Result<Response<S::Response>, Status> {
    let _permit = collector.admit().map_err(|e| e.grpc_status())?;
    match collector.export(request.into_inner()).await {
        Ok(r) => Ok(Response::new(r)),
        Err(e) => {
            if e.http_status().is_server_error() {
                tracing::warn!(error = %e, table = S::TABLE.name(), "otlp/grpc export failed");
            }
            Err(e.grpc_status())
        }
    }
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        export(self, request).await
    }
}

#[tonic::async_trait]
impl LogsService for Collector {
    async fn export(
        &self,
        request: Request<ExportLogsServiceRequest>,
    ) -> Result<Response<ExportLogsServiceResponse>, Status> {
        export(self, request).await
    }
}

#[tonic::async_trait]
impl MetricsService for Collector {
    async fn export(
        &self,
        request: Request<ExportMetricsServiceRequest>,
    ) -> Result<Response<ExportMetricsServiceResponse>, Status> {
        export(self, request).await
    }
}
