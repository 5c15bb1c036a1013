#!/usr/bin/env python3
"""serve benchmark: `airlock serve` under wrk load against the engine's own throughput on the same
inputs, in the same run.

The model is the quickstart's demo model in all-MiniLM-L6-v2's shape (6 layers, 384 wide, random
weights: the compute of a real MiniLM), served from a file:// store built by
`airlock quickstart --demo-size mini --no-serve`. Two inputs: a short one ("hello from the air gap",
7 tokens with [CLS]/[SEP]) and one of exactly 128 tokens. For each:

  server   wrk -t2 -c N -d D --latency, N = 1, 16, 64, 256 connections, one input per request
           (POST /v1/embeddings): requests/s (= sequences/s), p50 and p99 latency
  engine   serve_engine_peer: Model::embed on batches of the same text, no HTTP, no JSON, no
           scheduler, from 2 threads like the server's 2 executors (batch 1, and batch 64 = what
           the scheduler merges at saturation)
  ratio    server sequences/s / engine sequences/s at batch 64 (goal >= 0.95 at saturation)
  batching server at 64 connections with its default scheduler vs --max-batch-requests 1
           (goal >= 3x)

wrk, the server and the peer share this machine's cores; the peer runs alone. With
--update-readme the tables go into bench/README.md under "## serve". Run with the release build:
    cmake --preset release -B build/release && ninja -C build/release airlock serve_engine_peer
    python3 bench/server/serve_bench.py --airlock build/release/src/cli/airlock \
        --peer build/release/bench/server/serve_engine_peer --update-readme
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

EXECUTORS = 2  # airlock serve's default --executors; the peer runs as many callers
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHORT = "hello from the air gap"
WORDS = ("the of and to in is was it for on with as by at be this that from or an are not have has had but were which "
         "you all their they one can there been if more when will would who so no she he her his him its our we us me my "
         "your them these those than then what about out up into only other some time could also after first two new any "
         "like may over such most people made state years many where year before through back much how used way well down "
         "should because each just between under last while long being both very even still world life same part here "
         "might own work day good place show great high large small big old young right left").split()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(req, timeout=timeout) as response:
        return json.loads(response.read())


class Server:
    def __init__(self, airlock, store, cache, threads, extra=()):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.log = open(os.path.join(cache, "serve-%d.log" % self.port), "w")
        self.process = subprocess.Popen(
            [airlock, "--log-level", "warn", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--model-profiles-path", store, "--cache-dir", cache, "--threads", str(threads)] + list(extra),
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("airlock serve exited: see %s" % self.log.name)
            try:
                request(self.url + "/v1/health/ready", timeout=2)
                return
            except Exception:
                time.sleep(0.2)
        raise SystemExit("airlock serve was not ready in time")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        self.log.close()


def wrk(url, text, connections, duration, work):
    script = os.path.join(work, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n'
                % json.dumps(json.dumps({"input": [text]})))
    out = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", "%ds" % duration, "--latency", "--timeout", "30s",
                          "-s", script, url + "/v1/embeddings"], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def percentile(p):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rate": rate, "p50": percentile(50), "p99": percentile(99), "non2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else ""}


def peer(binary, model_dir, text, batch, seconds, threads, callers):
    out = subprocess.run([binary, "--model", model_dir, "--text", text, "--batch", str(batch), "--seconds", str(seconds),
                          "--threads", str(threads), "--callers", str(callers)], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def long_text(url):
    """A text of exactly 128 tokens ([CLS] + 126 words + [SEP]), checked against the server's count."""
    text = " ".join(WORDS[i % len(WORDS)] for i in range(126))
    tokens = request(url + "/v1/embeddings", {"input": [text]})["usage"]["prompt_tokens"]
    if tokens != 128:
        raise SystemExit("the 128-token input tokenizes to %d tokens" % tokens)
    return text


def update_readme(section):
    path = os.path.join(ROOT, "bench", "README.md")
    text = open(path).read()
    start = text.find("\n## serve\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + "\n" + section + (text[end:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    open(path, "w").write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--airlock", required=True)
    parser.add_argument("--peer", required=True, help="serve_engine_peer (release build)")
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-serve-bench"))
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--threads", type=int, default=1,
                        help="engine threads (server and peer); 1 leaves a core to wrk and the HTTP side on 2 cores")
    parser.add_argument("--connections", default="1,16,64,256")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    # OpenMP threads that spin at barriers collapse when another process holds a core (batch 1
    # falls from ~150 to ~3 sequences/s on a busy 2-core machine): both sides sleep instead.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package wrk)")

    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    subprocess.run([args.airlock, "--quiet", "quickstart", "--demo-size", "mini", "--workdir", args.work, "--no-serve"],
                   check=True, stdout=subprocess.DEVNULL)
    store = "file://" + os.path.join(args.work, "store")
    model_dir = os.path.join(args.work, "hub", "models--airlock--demo-embedding")
    cache = os.path.join(args.work, "runtime-cache")
    os.makedirs(cache, exist_ok=True)
    load = os.getloadavg()[0]
    connections = [int(c) for c in args.connections.split(",")]

    server = Server(args.airlock, store, cache, args.threads)
    texts = {"short (7 tokens)": SHORT, "128 tokens": long_text(server.url)}
    results = {}
    try:
        for name, text in texts.items():
            for c in connections:
                results[(name, c)] = wrk(server.url, text, c, args.duration, args.work)
                print(name, c, results[(name, c)], flush=True)
    finally:
        server.stop()
    unbatched = Server(args.airlock, store, cache, args.threads, ["--max-batch-requests", "1"])
    try:
        for name, text in texts.items():
            results[(name, "bs1")] = wrk(unbatched.url, text, 64, args.duration, args.work)
            print(name, "bs1", results[(name, "bs1")], flush=True)
    finally:
        unbatched.stop()
    engine = {}
    for name, text in texts.items():
        for batch in (1, 64):
            engine[(name, batch)] = peer(args.peer, model_dir, text, batch, max(3, args.duration // 2), args.threads,
                                         EXECUTORS)
            print(name, "engine", batch, engine[(name, batch)], flush=True)

    date = datetime.date.today().isoformat()
    lines = ["## serve", "",
             "`bench/server/serve_bench.py` (target `bench_server`): `airlock serve` (release build) loaded by wrk (2 threads, "
             "%ds per run, one input per request) against `serve_engine_peer`, the engine's `Model::embed` on the same "
             "text with no HTTP, JSON or scheduler, called from 2 threads as the server's 2 executors call it (so "
             "tokenization overlaps the other's forward pass in both). Model: the quickstart demo model in all-MiniLM-L6-v2's shape (6 layers, "
             "384 wide, random weights), fp32, %d engine thread(s), OMP_WAIT_POLICY=%s. %s, %d cores, load average %.1f when "
             "the run began, %s. wrk, the server and other work on the machine share the cores; the peer runs alone."
             % (args.duration, args.threads, os.environ["OMP_WAIT_POLICY"], platform.machine(), os.cpu_count(), load, date), "",
             "| input | connections | requests/s | p50 ms | p99 ms | server / engine (batch 64) | errors |",
             "|---|---|---|---|---|---|---|"]
    for name in texts:
        best = engine[(name, 64)]["sequences_per_s"]
        for c in connections:
            r = results[(name, c)]
            errors = r["non2xx"] or r["socket_errors"] or 0
            lines.append("| %s | %d | %.0f | %.1f | %.1f | %.2f | %s |" % (name, c, r["rate"], r["p50"], r["p99"], r["rate"] / best, errors))
    lines += ["", "| input | engine batch 1 seq/s | engine batch 64 seq/s | server @64, batching | server @64, --max-batch-requests 1 | batching gain |",
              "|---|---|---|---|---|---|"]
    for name in texts:
        gain = results[(name, 64)]["rate"] / results[(name, "bs1")]["rate"]
        lines.append("| %s | %.0f | %.0f | %.0f | %.0f | %.2fx |" % (
            name, engine[(name, 1)]["sequences_per_s"], engine[(name, 64)]["sequences_per_s"], results[(name, 64)]["rate"],
            results[(name, "bs1")]["rate"], gain))
    saturation = {name: max(results[(name, c)]["rate"] for c in connections) / engine[(name, 64)]["sequences_per_s"] for name in texts}
    lines += ["", "Goals (issue 7): server / engine >= 0.95 at saturation — %s; batching gain >= 3x at 64 connections — %s." % (
        ", ".join("%s %.2f" % (n, v) for n, v in saturation.items()),
        ", ".join("%s %.2fx" % (n, results[(n, 64)]["rate"] / results[(n, "bs1")]["rate"]) for n in texts)), ""]
    section = "\n".join(lines)
    print(section)
    if args.update_readme:
        update_readme(section)


if __name__ == "__main__":
    sys.exit(main())
