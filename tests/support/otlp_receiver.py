#!/usr/bin/env python3
"""A small OTLP/HTTP receiver for lookout's end-to-end tests.

It decodes every request with the official `opentelemetry-proto` Python package (not lookout's
code), so a test proves that what lookout sends is valid OTLP. For each request it appends one
JSON line to --out summarising what it decoded: the path, the Content-Encoding, the number of
bytes, whether an `api-key` header came and its SHA-256, and for metrics each metric's name,
unit, kind, temporality and monotonicity, the data point count and the resource attributes; for
logs the count and the first 200 bodies. It answers 200 with an empty export response, or
--status for every request (to simulate a failing backend).

--fail-first N applies --status to the first N requests only; --retry-after S adds that header
to the failures.

Usage: otlp_receiver.py --port 0 --out FILE [--status 503] [--fail-first N] [--retry-after S]
                        [--tls-cert PEM --tls-key PEM [--client-ca PEM]]
Prints "READY <port>" on stdout once it listens on 127.0.0.1.
"""
import argparse
import gzip
import hashlib
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

LOCK = threading.Lock()


def anyvalue(v):
    kind = v.WhichOneof("value")
    return getattr(v, kind) if kind else None


def summarize_metrics(req):
    out = []
    for rm in req.resource_metrics:
        res = {kv.key: anyvalue(kv.value) for kv in rm.resource.attributes}
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                data = getattr(m, kind)
                entry = {
                    "name": m.name,
                    "unit": m.unit,
                    "kind": kind,
                    "points": len(data.data_points),
                    "scope": sm.scope.name,
                    "resource": res,
                }
                if kind in ("sum", "histogram", "exponential_histogram"):
                    entry["temporality"] = data.aggregation_temporality
                if kind == "sum":
                    entry["monotonic"] = data.is_monotonic
                values = []
                for p in data.data_points:
                    attrs = {kv.key: anyvalue(kv.value) for kv in p.attributes}
                    if kind in ("sum", "gauge"):
                        val = p.as_double if p.WhichOneof("value") == "as_double" else p.as_int
                        values.append({"attrs": attrs, "value": val,
                                       "start": p.start_time_unix_nano, "time": p.time_unix_nano})
                entry["values"] = values
                out.append(entry)
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        enc = self.headers.get("Content-Encoding", "")
        record = {"path": self.path, "encoding": enc, "bytes": len(body), "at": time.time(),
                  "content_type": self.headers.get("Content-Type", ""),
                  "api_key": self.headers.get("api-key") is not None,
                  # a digest, so a test can compare the value without it being written out
                  "api_key_sha256": hashlib.sha256(self.headers["api-key"].encode()).hexdigest()
                  if self.headers.get("api-key") is not None else None}
        with LOCK:
            self.server.count += 1
            n = self.server.count
        status = self.server.fail_status
        if self.server.fail_first and n > self.server.fail_first:
            status = 0
        try:
            if enc == "gzip":
                body = gzip.decompress(body)
            elif enc == "zstd":
                import zstandard
                body = zstandard.ZstdDecompressor().decompress(body, max_output_size=64 << 20)
            if self.path == "/v1/metrics":
                req = metrics_service_pb2.ExportMetricsServiceRequest()
                req.ParseFromString(body)
                record["metrics"] = summarize_metrics(req)
                resp = metrics_service_pb2.ExportMetricsServiceResponse().SerializeToString()
            elif self.path == "/v1/logs":
                req = logs_service_pb2.ExportLogsServiceRequest()
                req.ParseFromString(body)
                record["log_records"] = sum(len(s.log_records) for r in req.resource_logs for s in r.scope_logs)
                record["log_bodies"] = [anyvalue(lr.body) for r in req.resource_logs
                                        for s in r.scope_logs for lr in s.log_records][:200]
                resp = logs_service_pb2.ExportLogsServiceResponse().SerializeToString()
            elif self.path == "/v1/traces":
                req = trace_service_pb2.ExportTraceServiceRequest()
                req.ParseFromString(body)
                record["spans"] = sum(len(s.spans) for r in req.resource_spans for s in r.scope_spans)
                resp = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
            else:
                status, resp = 404, b""
        except Exception as e:  # a decode failure is exactly what the tests must see
            record["decode_error"] = repr(e)
            status, resp = 400, str(e).encode()
        record["status"] = status or 200
        with LOCK:
            with open(self.server.out, "a") as f:
                f.write(json.dumps(record) + "\n")
        code = status or 200
        self.send_response(code)
        self.send_header("Content-Type", "application/x-protobuf")
        if code != 200 and self.server.retry_after is not None:
            self.send_header("Retry-After", str(self.server.retry_after))
        payload = resp if code == 200 else b"simulated failure"
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--retry-after", type=int, default=None)
    ap.add_argument("--tls-cert", default=None, help="serve HTTPS with this PEM certificate chain")
    ap.add_argument("--tls-key", default=None)
    ap.add_argument("--client-ca", default=None, help="require a client certificate signed by this CA")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    if a.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        if a.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(a.client_ca)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.out = a.out
    srv.fail_status = a.status
    srv.fail_first = a.fail_first
    srv.retry_after = a.retry_after
    srv.count = 0
    print(f"READY {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
