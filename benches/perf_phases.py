#!/usr/bin/env python3
"""Where a request's server CPU goes: reads `perf script` output of a `TOKEN_BENCH_PERF`
recording (benches/token_server.rs) and puts every sample in the first phase whose pattern
matches a frame of its stack (outermost phases first in PHASES, so a malloc inside claims
building counts as claims). With the requests and the measured rate it prints µs per request.

    perf script -i DIR/04-8000.data 2>/dev/null | python3 benches/perf_phases.py 7921

prints a Markdown table: phase, share of samples, µs per request (share / rate).
"""
import re
import sys

# (phase, frame pattern): the first phase one of whose patterns a stack matches wins.
PHASES = [
    ("signature (aws-lc)", r"KeptKeyPair::sign\b|aws_lc_rs::.*sign|EVP_DigestSign|RSA_sign|ECDSA_do_sign"),
    ("SQLite: prepare, bind, step, commit (sqlx worker thread)", r"sqlite3|sqlx_sqlite::connection::(establish|worker|execute)|sqlx_sqlite::arguments"),
    ("recorder task (batching, sqlx calls, replies)", r"token_batch"),
    ("claims, JWT assembly, token response", r"issue_with_memo|tokens::|claims::|mapped_claims|serde_json::ser|TokenResponse|response_body"),
    ("client authentication", r"authenticate_client|client_auth::"),
    ("form parsing", r"form_request|from_pairs|form_urlencoded"),
    ("grant logic (service account, policies, scopes)", r"oauth::grant::"),
    ("discovery / JWKS handler", r"wellknown::|discovery::|jwk::jwks|published"),
    ("snapshot lookup", r"SnapshotCache|snapshot::"),
    ("HTTP response write (writev: kernel TCP send, loopback delivery)", r"poll_write|poll_flush|writev"),
    ("HTTP request read (recv)", r"poll_read|recvfrom|__libc_recv"),
    ("axum routing, middleware, hyper parse/encode", r"axum::|tower|hyper::|http::"),
    ("runtime: scheduling, wake-ups, timers, epoll", r"tokio::runtime|epoll|futex|park|mio::"),
    ("kernel scheduling (context switches)", r"finish_task_switch|__schedule|schedule"),
    ("memory allocator (callers unknown)", r"malloc|free|realloc|memmove|memcpy"),
]


def stacks(stream):
    frames = []
    for line in stream:
        line = line.rstrip("\n")
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        if line.startswith(("\t", " ")):
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                frames.append(parts[1])
        # else: a sample's header line
    if frames:
        yield frames


def main():
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    compiled = [(name, re.compile(p)) for name, p in PHASES]
    counts = {name: 0 for name, _ in PHASES}
    other = 0
    total = 0
    for frames in stacks(sys.stdin):
        total += 1
        for name, pattern in compiled:
            if any(pattern.search(f) for f in frames):
                counts[name] += 1
                break
        else:
            other += 1
    if not total:
        sys.exit("no samples")
    print("| phase | share of server CPU | µs per request |")
    print("|---|---|---|")
    per_request = 1e6 / rate if rate else 0.0
    rows = sorted(counts.items(), key=lambda kv: -kv[1]) + [("other", other)]
    for name, n in rows:
        if n == 0:
            continue
        share = n / total
        us = f"{share * per_request:.1f}" if rate else "-"
        print(f"| {name} | {100 * share:.1f} % | {us} |")
    if rate:
        print(f"| **total** ({total} samples) | 100 % | **{per_request:.1f}** |")


if __name__ == "__main__":
    main()
