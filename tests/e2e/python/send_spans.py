#!/usr/bin/env python3
"""Send a planned tree of spans to an OTLP endpoint with the real OpenTelemetry Python SDK.

Headroom's Rust end-to-end tests run this script (with the project venv's
python, ``$HEADROOM_PYTHON``) so that ingestion is exercised by a genuine
third-party OTLP client rather than by our own encoder.

Usage::

    python send_spans.py --endpoint http://127.0.0.1:4317 --protocol grpc < plan.json
    python send_spans.py --endpoint http://127.0.0.1:4318 --protocol http < plan.json

The plan is read from stdin::

    {"spans": [{"service": "checkout", "name": "POST /cart", "kind": "SERVER",
                "start_ns": 1732320000000000000, "duration_ns": 12345678,
                "error": false, "attributes": {"feature": "checkout"},
                "children": [ ...same shape, nested... ]}]}

Each top-level entry becomes the root span of a new trace; ``children`` become
child spans of the enclosing span in the same trace and may belong to another
service.  ``kind`` is SERVER, CLIENT, INTERNAL, PRODUCER or CONSUMER (default
INTERNAL); ``error`` (default false) sets the status to ERROR ("boom"),
otherwise the status stays UNSET; ``attributes`` and ``children`` are optional.

There is one TracerProvider per distinct service (Resource ``service.name``),
each with a BatchSpanProcessor (max_export_batch_size 512) around the OTLP
exporter for the chosen protocol (gRPC: ``endpoint`` as given, insecure; HTTP:
``endpoint + "/v1/traces"``).  Every exporter is wrapped to record the result
of each export call, because the SDK only logs failed exports.

Output on success (exit 0): one JSON object on stdout listing every span sent,
in plan order (depth first)::

    {"spans": [{"trace_id": "<32 hex>", "span_id": "<16 hex>",
                "parent_span_id": "<16 hex or empty>", "service": "checkout",
                "name": "POST /cart", "kind": "SERVER",
                "duration_ns": 12345678, "error": false}, ...]}

Exit status: 1 if the plan is invalid, 2 if any export failed or not every
span was exported (details on stderr); argparse usage errors also exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import SpanKind, Status, StatusCode

from otlp_support import ExportLedger, PlanError, bypass_proxy_for_loopback

KINDS = {
    "SERVER": SpanKind.SERVER,
    "CLIENT": SpanKind.CLIENT,
    "INTERNAL": SpanKind.INTERNAL,
    "PRODUCER": SpanKind.PRODUCER,
    "CONSUMER": SpanKind.CONSUMER,
}

MAX_EXPORT_BATCH_SIZE = 512
FLUSH_TIMEOUT_MILLIS = 60_000


class RecordingExporter(ExportLedger, SpanExporter):
    """Delegating SpanExporter that records the outcome of every export call."""

    def __init__(self, inner: SpanExporter) -> None:
        super().__init__()
        self._inner = inner
        self.exported_spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        def counted() -> None:
            self.exported_spans += len(spans)

        return self.record(
            f"{len(spans)} spans",
            lambda: self._inner.export(spans),
            SpanExportResult.SUCCESS,
            counted,
        )

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


def make_exporter(protocol: str, endpoint: str) -> SpanExporter:
    """Build the OTLP span exporter for ``protocol`` (default 10 s timeout)."""
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter,
        )

        return OTLPSpanExporter(endpoint=endpoint, insecure=True)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )

    return OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")


def validate(node: object, path: str) -> None:
    """Check one planned span (and its children) before anything is sent."""
    if not isinstance(node, dict):
        raise PlanError(f"{path}: expected an object")
    for key in ("service", "name"):
        if not isinstance(node.get(key), str) or not node[key]:
            raise PlanError(f"{path}.{key}: expected a non-empty string")
    for key in ("start_ns", "duration_ns"):
        value = node.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise PlanError(f"{path}.{key}: expected a non-negative integer")
    if node.get("kind", "INTERNAL") not in KINDS:
        raise PlanError(f"{path}.kind: expected one of {', '.join(KINDS)}")
    if not isinstance(node.get("error", False), bool):
        raise PlanError(f"{path}.error: expected a boolean")
    if not isinstance(node.get("attributes", {}), dict):
        raise PlanError(f"{path}.attributes: expected an object")
    children = node.get("children", [])
    if not isinstance(children, list):
        raise PlanError(f"{path}.children: expected an array")
    for i, child in enumerate(children):
        validate(child, f"{path}.children[{i}]")


def read_plan(text: str) -> list[dict]:
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"stdin is not valid JSON: {exc}") from exc
    if not isinstance(plan, dict) or not isinstance(plan.get("spans"), list):
        raise PlanError('expected a JSON object {"spans": [...]}')
    for i, root in enumerate(plan["spans"]):
        validate(root, f"spans[{i}]")
    return plan["spans"]


def services_in(nodes: list[dict], out: dict[str, None]) -> dict[str, None]:
    """Distinct service names in first-seen order."""
    for node in nodes:
        out.setdefault(node["service"], None)
        services_in(node.get("children", []), out)
    return out


def emit(
    node: dict,
    parent: trace.Span | None,
    tracers: dict[str, trace.Tracer],
    sent: list[dict],
) -> None:
    """Create the span for ``node`` (and, recursively, its children)."""
    context = trace.set_span_in_context(parent) if parent is not None else None
    kind = node.get("kind", "INTERNAL")
    start_ns = node["start_ns"]
    duration_ns = node["duration_ns"]
    error = node.get("error", False)
    span = tracers[node["service"]].start_span(
        node["name"],
        context=context,
        kind=KINDS[kind],
        attributes=node.get("attributes") or None,
        start_time=start_ns,
    )
    if error:
        span.set_status(Status(StatusCode.ERROR, "boom"))
    span_context = span.get_span_context()
    sent.append(
        {
            "trace_id": format(span_context.trace_id, "032x"),
            "span_id": format(span_context.span_id, "016x"),
            "parent_span_id": (
                format(parent.get_span_context().span_id, "016x") if parent is not None else ""
            ),
            "service": node["service"],
            "name": node["name"],
            "kind": kind,
            "duration_ns": duration_ns,
            "error": error,
        }
    )
    for child in node.get("children", []):
        emit(child, span, tracers, sent)
    span.end(end_time=start_ns + duration_ns)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Read a JSON span plan from stdin, send it with the OpenTelemetry "
        "Python SDK over OTLP, and print the sent spans' ids as JSON.",
    )
    parser.add_argument(
        "--endpoint",
        required=True,
        help="OTLP endpoint base URL, e.g. http://127.0.0.1:4317 (grpc) or "
        "http://127.0.0.1:4318 (http; '/v1/traces' is appended)",
    )
    parser.add_argument(
        "--protocol",
        required=True,
        choices=("grpc", "http"),
        help="OTLP transport: grpc or http (protobuf over HTTP)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        roots = read_plan(sys.stdin.read())
    except PlanError as exc:
        print(f"send_spans: invalid plan: {exc}", file=sys.stderr)
        return 1

    bypass_proxy_for_loopback(args.endpoint)
    services = list(services_in(roots, {}))

    def count(nodes: list[dict]) -> int:
        return sum(1 + count(n.get("children", [])) for n in nodes)

    total = count(roots)
    providers: dict[str, TracerProvider] = {}
    exporters: dict[str, RecordingExporter] = {}
    tracers: dict[str, trace.Tracer] = {}
    for service in services:
        exporter = RecordingExporter(make_exporter(args.protocol, args.endpoint))
        provider = TracerProvider(
            resource=Resource.create({"service.name": service}),
            sampler=ALWAYS_ON,
            shutdown_on_exit=False,
        )
        provider.add_span_processor(
            BatchSpanProcessor(
                exporter,
                # Big enough that no span is ever dropped for a full queue.
                max_queue_size=max(2048, total),
                max_export_batch_size=MAX_EXPORT_BATCH_SIZE,
            )
        )
        providers[service] = provider
        exporters[service] = exporter
        tracers[service] = provider.get_tracer("headroom.e2e.send_spans")

    sent: list[dict] = []
    for root in roots:
        emit(root, None, tracers, sent)

    problems: list[str] = []
    for service, provider in providers.items():
        if not provider.force_flush(FLUSH_TIMEOUT_MILLIS):
            problems.append(f"{service}: force_flush timed out")
    for provider in providers.values():
        provider.shutdown()

    for service, exporter in exporters.items():
        problems.extend(f"{service}: export failed: {failure}" for failure in exporter.failures)
    expected = {s: 0 for s in services}
    for span in sent:
        expected[span["service"]] += 1
    for service, exporter in exporters.items():
        if exporter.exported_spans != expected[service]:
            problems.append(
                f"{service}: {exporter.exported_spans} of {expected[service]} spans exported"
            )

    if problems:
        print(
            f"send_spans: export to {args.endpoint} ({args.protocol}) failed:",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2

    json.dump({"spans": sent}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
