#!/usr/bin/env python3
"""A Kubernetes API server stand-in for lookout's end-to-end tests: the one endpoint the agent
uses, `GET /api/v1/pods?fieldSelector=spec.nodeName=<node>`, answered as the real API server
answers it, over HTTPS.

- Authentication: `Authorization: Bearer <token>` must carry --token, else 401 with a
  `v1` `Status` (reason `Unauthorized`), as kube-apiserver answers.
- The pods are the JSON array in --pods, read again at every request (the test edits it to add
  and remove pods); each is a full `v1` Pod object (metadata, spec, status).
- `fieldSelector` supports `spec.nodeName=X` and `spec.nodeName==X` (the only field lookout
  selects on); another field is a 400 `BadRequest` Status, as the API server answers for a
  field it does not index for pods. The list is a `v1` `PodList` with `metadata.resourceVersion`.
- Any other path is a 404 `NotFound` Status.
Each request is appended to --log as a JSON line: path, decoded query, authorized, status.

Usage: kube_api.py --port 0 --cert PEM --key PEM --token TOKEN --pods FILE --log FILE
Prints "READY <port>" once it listens on 127.0.0.1.
"""
import argparse
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOCK = threading.Lock()
VERSION = [100]


def status(code, reason, message):
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, doc):
        body = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        authorized = self.headers.get("Authorization") == "Bearer " + self.server.token
        code, doc = self.route(url.path, query, authorized)
        with LOCK:
            with open(self.server.log, "a") as f:
                f.write(json.dumps({"path": url.path, "query": query,
                                    "authorized": authorized, "status": code}) + "\n")
        self.answer(code, doc)

    def route(self, path, query, authorized):
        if not authorized:
            return 401, status(401, "Unauthorized", "Unauthorized")
        if path != "/api/v1/pods":
            return 404, status(404, "NotFound", "the server could not find the requested resource")
        node = None
        selector = query.get("fieldSelector", "")
        for term in filter(None, selector.split(",")):
            field, _, value = term.replace("==", "=").partition("=")
            if field != "spec.nodeName":
                return 400, status(400, "BadRequest",
                                   'field label not supported: %s' % field)
            node = value
        with open(self.server.pods) as f:
            pods = json.load(f)
        if node is not None:
            pods = [p for p in pods if p.get("spec", {}).get("nodeName") == node]
        VERSION[0] += 1
        return 200, {
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(VERSION[0])},
            "items": pods,
        }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--pods", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(a.cert, a.key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.token, srv.pods, srv.log = a.token, a.pods, a.log
    print("READY %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    sys.exit(0)


if __name__ == "__main__":
    main()
