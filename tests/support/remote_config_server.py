#!/usr/bin/env python3
"""A remote configuration endpoint for lookout's end-to-end tests, following the contract in
docs/remote-config.md: GET answers the bundle file's bytes with an ETag (their SHA-256) and 304
when If-None-Match carries it; 404 while there is no bundle file. Each request is appended to
--log as one JSON line (path, if_none_match, status).

Usage: remote_config_server.py --port 0 --bundle FILE --log FILE
Prints "READY <port>" once it listens on 127.0.0.1.
"""
import argparse
import hashlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        inm = self.headers.get("If-None-Match")
        try:
            with open(self.server.bundle, "rb") as f:
                body = f.read()
        except FileNotFoundError:
            body = None
        if body is None:
            status = 404
        else:
            etag = '"' + hashlib.sha256(body).hexdigest() + '"'
            status = 304 if inm == etag else 200
        with LOCK:
            with open(self.server.log, "a") as f:
                f.write(json.dumps({"path": self.path, "if_none_match": inm, "status": status}) + "\n")
        self.send_response(status)
        if status == 200:
            self.send_header("ETag", etag)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            if status == 304:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.bundle = a.bundle
    srv.log = a.log
    print(f"READY {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
