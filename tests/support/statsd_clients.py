#!/usr/bin/env python3
"""Sends a fixed StatsD/DogStatsD workload to lookout with clients we did not write: the
official Datadog client (`datadog` package, DogStatsd) over UDP and a Unix socket, and the
plain `statsd` package over UDP and TCP. Writes what lookout should aggregate from it as JSON.

Sample rates: both clients drop a sampled value at random on the client side. The random
source is pinned so that every value is sent (still tagged with its `@rate`), which makes the
expected aggregate exact: lookout must count each value 1/rate times.

usage: statsd_clients.py --udp PORT [--unix PATH] [--tcp PORT] --out expected.json
"""
import argparse
import json
import random as stdrandom

import datadog.dogstatsd.base as ddbase
import statsd.client.base as plainbase
from datadog.dogstatsd import DogStatsd
from statsd import StatsClient, TCPStatsClient

# every sampled value is sent
ddbase.random = lambda: 0.0
plainbase.random = type("R", (), {"random": staticmethod(lambda: 0.0)})

rng = stdrandom.Random(42)
expected = {"metrics": {}, "events": [], "service_checks": [], "lines": 0}


def counter(name, tags, inc):
    expected["lines"] += 1
    m = expected["metrics"].setdefault(name, {"kind": "counter", "tags": tags, "sum": 0.0})
    m["sum"] += inc


def gauge(name, tags, value, delta=False):
    expected["lines"] += 1
    m = expected["metrics"].setdefault(name, {"kind": "gauge", "tags": tags, "last": 0.0})
    m["last"] = m["last"] + value if delta else value


def dist(name, kind, tags, value, rate=1.0):
    expected["lines"] += 1
    m = expected["metrics"].setdefault(
        name, {"kind": kind, "tags": tags, "count": 0.0, "sum": 0.0, "values": []}
    )
    m["count"] += 1.0 / rate
    m["sum"] += value / rate
    m["values"].append(value)


def set_(name, tags, value):
    expected["lines"] += 1
    m = expected["metrics"].setdefault(name, {"kind": "set", "tags": tags, "members": []})
    if value not in m["members"]:
        m["members"].append(value)


def lognormal():
    return round(rng.lognormvariate(3.0, 1.0), 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--udp", type=int, required=True)
    ap.add_argument("--unix")
    ap.add_argument("--tcp", type=int)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    # --- the Datadog client over UDP
    dd = DogStatsd(
        host="127.0.0.1",
        port=a.udp,
        disable_telemetry=True,
        origin_detection_enabled=False,
        container_id="c0ffee42",
    )
    tags = ["env:test", "route:/a"]
    tagmap = {"env": "test", "route": "/a", "container.id": "c0ffee42"}
    for _ in range(50):
        dd.increment("dd.requests", 1, tags=tags)
        counter("dd.requests", tagmap, 1)
    for _ in range(20):
        dd.increment("dd.requests", 2, tags=tags, sample_rate=0.5)
        counter("dd.requests", tagmap, 2 / 0.5)
    for v in (3.5, 7.25, 4.0):
        dd.gauge("dd.temperature", v, tags=["room:lab"])
        gauge("dd.temperature", {"room": "lab", "container.id": "c0ffee42"}, v)
    for _ in range(200):
        v = lognormal()
        dd.histogram("dd.latency", v, tags=["route:/a"])
        dist("dd.latency", "summary", {"route": "/a", "container.id": "c0ffee42"}, v)
    for _ in range(100):
        v = lognormal()
        dd.timing("dd.db.query", v, tags=["db:main"], sample_rate=0.25)
        dist("dd.db.query", "summary", {"db": "main", "container.id": "c0ffee42"}, v, 0.25)
    for _ in range(300):
        v = round(rng.uniform(100, 5000), 2)
        dd.distribution("dd.payload.size", v, tags=["kind:json"])
        dist("dd.payload.size", "histogram", {"kind": "json", "container.id": "c0ffee42"}, v)
    for _ in range(100):
        u = "user%d" % rng.randrange(40)
        dd.set("dd.users", u, tags=["app:web"])
        set_("dd.users", {"app": "web", "container.id": "c0ffee42"}, u)
    dd.event(
        "Deploy | v1.2",
        "rolled out\nto 3 hosts",
        alert_type="success",
        tags=["env:test"],
        aggregation_key="deploy",
        source_type_name="ci",
    )
    expected["events"].append(
        {"title": "Deploy | v1.2", "text": "rolled out\nto 3 hosts", "alert_type": "success", "severity": "INFO"}
    )
    dd.event("Disk full", "/var at 100%", alert_type="error", hostname="db1", priority="low")
    expected["events"].append(
        {"title": "Disk full", "text": "/var at 100%", "alert_type": "error", "severity": "ERROR"}
    )
    dd.service_check("app.can_connect", DogStatsd.WARNING, tags=["db:main"], message="slow answers")
    expected["service_checks"].append(
        {"name": "app.can_connect", "status": 1, "message": "slow answers", "severity": "WARN"}
    )
    dd.service_check("app.alive", DogStatsd.OK)
    expected["service_checks"].append({"name": "app.alive", "status": 0, "severity": "INFO"})
    dd.flush()
    dd.close_socket()

    # --- the plain StatsD client over UDP
    plain = StatsClient("127.0.0.1", a.udp, prefix="plain")
    for _ in range(10):
        plain.incr("hits", 3, rate=0.5)
        counter("plain.hits", {}, 3 / 0.5)
    for _ in range(5):
        plain.decr("hits", 1)
        counter("plain.hits", {}, -1)
    plain.gauge("level", 10)
    gauge("plain.level", {}, 10)
    plain.gauge("level", 5, delta=True)
    gauge("plain.level", {}, 5, delta=True)
    plain.gauge("level", -3, delta=True)
    gauge("plain.level", {}, -3, delta=True)
    for _ in range(50):
        v = lognormal()
        plain.timing("render", v)
        dist("plain.render", "summary", {}, v)
    for i in range(30):
        plain.set("visitors", "v%d" % (i % 12))
        set_("plain.visitors", {}, "v%d" % (i % 12))

    # --- the Datadog client over a Unix datagram socket
    if a.unix:
        # a blocking send (with a timeout): the kernel's datagram queue of a Unix socket is short
        # (net.unix.max_dgram_qlen, 10 here), and a non-blocking client drops when it is full
        ux = DogStatsd(socket_path=a.unix, disable_telemetry=True, origin_detection_enabled=False, socket_timeout=5)
        for _ in range(25):
            ux.increment("dd.uds.requests", tags=["transport:uds"])
            counter("dd.uds.requests", {"transport": "uds"}, 1)
        ux.flush()
        ux.close_socket()

    # --- the plain client over TCP
    if a.tcp:
        tcp = TCPStatsClient("127.0.0.1", a.tcp, prefix="tcp")
        for _ in range(3):
            tcp.incr("requests", 7)
            counter("tcp.requests", {}, 7)
        tcp.close()

    expected["lines"] += len(expected["events"]) + len(expected["service_checks"])
    for m in expected["metrics"].values():
        if m["kind"] == "set":
            m["unique"] = len(m.pop("members"))
        if "values" in m:
            m["min"] = min(m["values"])
            m["max"] = max(m["values"])
            m["values"].sort()
    with open(a.out, "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
