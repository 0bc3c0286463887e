//! OTLP/gRPC receiver (`TraceService/Export`), gzip accepted.

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use tonic::codec::CompressionEncoding;
use tonic::{Request, Response, Status};

use crate::Collector;

/// The gRPC trace service with compression and message limits applied.
pub fn trace_service(collector: Collector) -> TraceServiceServer<Collector> {
    let limit = collector.config.max_request_bytes;
    TraceServiceServer::new(collector)
        .accept_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(limit)
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        let _permit = self.admit().map_err(|e| e.grpc_status())?;
        match self.export_traces(request.into_inner()).await {
            Ok(r) => Ok(Response::new(r)),
            Err(e) => {
                if e.http_status().is_server_error() {
                    tracing::warn!(error = %e, "otlp/grpc export failed");
                }
                Err(e.grpc_status())
            }
        }
    }
}
