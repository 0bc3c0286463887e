#!/usr/bin/env python3
"""Send planned logs and metrics to an OTLP endpoint with the real OpenTelemetry Python SDK.

Headroom's Rust end-to-end tests run this script (with the project venv's
python, ``$HEADROOM_PYTHON``) so that log and metric ingestion is exercised by
a genuine third-party OTLP client rather than by our own encoder, and then
compare what the server stored with the ``expected`` section printed here.

Usage::

    python send_logs_metrics.py --endpoint http://127.0.0.1:4317 --protocol grpc \
        --temporality cumulative < plan.json
    python send_logs_metrics.py --endpoint http://127.0.0.1:4318 --protocol http \
        --temporality delta < plan.json

gRPC uses ``endpoint`` as given (insecure); HTTP (protobuf) posts to
``endpoint + "/v1/logs"`` and ``endpoint + "/v1/metrics"``.

Plan (stdin)
------------
::

    {"service": "py-grpc",
     "logs": [{"body": "GET /a ok", "severity": "INFO",
               "trace_id": "<32 hex or empty>", "span_id": "<16 hex or empty>",
               "time_ns": 1732320000000000000, "event_name": "",
               "attributes": {"k": "v", "n": 3}}],
     "metrics": {
       "counter":     {"name": "py.requests", "unit": "1", "adds": [[{"route": "/a"}, 3], ...]},
       "histogram":   {"name": "py.latency", "unit": "s",
                       "bounds": [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
                       "records": [[{"route": "/a"}, 0.0123], ...]},
       "gauge":       {"name": "py.queue", "unit": "1", "sets": [[{"q": "x"}, 7.5], ...]},
       "updown":      {"name": "py.inflight", "unit": "1", "adds": [[{}, 5], [{}, -2]]},
       "exponential": {"name": "py.size", "unit": "By", "records": [[{}, 123.0], ...]},
       "collections": 3}}

* ``service`` (required): Resource ``service.name`` of both providers.
* ``logs`` (optional, default []): ``body`` is a string (required);
  ``severity`` (default INFO) is a ``SeverityNumber`` member name (TRACE..TRACE4,
  DEBUG.., INFO.., WARN.., ERROR.., FATAL..4, UNSPECIFIED) and is sent both as
  severity_number and, verbatim, as severity_text; ``trace_id``/``span_id``
  (default empty) must be both empty or both non-zero hex of 32/16 digits --
  when set they are carried by a sampled, non-recording parent span in the
  ``context`` passed to ``Logger.emit``, so the record gets flags 0x01;
  ``time_ns`` (default: now) is the record timestamp; ``event_name`` (default
  none) and ``attributes`` (default {}; str/int/float/bool values) are optional.
* ``metrics`` (optional): every instrument entry is optional; ``unit`` defaults
  to "".  Each measurement is ``[attributes, value]``.  ``counter`` is a
  Counter (values >= 0), ``updown`` an UpDownCounter, ``gauge`` a synchronous
  Gauge (``meter.create_gauge``), ``histogram`` a Histogram aggregated by a View
  with ``ExplicitBucketHistogramAggregation(bounds)`` (bounds strictly
  increasing, values >= 0), ``exponential`` a Histogram aggregated by a View
  with ``ExponentialBucketHistogramAggregation()`` (values >= 0; the SDK drops
  negative histogram records).  Ints stay ints (OTLP as_int), floats as_double.
* ``collections`` (default 1, >= 1): every instrument's measurement list is cut
  into that many contiguous, near-equal chunks (chunk i = items[i*n//k :
  (i+1)*n//k]); for i in 0..k-1 chunk i of every instrument is recorded, then
  ``MeterProvider.force_flush()`` collects and exports.  So each stream gets
  several points and delta vs cumulative matters.

SDK behaviour the expectations rely on (opentelemetry-sdk 1.45)
--------------------------------------------------------------
* The PeriodicExportingMetricReader has ``export_interval_millis=inf``: no
  background thread, exports happen only in the k force_flush calls (shutdown
  does not collect again).  All points of one collection share
  ``time_unix_nano`` (= collection time).
* ``--temporality`` is passed as the exporter's ``preferred_temporality`` for
  Counter, UpDownCounter, Histogram (both views) and Gauge; the SDK honours
  DELTA for all of them (the OTLP env preference
  OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta would keep
  UpDownCounter cumulative, but the explicit mapping overrides that).
* CUMULATIVE: a stream is exported in every collection from the first chunk in
  which it got a measurement, even when later chunks have none; start time =
  the stream's creation (first measurement, or the previous collection time
  for streams born after the first collection).  Histogram min/max are over
  all records so far.
* DELTA: a stream is exported only in collections whose chunk measured it;
  start time = previous collection time (creation time for the first point).
* Gauge points carry no temporality on the wire.  A synchronous gauge under
  CUMULATIVE re-exports its last value every collection; under DELTA it is
  exported only when set in that chunk.
* Sums of floats are computed here in plan order; the SDK may add per-chunk
  partial sums (cumulative), so compare float sums with a tolerance.

Output (stdout, exit 0)
-----------------------
::

    {"logs_sent": 3,
     "exports": {"logs": <successful log export calls>,
                 "metrics": <successful metric export calls>},
     "exported": {"log_records": 3, "metric_points": {"py.requests": 6, ...}},
     "expected": {
       "service": "py-grpc", "scope_name": "headroom-e2e",
       "temporality": "delta", "collections": 3,
       "logs": [{"body", "severity_number", "severity_text", "trace_id",
                 "span_id", "flags", "time_ns", "observed_time_ns",
                 "event_name", "attributes"}, ...],             # plan order
       "metrics": {
         "counter": {"name", "unit", "metric_type": "sum", "temporality",
                     "is_monotonic": true,
                     "series": [{"attributes", "total", "points",
                                 "point_values"}]},
         "updown":  {... "metric_type": "sum", "is_monotonic": false,
                     "series": [{"attributes", "final", "points", "point_values"}]},
         "gauge":   {... "metric_type": "gauge", "temporality": null,
                     "series": [{"attributes", "last", "points", "point_values"}]},
         "histogram": {... "metric_type": "histogram", "bounds",
                     "series": [{"attributes", "count", "sum", "min", "max",
                                 "bucket_counts", "values", "points",
                                 "point_counts"}]},
         "exponential": {... "metric_type": "exponential_histogram",
                     "series": [{"attributes", "count", "sum", "min", "max",
                                 "zero_count", "values", "points",
                                 "point_counts"}]}}}}

Instruments absent from the plan are absent from ``expected.metrics``.
``series`` are sorted by their attributes' canonical JSON.  ``total``/``final``
/``last``/``count``/``sum``/``min``/``max``/``bucket_counts`` describe the whole
stream (for DELTA, the server must combine the points); ``points`` is how many
data points the SDK exports for the stream and ``point_values`` /
``point_counts`` their values / counts in export order (cumulative running
totals or per-chunk deltas).  ``bucket_counts`` use OTLP upper-inclusive
buckets (``bisect_left``).  Trace/span ids are lower-case hex, "" when unset.

Exit status: 1 if the plan is invalid, 2 if any export failed, not every
log record was exported, or the SDK exported a different number of points per
metric than ``expected`` predicts (details on stderr); argparse usage errors
also exit 2.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import sys
import time
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry._logs import SeverityNumber
from opentelemetry.context import Context
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    UpDownCounter,
    _Gauge,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import (
    ExplicitBucketHistogramAggregation,
    ExponentialBucketHistogramAggregation,
    View,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from otlp_support import ExportLedger, PlanError, bypass_proxy_for_loopback

SCOPE_NAME = "headroom-e2e"
MAX_EXPORT_BATCH_SIZE = 512
FLUSH_TIMEOUT_MILLIS = 60_000
INSTRUMENTS = ("counter", "updown", "gauge", "histogram", "exponential")
# plan key of each instrument's measurement list
MEASUREMENTS = {
    "counter": "adds",
    "updown": "adds",
    "gauge": "sets",
    "histogram": "records",
    "exponential": "records",
}
METRIC_TYPES = {
    "counter": "sum",
    "updown": "sum",
    "gauge": "gauge",
    "histogram": "histogram",
    "exponential": "exponential_histogram",
}


class RecordingLogExporter(ExportLedger, LogRecordExporter):
    """Delegating log exporter that records the outcome of every export call."""

    def __init__(self, inner: LogRecordExporter) -> None:
        super().__init__()
        self._inner = inner
        self.exported_records = 0

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        def counted() -> None:
            self.exported_records += len(batch)

        return self.record(
            f"{len(batch)} log records",
            lambda: self._inner.export(batch),
            LogRecordExportResult.SUCCESS,
            counted,
        )

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return self._inner.force_flush(timeout_millis)


class RecordingMetricExporter(ExportLedger, MetricExporter):
    """Delegating metric exporter that records every export call's outcome.

    It forwards the inner exporter's preferred temporality/aggregation, which
    the PeriodicExportingMetricReader reads from the exporter it wraps.
    """

    def __init__(self, inner: MetricExporter) -> None:
        ExportLedger.__init__(self)
        MetricExporter.__init__(
            self,
            preferred_temporality=inner._preferred_temporality,  # noqa: SLF001
            preferred_aggregation=inner._preferred_aggregation,  # noqa: SLF001
        )
        self._inner = inner
        self.points: dict[str, int] = {}

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs
    ) -> MetricExportResult:
        points: dict[str, int] = {}
        for resource_metrics in metrics_data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    points[metric.name] = points.get(metric.name, 0) + len(
                        metric.data.data_points
                    )

        def counted() -> None:
            for name, n in points.items():
                self.points[name] = self.points.get(name, 0) + n

        return self.record(
            f"metrics {points}",
            lambda: self._inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs),
            MetricExportResult.SUCCESS,
            counted,
        )

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self._inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs) -> None:
        self._inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def make_log_exporter(protocol: str, endpoint: str) -> LogRecordExporter:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        return OTLPLogExporter(endpoint=endpoint, insecure=True)
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

    return OTLPLogExporter(endpoint=endpoint.rstrip("/") + "/v1/logs")


def make_metric_exporter(
    protocol: str, endpoint: str, temporality: AggregationTemporality
) -> MetricExporter:
    preferred = {
        Counter: temporality,
        UpDownCounter: temporality,
        Histogram: temporality,
        _Gauge: temporality,
    }
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter,
        )

        return OTLPMetricExporter(
            endpoint=endpoint, insecure=True, preferred_temporality=preferred
        )
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    return OTLPMetricExporter(
        endpoint=endpoint.rstrip("/") + "/v1/metrics", preferred_temporality=preferred
    )


# ---------------------------------------------------------------- validation


def is_number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def check_attributes(value: object, path: str) -> None:
    if not isinstance(value, dict):
        raise PlanError(f"{path}: expected an object")
    for key, item in value.items():
        if not isinstance(item, (str, int, float, bool)):
            raise PlanError(f"{path}.{key}: expected a string, number or boolean")


def check_hex(value: object, digits: int, path: str) -> int:
    if value == "":
        return 0
    if not isinstance(value, str) or len(value) != digits:
        raise PlanError(f"{path}: expected {digits} hex digits or an empty string")
    try:
        number = int(value, 16)
    except ValueError:
        raise PlanError(f"{path}: expected {digits} hex digits") from None
    if number == 0:
        raise PlanError(f"{path}: an all-zero id is invalid; use an empty string")
    return number


def validate_log(entry: object, path: str) -> None:
    if not isinstance(entry, dict):
        raise PlanError(f"{path}: expected an object")
    if not isinstance(entry.get("body"), str):
        raise PlanError(f"{path}.body: expected a string")
    severity = entry.get("severity", "INFO")
    if not isinstance(severity, str) or severity not in SeverityNumber.__members__:
        raise PlanError(f"{path}.severity: expected a SeverityNumber name such as INFO")
    trace_id = check_hex(entry.get("trace_id", ""), 32, f"{path}.trace_id")
    span_id = check_hex(entry.get("span_id", ""), 16, f"{path}.span_id")
    if bool(trace_id) != bool(span_id):
        raise PlanError(f"{path}: trace_id and span_id must be both set or both empty")
    time_ns = entry.get("time_ns")
    if time_ns is not None and (
        not isinstance(time_ns, int) or isinstance(time_ns, bool) or time_ns <= 0
    ):
        raise PlanError(f"{path}.time_ns: expected a positive integer")
    if not isinstance(entry.get("event_name", ""), str):
        raise PlanError(f"{path}.event_name: expected a string")
    check_attributes(entry.get("attributes", {}), f"{path}.attributes")


def validate_instrument(kind: str, spec: object, path: str) -> None:
    if not isinstance(spec, dict):
        raise PlanError(f"{path}: expected an object")
    if not isinstance(spec.get("name"), str) or not spec["name"]:
        raise PlanError(f"{path}.name: expected a non-empty string")
    if not isinstance(spec.get("unit", ""), str):
        raise PlanError(f"{path}.unit: expected a string")
    key = MEASUREMENTS[kind]
    items = spec.get(key)
    if not isinstance(items, list):
        raise PlanError(f"{path}.{key}: expected an array of [attributes, value]")
    for i, item in enumerate(items):
        where = f"{path}.{key}[{i}]"
        if not isinstance(item, list) or len(item) != 2:
            raise PlanError(f"{where}: expected [attributes, value]")
        check_attributes(item[0], f"{where}[0]")
        if not is_number(item[1]):
            raise PlanError(f"{where}[1]: expected a finite number")
        if kind in ("counter", "histogram", "exponential") and item[1] < 0:
            raise PlanError(f"{where}[1]: the SDK drops negative values for a {kind}")
    if kind == "histogram":
        bounds = spec.get("bounds")
        if (
            not isinstance(bounds, list)
            or not all(is_number(b) for b in bounds)
            or any(a >= b for a, b in zip(bounds, bounds[1:]))
        ):
            raise PlanError(f"{path}.bounds: expected strictly increasing finite numbers")


def read_plan(text: str) -> dict:
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError(f"stdin is not valid JSON: {exc}") from exc
    if not isinstance(plan, dict):
        raise PlanError("expected a JSON object")
    if not isinstance(plan.get("service"), str) or not plan["service"]:
        raise PlanError("service: expected a non-empty string")
    logs = plan.setdefault("logs", [])
    if not isinstance(logs, list):
        raise PlanError("logs: expected an array")
    for i, entry in enumerate(logs):
        validate_log(entry, f"logs[{i}]")
    metrics = plan.setdefault("metrics", {})
    if not isinstance(metrics, dict):
        raise PlanError("metrics: expected an object")
    unknown = set(metrics) - set(INSTRUMENTS) - {"collections"}
    if unknown:
        raise PlanError(f"metrics: unknown keys {sorted(unknown)}")
    collections = metrics.setdefault("collections", 1)
    if not isinstance(collections, int) or isinstance(collections, bool) or collections < 1:
        raise PlanError("metrics.collections: expected a positive integer")
    names = set()
    for kind in INSTRUMENTS:
        if kind in metrics:
            validate_instrument(kind, metrics[kind], f"metrics.{kind}")
            if metrics[kind]["name"] in names:
                raise PlanError(f"metrics.{kind}.name: duplicate metric name")
            names.add(metrics[kind]["name"])
    return plan


# -------------------------------------------------------------------- logs


def send_logs(
    plan: dict, protocol: str, endpoint: str, problems: list[str]
) -> tuple[list[dict], RecordingLogExporter | None]:
    entries = plan["logs"]
    if not entries:
        return [], None
    exporter = RecordingLogExporter(make_log_exporter(protocol, endpoint))
    provider = LoggerProvider(
        resource=Resource.create({"service.name": plan["service"]}),
        shutdown_on_exit=False,
    )
    provider.add_log_record_processor(
        BatchLogRecordProcessor(
            exporter,
            max_queue_size=max(2048, len(entries)),
            max_export_batch_size=MAX_EXPORT_BATCH_SIZE,
        )
    )
    logger = provider.get_logger(SCOPE_NAME)

    sent: list[dict] = []
    for entry in entries:
        severity = entry.get("severity", "INFO")
        trace_id = int(entry.get("trace_id") or "0", 16)
        span_id = int(entry.get("span_id") or "0", 16)
        # An empty Context (not the ambient one) when no ids are planned.
        context = Context()
        flags = 0
        if trace_id:
            flags = TraceFlags.SAMPLED
            parent = NonRecordingSpan(
                SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(flags))
            )
            context = trace.set_span_in_context(parent, Context())
        time_ns = entry.get("time_ns") or time.time_ns()
        observed_ns = time.time_ns()
        attributes = entry.get("attributes") or {}
        event_name = entry.get("event_name") or None
        logger.emit(
            timestamp=time_ns,
            observed_timestamp=observed_ns,
            context=context,
            severity_number=SeverityNumber[severity],
            severity_text=severity,
            body=entry["body"],
            attributes=attributes or None,
            event_name=event_name,
        )
        sent.append(
            {
                "body": entry["body"],
                "severity_number": SeverityNumber[severity].value,
                "severity_text": severity,
                "trace_id": format(trace_id, "032x") if trace_id else "",
                "span_id": format(span_id, "016x") if span_id else "",
                "flags": int(flags),
                "time_ns": time_ns,
                "observed_time_ns": observed_ns,
                "event_name": event_name or "",
                "attributes": attributes,
            }
        )

    if not provider.force_flush(FLUSH_TIMEOUT_MILLIS):
        problems.append("logs: force_flush timed out")
    provider.shutdown()
    problems.extend(f"logs: export failed: {failure}" for failure in exporter.failures)
    if exporter.exported_records != len(sent):
        problems.append(f"logs: {exporter.exported_records} of {len(sent)} records exported")
    return sent, exporter


# ----------------------------------------------------------------- metrics


def chunks(items: list, k: int) -> list[list]:
    n = len(items)
    return [items[i * n // k : (i + 1) * n // k] for i in range(k)]


def attr_key(attributes: dict) -> str:
    return json.dumps(attributes, sort_keys=True)


def expected_metric(kind: str, spec: dict, k: int, cumulative: bool) -> dict:
    """What the server must hold for one instrument, computed without the SDK."""
    per_chunk = chunks(spec[MEASUREMENTS[kind]], k)
    keys: dict[str, dict] = {}
    for chunk in per_chunk:
        for attributes, _ in chunk:
            keys.setdefault(attr_key(attributes), attributes)
    series = []
    for key in sorted(keys):
        # values of this stream, per chunk
        values = [[v for a, v in chunk if attr_key(a) == key] for chunk in per_chunk]
        first = next(i for i, vs in enumerate(values) if vs)
        exported = [i for i in range(k) if (i >= first if cumulative else values[i])]
        flat = [v for vs in values for v in vs]
        out: dict = {"attributes": keys[key], "points": len(exported)}
        if kind in ("counter", "updown"):
            running = [sum(v for vs in values[: i + 1] for v in vs) for i in range(k)]
            out["total" if kind == "counter" else "final"] = sum(flat)
            out["point_values"] = [
                running[i] if cumulative else sum(values[i]) for i in exported
            ]
        elif kind == "gauge":
            last = []
            current = None
            for vs in values:
                if vs:
                    current = vs[-1]
                last.append(current)
            out["last"] = flat[-1]
            out["point_values"] = [last[i] for i in exported]
        else:
            counts = [len(vs) for vs in values]
            out["count"] = len(flat)
            out["sum"] = sum(flat)
            out["min"] = min(flat)
            out["max"] = max(flat)
            out["values"] = flat
            out["point_counts"] = [
                sum(counts[: i + 1]) if cumulative else counts[i] for i in exported
            ]
            if kind == "histogram":
                buckets = [0] * (len(spec["bounds"]) + 1)
                for v in flat:
                    buckets[bisect.bisect_left(spec["bounds"], v)] += 1
                out["bucket_counts"] = buckets
            else:
                out["zero_count"] = sum(1 for v in flat if v == 0)
        series.append(out)
    return {
        "name": spec["name"],
        "unit": spec.get("unit", ""),
        "metric_type": METRIC_TYPES[kind],
        "temporality": None
        if kind == "gauge"
        else ("cumulative" if cumulative else "delta"),
        **({"is_monotonic": kind == "counter"} if kind in ("counter", "updown") else {}),
        **({"bounds": spec["bounds"]} if kind == "histogram" else {}),
        "series": series,
    }


def send_metrics(
    plan: dict, protocol: str, endpoint: str, temporality: str, problems: list[str]
) -> RecordingMetricExporter | None:
    metrics = plan["metrics"]
    present = [kind for kind in INSTRUMENTS if kind in metrics]
    if not present:
        return None
    k = metrics["collections"]
    exporter = RecordingMetricExporter(
        make_metric_exporter(
            protocol,
            endpoint,
            AggregationTemporality.CUMULATIVE
            if temporality == "cumulative"
            else AggregationTemporality.DELTA,
        )
    )
    views = []
    if "histogram" in metrics:
        views.append(
            View(
                instrument_name=metrics["histogram"]["name"],
                aggregation=ExplicitBucketHistogramAggregation(
                    boundaries=metrics["histogram"]["bounds"]
                ),
            )
        )
    if "exponential" in metrics:
        views.append(
            View(
                instrument_name=metrics["exponential"]["name"],
                aggregation=ExponentialBucketHistogramAggregation(),
            )
        )
    reader = PeriodicExportingMetricReader(
        exporter, export_interval_millis=math.inf, export_timeout_millis=FLUSH_TIMEOUT_MILLIS
    )
    provider = MeterProvider(
        metric_readers=[reader],
        resource=Resource.create({"service.name": plan["service"]}),
        views=views,
        shutdown_on_exit=False,
    )
    meter = provider.get_meter(SCOPE_NAME)
    record = {}
    for kind in present:
        spec = metrics[kind]
        name, unit = spec["name"], spec.get("unit", "")
        if kind == "counter":
            record[kind] = meter.create_counter(name, unit=unit).add
        elif kind == "updown":
            record[kind] = meter.create_up_down_counter(name, unit=unit).add
        elif kind == "gauge":
            record[kind] = meter.create_gauge(name, unit=unit).set
        else:
            record[kind] = meter.create_histogram(name, unit=unit).record

    per_kind = {kind: chunks(metrics[kind][MEASUREMENTS[kind]], k) for kind in present}
    for i in range(k):
        for kind in present:
            for attributes, value in per_kind[kind][i]:
                record[kind](value, attributes=attributes or None)
        try:
            if not provider.force_flush(FLUSH_TIMEOUT_MILLIS):
                problems.append(f"metrics: force_flush {i + 1}/{k} timed out")
        except Exception as exc:  # MeterProvider.force_flush raises on reader errors
            problems.append(f"metrics: force_flush {i + 1}/{k} failed: {exc!r}")
        if exporter.failures:
            break  # the server is unreachable or refusing: don't retry k times
    provider.shutdown()
    problems.extend(f"metrics: export failed: {failure}" for failure in exporter.failures)
    return exporter


# -------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Read a JSON log/metric plan from stdin, send it with the "
        "OpenTelemetry Python SDK over OTLP, and print what the server must hold.",
    )
    parser.add_argument(
        "--endpoint",
        required=True,
        help="OTLP endpoint base URL, e.g. http://127.0.0.1:4317 (grpc) or "
        "http://127.0.0.1:4318 (http; '/v1/logs' and '/v1/metrics' are appended)",
    )
    parser.add_argument(
        "--protocol",
        required=True,
        choices=("grpc", "http"),
        help="OTLP transport: grpc or http (protobuf over HTTP)",
    )
    parser.add_argument(
        "--temporality",
        default="cumulative",
        choices=("cumulative", "delta"),
        help="aggregation temporality preferred for every synchronous instrument",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        plan = read_plan(sys.stdin.read())
    except PlanError as exc:
        print(f"send_logs_metrics: invalid plan: {exc}", file=sys.stderr)
        return 1

    bypass_proxy_for_loopback(args.endpoint)
    problems: list[str] = []
    sent_logs, log_exporter = send_logs(plan, args.protocol, args.endpoint, problems)
    metric_exporter = send_metrics(
        plan, args.protocol, args.endpoint, args.temporality, problems
    )

    metrics = plan["metrics"]
    cumulative = args.temporality == "cumulative"
    expected_metrics = {
        kind: expected_metric(kind, metrics[kind], metrics["collections"], cumulative)
        for kind in INSTRUMENTS
        if kind in metrics
    }
    exported_points = dict(metric_exporter.points) if metric_exporter else {}
    if not problems:
        # Guards the model of the SDK in expected_metric(): a mismatch means the
        # expectations below would be wrong, not that the server is.
        for kind, spec in expected_metrics.items():
            want = sum(s["points"] for s in spec["series"])
            got = exported_points.get(spec["name"], 0)
            if got != want:
                problems.append(
                    f"metrics: the SDK exported {got} points for {spec['name']}, "
                    f"expected {want}"
                )

    if problems:
        print(
            f"send_logs_metrics: export to {args.endpoint} ({args.protocol}) failed:",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2

    report = {
        "logs_sent": len(sent_logs),
        "exports": {
            "logs": log_exporter.ok_calls if log_exporter else 0,
            "metrics": metric_exporter.ok_calls if metric_exporter else 0,
        },
        "exported": {
            "log_records": log_exporter.exported_records if log_exporter else 0,
            "metric_points": exported_points,
        },
        "expected": {
            "service": plan["service"],
            "scope_name": SCOPE_NAME,
            "temporality": args.temporality,
            "collections": metrics["collections"],
            "logs": sent_logs,
            "metrics": expected_metrics,
        },
    }
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
