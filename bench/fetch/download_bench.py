#!/usr/bin/env python3
"""download-to-cache benchmark: airlock against aria2c -x8 -s8 and curl, in the same run, on the
same files from a local nginx.

The data set is about 2 GiB: one large file (1 GiB), several medium ones (6 x 128 MiB) and many
small ones (200 x 1.25 MiB). nginx (Debian's) serves it on 127.0.0.1 from the page cache. Each tool
downloads every file into a fresh directory:

  airlock  download-to-cache of an airlock/1 manifest listing each file with its sha256 and size:
           parallel files, parallel ranges for large ones, every byte hashed and checked before the
           file takes its name, blobs + snapshot links + a profile record
  aria2c   -x8 -s8 (8 connections per file, split in 8), -j8 files at once, no checks
  curl     one process, files one after another over one connection (curl -K), no checks

Wall-clock time per tool (median of --rounds), MB/s and the per-round ratios are printed, and with
--update-readme written into bench/README.md under "## download-to-cache". Run it with the release
build: `cmake --preset release -B build/release && ninja -C build/release airlock bench_fetch`, or
directly: `python3 bench/fetch/download_bench.py --airlock build/release/src/cli/airlock`.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

MiB = 1 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def data_set(scale):
    files = [("large/model-00001.safetensors", int(1024 * MiB * scale))]
    files += [("medium/shard-%02d.bin" % i, int(128 * MiB * scale)) for i in range(6)]
    files += [("small/part-%03d.json" % i, int(1.25 * MiB * scale)) for i in range(200)]
    return files


def prepare_data(root, scale):
    """Creates the files once (random bytes) and returns [(path, size, sha256)]."""
    index_path = os.path.join(root, "index.json")
    wanted = data_set(scale)
    if os.path.exists(index_path):
        with open(index_path) as f:
            index = json.load(f)
        if [(e[0], e[1]) for e in index] == [list(w) for w in wanted] or [(e[0], e[1]) for e in index] == wanted:
            return [tuple(e) for e in index]
    index = []
    for path, size in wanted:
        full = os.path.join(root, "files", path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        digest = hashlib.sha256()
        with open(full, "wb") as f:
            left = size
            while left > 0:
                block = os.urandom(min(left, 8 * MiB))
                digest.update(block)
                f.write(block)
                left -= len(block)
        index.append((path, size, digest.hexdigest()))
    with open(index_path, "w") as f:
        json.dump(index, f)
    return index


def start_nginx(root, work, port):
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""
worker_processes 2;
pid %(work)s/nginx.pid;
error_log %(work)s/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 60;
  client_body_temp_path %(work)s/body;
  proxy_temp_path %(work)s/proxy;
  fastcgi_temp_path %(work)s/fastcgi;
  uwsgi_temp_path %(work)s/uwsgi;
  scgi_temp_path %(work)s/scgi;
  types { application/octet-stream bin safetensors json; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
  }
}
""" % {"work": work, "port": port, "root": os.path.join(root, "files")})
    process = subprocess.Popen(["nginx", "-p", work, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("nginx did not start: " + process.stderr.read().decode())


def warm(root, index):
    """Reads every file once so that each tool is served from the page cache alike."""
    for path, _, _ in index:
        with open(os.path.join(root, "files", path), "rb") as f:
            while f.read(8 * MiB):
                pass


def run_airlock(binary, base, index, work, jobs):
    manifest = os.path.join(work, "manifest.yaml")
    with open(manifest, "w") as f:
        f.write("schema_version: airlock/1\nmodel: {name: bench/model}\nprofiles:\n  - id: 'bench'\n"
                "    tags: {device: cpu}\n    workspace:\n      files:\n")
        for path, size, sha in index:
            f.write("        %s: {uri: '%s/%s', sha256: '%s', size: %d}\n" % (path, base, path, sha, size))
    out = os.path.join(work, "airlock-cache")
    command = [binary, "--quiet", "download-to-cache", "-m", manifest, "--all", "--cache-dir", out, "-j", str(jobs), "--json"]
    return command, out


def run_aria2(base, index, work, jobs):
    listing = os.path.join(work, "aria2.txt")
    out = os.path.join(work, "aria2")
    with open(listing, "w") as f:
        for path, _, _ in index:
            f.write("%s/%s\n  out=%s\n" % (base, path, path))
    command = ["aria2c", "-x8", "-s8", "-j%d" % jobs, "-i", listing, "-d", out, "--file-allocation=none",
               "--console-log-level=error", "--summary-interval=0", "--download-result=hide", "--allow-overwrite=true",
               "--auto-file-renaming=false", "--quiet=true"]
    return command, out


def run_curl(base, index, work):
    config = os.path.join(work, "curl.cfg")
    out = os.path.join(work, "curl")
    with open(config, "w") as f:
        for path, _, _ in index:
            f.write('url = "%s/%s"\noutput = "%s/%s"\n' % (base, path, out, path))
    return ["curl", "-sS", "--fail", "--create-dirs", "-K", config], out


def timed(command, out):
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(["sync"], check=False)
    started = time.monotonic()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (command[0], result.returncode, result.stderr.decode()[-2000:]))
    return seconds, result.stdout.decode()


def check_output(out, index, flat=True):
    for path, size, _ in index:
        full = os.path.join(out, path)
        if not os.path.exists(full) or os.path.getsize(full) != size:
            raise RuntimeError("%s is missing or has the wrong size" % full)


def describe(index):
    sizes = {}
    for _, size, _ in index:
        sizes[size] = sizes.get(size, 0) + 1
    return ", ".join("%d x %.2f MiB" % (count, size / MiB) for size, count in sorted(sizes.items(), reverse=True))


def update_readme(readme, section):
    text = open(readme).read() if os.path.exists(readme) else "# Benchmarks\n"
    header = "## download-to-cache"
    start = text.find(header)
    if start >= 0:
        end = text.find("\n## ", start + len(header))
        text = text[:start] + section + ("\n" + text[end + 1:] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(readme, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    project = os.path.dirname(os.path.dirname(here))
    parser.add_argument("--airlock", default=os.path.join(project, "build", "release", "src", "cli", "airlock"))
    parser.add_argument("--data", default=os.path.join(project, "build", "bench-fetch-data"), help="where the data set lives")
    parser.add_argument("--work", default=None, help="where downloads go (default: a temporary directory beside --data)")
    parser.add_argument("--scale", type=float, default=1.0, help="data set size factor (1.0 = about 2 GiB)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()

    for tool in ("nginx", "aria2c", "curl"):
        if shutil.which(tool) is None:
            print("download bench: %s is not installed (scripts/setup installs it)" % tool, file=sys.stderr)
            return 1
    if not os.access(args.airlock, os.X_OK):
        print("download bench: no airlock binary at %s (build the release preset)" % args.airlock, file=sys.stderr)
        return 1
    args.data = os.path.abspath(args.data)
    args.airlock = os.path.abspath(args.airlock)
    os.makedirs(args.data, exist_ok=True)
    index = prepare_data(args.data, args.scale)
    total = sum(size for _, size, _ in index)
    work = tempfile.mkdtemp(prefix="bench-fetch-", dir=args.work or os.path.dirname(os.path.abspath(args.data)))
    port = free_port()
    nginx = start_nginx(args.data, work, port)
    base = "http://127.0.0.1:%d" % port
    results = {}
    load = os.getloadavg()[0]
    try:
        warm(args.data, index)
        tools = {
            "airlock": run_airlock(args.airlock, base, index, work, args.jobs),
            "aria2c -x8 -s8": run_aria2(base, index, work, args.jobs),
            "curl": run_curl(base, index, work),
        }
        for round_number in range(args.rounds):
            for name, (command, out) in tools.items():
                seconds, stdout = timed(command, out)
                if name == "airlock":
                    summary = json.loads(stdout)
                    if not summary.get("ok") or summary.get("downloaded") != len(index):
                        raise RuntimeError("airlock did not download everything: " + stdout[-1000:])
                else:
                    check_output(out, index)
                results.setdefault(name, []).append(seconds)
                print("round %d  %-16s %7.2f s  %8.1f MB/s" % (round_number + 1, name, seconds, total / seconds / 1e6), flush=True)
                shutil.rmtree(out, ignore_errors=True)
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            nginx.kill()
        shutil.rmtree(work, ignore_errors=True)

    # Other work on the machine moves all tools of a round alike: the ratio is taken per round
    # (airlock's speed over the tool's), and the median of rounds is reported.
    median = {name: statistics.median(times) for name, times in results.items()}
    rate = {name: total / seconds / 1e6 for name, seconds in median.items()}
    ratio = {name: statistics.median(a / b for a, b in zip(results[name], results["airlock"])) for name in results}
    lines = ["| tool | what it does | median time (s) | MB/s | airlock / tool (median of rounds) |", "|---|---|---|---|---|"]
    what = {"airlock": "parallel files and ranges, sha256 of every byte checked, hub layout + record",
            "aria2c -x8 -s8": "8 connections per file, 8 files at once, no check",
            "curl": "one connection, files in sequence, no check"}
    for name in results:
        lines.append("| %s | %s | %.2f | %.0f | %.2f |" % (name, what[name], median[name], rate[name], ratio[name]))
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    section = "\n".join([
        "## download-to-cache",
        "",
        "`bench/fetch/download_bench.py` (target `bench_fetch`): %.2f GiB in %d files (%s)"
        % (total / (1 << 30), len(index), describe(index)),
        "from a local nginx on 127.0.0.1, page cache warm, %d transfers at once, %d rounds. %s, %d cores,"
        % (args.jobs, args.rounds, cpu, os.cpu_count()),
        "load average %.1f when the run began (other work on the machine shows in the times), %s."
        % (load, datetime.date.today().isoformat()),
        "",
    ] + lines + [
        "",
        "Goal: airlock >= aria2c while checking every byte. Loopback makes this CPU-bound: the server, the client",
        "and the hashing share the same cores, so the numbers rank the tools rather than measure a network.",
        "",
    ])
    print()
    print(section)
    if args.update_readme:
        update_readme(os.path.join(project, "bench", "README.md"), section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
