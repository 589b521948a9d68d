#!/usr/bin/env python3
"""Exports traces, logs and metrics to lookout with the OpenTelemetry Python SDK's own OTLP
exporters (gRPC or HTTP/protobuf), and records what the SDK exported, through in-memory
exporters attached to the same providers, as JSON for the test to compare with.

usage: otel_clients.py --protocol grpc|http --endpoint URL --service NAME [--gzip] --out FILE
"""
import argparse
import json
import logging
import os

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor

try:
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter as InMemoryLogExporter
except ImportError:  # older SDKs
    from opentelemetry.sdk._logs.export import InMemoryLogExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode


def text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", choices=["grpc", "http"], required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--service", required=True)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--ca", help="trust this CA certificate (PEM) and use TLS")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.ca:
        # requests prefers these environment variables over the exporter's own CA file
        for var in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            os.environ.pop(var, None)

    if a.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc import _log_exporter as lx
        from opentelemetry.exporter.otlp.proto.grpc import metric_exporter as mx
        from opentelemetry.exporter.otlp.proto.grpc import trace_exporter as tx
        from opentelemetry.exporter.otlp.proto.grpc.exporter import Compression

        comp = Compression.Gzip if a.gzip else Compression.NoCompression
        kw = dict(endpoint=a.endpoint, insecure=True, compression=comp, timeout=10)
        if a.ca:
            import grpc

            with open(a.ca, "rb") as f:
                kw.update(insecure=False, credentials=grpc.ssl_channel_credentials(root_certificates=f.read()))
        span_exp, log_exp, metric_exp = (
            tx.OTLPSpanExporter(**kw),
            lx.OTLPLogExporter(**kw),
            mx.OTLPMetricExporter(**kw),
        )
    else:
        from opentelemetry.exporter.otlp.proto.http import Compression
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        comp = Compression.Gzip if a.gzip else Compression.NoCompression
        kw = dict(compression=comp, timeout=10)
        if a.ca:
            kw["certificate_file"] = a.ca
        span_exp = OTLPSpanExporter(endpoint=a.endpoint + "/v1/traces", **kw)
        log_exp = OTLPLogExporter(endpoint=a.endpoint + "/v1/logs", **kw)
        metric_exp = OTLPMetricExporter(endpoint=a.endpoint + "/v1/metrics", **kw)

    resource = Resource.create({"service.name": a.service, "deployment.environment": "test"})

    # traces
    mem_spans = InMemorySpanExporter()
    tp = TracerProvider(resource=resource)
    tp.add_span_processor(BatchSpanProcessor(span_exp))
    tp.add_span_processor(SimpleSpanProcessor(mem_spans))
    tracer = tp.get_tracer("lookout.test", "1.0")
    # logs
    mem_logs = InMemoryLogExporter()
    lp = LoggerProvider(resource=resource)
    lp.add_log_record_processor(BatchLogRecordProcessor(log_exp))
    lp.add_log_record_processor(SimpleLogRecordProcessor(mem_logs))
    log = logging.getLogger("lookout.test." + a.service)
    log.propagate = False
    log.setLevel(logging.DEBUG)
    log.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=lp))
    # metrics
    mem_metrics = InMemoryMetricReader()
    mp = MeterProvider(
        resource=resource,
        metric_readers=[PeriodicExportingMetricReader(metric_exp, export_interval_millis=3_600_000), mem_metrics],
    )
    meter = mp.get_meter("lookout.test", "1.0")
    requests = meter.create_counter("app.requests", unit="{request}")
    latency = meter.create_histogram("app.latency", unit="ms")

    for i in range(5):
        with tracer.start_as_current_span("GET /orders", attributes={"http.request.method": "GET", "i": i}) as root:
            with tracer.start_as_current_span("db.query", attributes={"db.system": "postgresql", "ok": True, "ratio": 0.5}) as child:
                child.add_event("rows", {"count": 3})
                log.warning("slow query %d", i, extra={"order.id": "o-%d" % i})
            if i == 4:
                root.set_status(Status(StatusCode.ERROR, "boom"))
                log.error("request failed")
        requests.add(2, {"route": "/orders"})
        latency.record(10.5 * (i + 1), {"route": "/orders"})
    log.info("done")

    tp.force_flush()
    lp.force_flush()
    mp.force_flush()

    spans = []
    for s in mem_spans.get_finished_spans():
        spans.append(
            {
                "trace_id": "%032x" % s.context.trace_id,
                "span_id": "%016x" % s.context.span_id,
                "parent_span_id": "%016x" % s.parent.span_id if s.parent else "",
                "name": s.name,
                "kind": int(s.kind.value) + 1,
                "start": str(s.start_time),
                "end": str(s.end_time),
                "attributes": {k: text(v) for k, v in s.attributes.items()},
                "events": [e.name for e in s.events],
                "status_code": {StatusCode.UNSET: 0, StatusCode.OK: 1, StatusCode.ERROR: 2}[s.status.status_code],
            }
        )
    logs = []
    for d in mem_logs.get_finished_logs():
        r = d.log_record
        logs.append(
            {
                "body": r.body,
                "severity_text": r.severity_text,
                "severity_number": r.severity_number.value,
                "time": str(r.timestamp),
                "trace_id": "%032x" % r.trace_id if r.trace_id else "",
                "span_id": "%016x" % r.span_id if r.span_id else "",
                "attributes": {k: text(v) for k, v in (r.attributes or {}).items() if not k.startswith("code.")},
            }
        )
    metrics = {}
    data = mem_metrics.get_metrics_data()
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                for p in m.data.data_points:
                    if hasattr(p, "bucket_counts"):
                        metrics[m.name] = {"count": p.count, "sum": p.sum, "attributes": dict(p.attributes)}
                    else:
                        metrics[m.name] = {"value": p.value, "attributes": dict(p.attributes)}
    tp.shutdown()
    lp.shutdown()
    mp.shutdown()
    with open(a.out, "w") as f:
        json.dump({"spans": spans, "logs": logs, "metrics": metrics}, f)


if __name__ == "__main__":
    main()
