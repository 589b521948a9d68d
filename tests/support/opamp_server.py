#!/usr/bin/env python3
"""An OpAMP server (HTTP transport) for lookout's end-to-end tests, written against the OpAMP
protobuf definitions that ship in PyPI's `opentelemetry-opamp-client` package, so the wire
format is checked by code lookout did not write.

Every POSTed AgentToServer is decoded and summarised as one JSON line in --log (with the raw
message as latin-1 text, for tests that grep it). The answer is a ServerToAgent; when the
--plan file holds {"config": "<yaml>", "signature": {...} | null}, it carries that remote
configuration (config_hash: SHA-256 of the plan file) and the signature in a custom message
(capability io.lookout.config-signature).

Usage: opamp_server.py --port 0 --plan FILE --log FILE
Prints "READY <port>" once it listens on 127.0.0.1.
"""
import argparse
import hashlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry._opamp.proto import opamp_pb2 as pb

LOCK = threading.Lock()
SIGNATURE = "io.lookout.config-signature"


def attrs(kvs):
    out = {}
    for kv in kvs:
        v = kv.value
        kind = v.WhichOneof("value")
        out[kv.key] = getattr(v, kind) if kind else None
    return out


def summarize(m):
    health = None
    if m.HasField("health"):
        health = {"healthy": m.health.healthy, "status": m.health.status,
                  "components": {k: {"healthy": c.healthy, "status": c.status, "last_error": c.last_error}
                                 for k, c in m.health.component_health_map.items()}}
    eff = None
    if m.HasField("effective_config"):
        eff = {k: f.body.decode("utf-8", "replace") for k, f in m.effective_config.config_map.config_map.items()}
    rcs = None
    if m.HasField("remote_config_status"):
        s = m.remote_config_status
        rcs = {"hash": s.last_remote_config_hash.hex(), "status": pb.RemoteConfigStatuses.Name(s.status),
               "error": s.error_message}
    custom = None
    if m.HasField("custom_message"):
        c = m.custom_message
        custom = {"capability": c.capability, "type": c.type, "data": c.data.decode("utf-8", "replace")}
    desc = m.agent_description
    return {
        "instance_uid": m.instance_uid.hex(),
        "sequence_num": m.sequence_num,
        "capabilities": m.capabilities,
        "identifying": attrs(desc.identifying_attributes),
        "non_identifying": attrs(desc.non_identifying_attributes),
        "health": health,
        "effective_config": eff,
        "remote_config_status": rcs,
        "custom_capabilities": list(m.custom_capabilities.capabilities),
        "custom_message": custom,
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        msg = pb.AgentToServer()
        try:
            msg.ParseFromString(body)
        except Exception as e:  # a message the definitions cannot read is the test's failure
            self.send_response(400)
            self.end_headers()
            with LOCK, open(self.server.log, "a") as f:
                f.write(json.dumps({"decode_error": repr(e)}) + "\n")
            return
        record = summarize(msg)
        record["content_type"] = self.headers.get("Content-Type")
        record["raw"] = body.decode("latin-1")
        with LOCK, open(self.server.log, "a") as f:
            f.write(json.dumps(record) + "\n")
        answer = pb.ServerToAgent(instance_uid=msg.instance_uid)
        try:
            with open(self.server.plan, "rb") as f:
                raw = f.read()
            plan = json.loads(raw)
        except (FileNotFoundError, ValueError):
            plan = None
        if plan is not None:
            files = pb.AgentConfigMap()
            files.config_map[""].body = plan["config"].encode()
            files.config_map[""].content_type = "text/yaml"
            answer.remote_config.config.CopyFrom(files)
            answer.remote_config.config_hash = hashlib.sha256(raw).digest()
            if plan.get("signature") is not None:
                answer.custom_message.capability = SIGNATURE
                answer.custom_message.type = "signature"
                answer.custom_message.data = json.dumps(plan["signature"]).encode()
        out = answer.SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--plan", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.plan = a.plan
    srv.log = a.log
    print(f"READY {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
