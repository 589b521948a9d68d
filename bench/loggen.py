#!/usr/bin/env python3
"""Writes a mixed log file for bench/logs.sh: loggen.py PATH SIZE_MB [DISTINCT]

Builds DISTINCT (default 8192) different lines once, about half JSON app logs
  {"time":"2024-01-02T03:04:05.123Z","level":"info","msg":"request served","user":"u123",...}
and half plain lines
  2024-01-02 03:04:05,123 INFO [worker-3] processed order 4242 for alice@example.org in 15 ms
with varying times, levels, numbers and users; about 1 line in 4 holds an e-mail address and
about 1 in 64 a card-like number (4111111111111111, which passes the Luhn check), so a redaction
processor has work. That block is then written over and over (whole lines only) until the file
reaches SIZE_MB MiB (rounded down to a whole line). Seeded: the same arguments give the same file.
Prints "lines=N bytes=B emails=E cards=C" (E and C count lines holding one).
"""
import random
import sys

path, size_mb = sys.argv[1], int(sys.argv[2])
distinct = int(sys.argv[3]) if len(sys.argv) > 3 else 8192
rng = random.Random(42)

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
DOMAINS = ["example.org", "example.com", "mail.example.net"]
LEVELS = [("info", "INFO", 70), ("debug", "DEBUG", 10), ("warn", "WARN", 12), ("error", "ERROR", 8)]
PATHS = ["/api/v1/items/{}", "/api/v1/users/{}", "/api/v2/orders/{}/lines", "/health", "/static/app.{}.js"]
JSON_MSGS = ["request served", "cache miss", "upstream slow", "retrying request", "session renewed"]
CARD = "4111111111111111"


def level():
    r = rng.randrange(100)
    for low, up, weight in LEVELS:
        if r < weight:
            return low, up
        r -= weight
    return LEVELS[0][:2]


def email():
    return "%s%s@%s" % (rng.choice(NAMES), rng.choice(["", str(rng.randrange(100))]), rng.choice(DOMAINS))


def stamp():
    return (rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60),
            rng.randrange(60), rng.randrange(1000))


lines, emails, cards = [], 0, 0
for i in range(distinct):
    mo, d, h, mi, s, ms = stamp()
    low, up = level()
    with_mail = rng.randrange(4) == 0
    with_card = rng.randrange(64) == 0
    emails += with_mail
    cards += with_card
    if i % 2 == 0:
        user = email() if with_mail else "u%d" % rng.randrange(100000)
        msg = "payment with card %s declined" % CARD if with_card else rng.choice(JSON_MSGS)
        p = rng.choice(PATHS).format(rng.randrange(1, 100000))
        line = ('{"time":"2024-%02d-%02dT%02d:%02d:%02d.%03dZ","level":"%s","msg":"%s","user":"%s",'
                '"path":"%s","ms":%d}' % (mo, d, h, mi, s, ms, low, msg, user, p, rng.randrange(1, 3000)))
    else:
        who = email() if with_mail else rng.choice(NAMES)
        what = ("charged card %s for order %d" % (CARD, rng.randrange(100000)) if with_card
                else "processed order %d for %s" % (rng.randrange(100000), who))
        if with_card and with_mail:
            what += " of " + who
        line = "2024-%02d-%02d %02d:%02d:%02d,%03d %s [worker-%d] %s in %d ms" % (
            mo, d, h, mi, s, ms, up, rng.randrange(16), what, rng.randrange(1, 500))
    lines.append(line + "\n")

block = "".join(lines).encode()
target = size_mb * 1024 * 1024
reps, rest = divmod(target, len(block))
tail = block[: block.rfind(b"\n", 0, rest) + 1] if rest else b""
with open(path, "wb") as f:
    for _ in range(reps):
        f.write(block)
    f.write(tail)
n = reps * distinct + tail.count(b"\n")
e = reps * emails + sum(1 for l in lines[: tail.count(b"\n")] if "@" in l)
c = reps * cards + sum(1 for l in lines[: tail.count(b"\n")] if CARD in l)
print("lines=%d bytes=%d emails=%d cards=%d" % (n, reps * len(block) + len(tail), e, c))
