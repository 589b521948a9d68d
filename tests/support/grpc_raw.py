#!/usr/bin/env python3
"""Sends one raw (already serialized, possibly invalid) unary gRPC request with grpcio, the
client library we did not write, and prints the status code name and details as JSON.

usage: grpc_raw.py HOST:PORT METHOD_PATH HEX_PAYLOAD|@FILE (a file holding the hex)
"""
import json
import sys

import grpc

target, method, arg = sys.argv[1], sys.argv[2], sys.argv[3]
if arg.startswith("@"):
    with open(arg[1:]) as f:
        arg = f.read().strip()
payload = bytes.fromhex(arg)
with grpc.insecure_channel(target) as ch:
    call = ch.unary_unary(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
    try:
        resp = call(payload, timeout=10)
        print(json.dumps({"code": "OK", "response_hex": resp.hex()}))
    except grpc.RpcError as e:
        print(json.dumps({"code": e.code().name, "details": e.details()}))
