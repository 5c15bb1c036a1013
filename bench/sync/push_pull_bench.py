#!/usr/bin/env python3
"""push/pull benchmark: airlock against the aws CLI and rclone, in the same run, against the same
local S3 server (s3rver from npm), plus what that server itself can take.

The data set is a Hugging Face-style cache of about 2 GiB of real data under
huggingface/hub/models--bench--model/: one large blob (1 GiB), six medium ones (128 MiB each),
200 small ones (1.25 MiB each), refs/main, and a snapshot in which every entry is a relative
symlink into blobs/ (207 links). Each tool pushes it to its own prefix of one bucket and pulls it
back into a fresh directory:

  airlock  push / pull (the index, symlinks recorded, sha256 of every byte checked on pull; also
           timed with --verify=size to show what full verification costs)
  aws      aws s3 cp --recursive both ways (Debian's awscli, defaults: 10 requests at once); it
           follows the symlinks, so every snapshot entry is stored a second time
  rclone   rclone copy -l --fast-list both ways (defaults: 4 transfers); -l stores links as
           .rclonelink objects
  raw      curl --parallel (16 at once) PUT then GET of the same 2 GiB of files: no tool logic,
           the server's own ceiling

Reported: wall-clock seconds, MB/s of real data (the 2 GiB the cache holds, whatever a tool
stores), bytes stored, and the ratios airlock / peer. With --update-readme the table goes into
bench/README.md under "## push/pull". Run with the release build:
    cmake --preset release -B build/release && ninja -C build/release airlock
    python3 bench/sync/push_pull_bench.py --airlock build/release/src/cli/airlock --update-readme
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

MiB = 1 << 20
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPO = "huggingface/hub/models--bench--model"
BUCKET = "bench"


def data_set(scale):
    blobs = [("big", int(1024 * MiB * scale), "model.safetensors")]
    blobs += [("medium%02d" % i, int(128 * MiB * scale), "shard-%02d.bin" % i) for i in range(6)]
    blobs += [("small%03d" % i, int(1.25 * MiB * scale), "extra/part-%03d.json" % i) for i in range(200)]
    return blobs


def make_cache(root, scale):
    """Writes the cache once (random bytes; reused across runs) and returns the bytes of real data."""
    marker = os.path.join(root, ".bench-scale")
    if os.path.exists(marker) and open(marker).read() == str(scale):
        return sum(size for _, size, _ in data_set(scale)) + 6
    shutil.rmtree(root, ignore_errors=True)
    repo = os.path.join(root, REPO)
    os.makedirs(os.path.join(repo, "blobs"))
    os.makedirs(os.path.join(repo, "refs"))
    snapshot = os.path.join(repo, "snapshots", "c0ffee")
    total = 0
    for name, size, entry in data_set(scale):
        with open(os.path.join(repo, "blobs", name), "wb") as f:
            written = 0
            while written < size:
                n = min(4 * MiB, size - written)
                f.write(os.urandom(n))
                written += n
        total += size
        link = os.path.join(snapshot, entry)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        depth = entry.count("/")
        os.symlink("../" * (2 + depth) + "blobs/" + name, link)
    with open(os.path.join(repo, "refs", "main"), "w") as f:
        f.write("c0ffee")
    total += 6
    open(marker, "w").write(str(scale))
    return total


def run(argv, env, quiet=True):
    started = time.monotonic()
    result = subprocess.run(argv, env=env, stdout=subprocess.PIPE if quiet else None, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        sys.stderr.write("FAILED: %s\n%s\n%s\n" % (" ".join(argv), result.stdout or "", result.stderr[-4000:]))
        raise SystemExit(1)
    return elapsed, result


def drop_dir(path):
    shutil.rmtree(path, ignore_errors=True)


class S3rver:
    def __init__(self, work):
        self.dir = os.path.join(work, "s3rver")
        drop_dir(self.dir)
        self.process = subprocess.Popen(
            ["node", "--openssl-legacy-provider", os.path.join(ROOT, "tests/servers/s3rver_main.js"), "--directory",
             self.dir, BUCKET], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=dict(os.environ, AIRLOCK_NODE_MODULES=os.path.join(ROOT, "node_modules")))
        line = self.process.stdout.readline()
        match = re.search(r"LISTENING (\d+)", line)
        if not match:
            raise SystemExit("s3rver did not start: " + line + self.process.stdout.read())
        self.port = int(match.group(1))
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def stored_bytes(self, prefix):
        root = os.path.join(self.dir, BUCKET, prefix)
        total = 0
        for dirpath, _, files in os.walk(root):
            for name in files:
                if name.endswith("._S3rver_object"):
                    total += os.path.getsize(os.path.join(dirpath, name))
        return total

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def client_env(work):
    env = dict(os.environ)
    for name in ("AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    env.update({
        "AWS_ACCESS_KEY_ID": "S3RVER", "AWS_SECRET_ACCESS_KEY": "S3RVER", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required", "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        "RCLONE_CONFIG": os.path.join(work, "rclone.conf"), "RCLONE_CONFIG_BENCH_TYPE": "s3",
        "RCLONE_CONFIG_BENCH_PROVIDER": "Other", "RCLONE_CONFIG_BENCH_ACCESS_KEY_ID": "S3RVER",
        "RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY": "S3RVER", "RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE": "true",
    })
    open(env["RCLONE_CONFIG"], "w").close()
    return env


def raw_transfers(server, cache, work, env):
    """curl --parallel: every real file PUT, then GET, 16 at once."""
    files = []
    for dirpath, _, names in os.walk(os.path.join(cache, REPO, "blobs")):
        for name in names:
            files.append(os.path.join(dirpath, name))
    put_config = os.path.join(work, "put.curl")
    get_config = os.path.join(work, "get.curl")
    out_dir = os.path.join(work, "raw-get")
    drop_dir(out_dir)
    os.makedirs(out_dir)
    with open(put_config, "w") as put, open(get_config, "w") as get:
        for path in files:
            name = os.path.basename(path)
            url = "%s/%s/raw/%s" % (server.endpoint, BUCKET, name)
            put.write('upload-file = "%s"\nurl = "%s"\n' % (path, url))
            get.write('url = "%s"\noutput = "%s"\n' % (url, os.path.join(out_dir, name)))
    common = ["curl", "-sS", "--fail", "--parallel", "--parallel-max", "16"]
    push, _ = run(common + ["-K", put_config], env)
    pull, _ = run(common + ["-K", get_config], env)
    return push, pull


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--airlock", default=os.path.join(ROOT, "build/release/src/cli/airlock"))
    parser.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "airlock-bench-sync"))
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 2 GiB data set")
    parser.add_argument("--aws", default="/usr/bin/aws" if os.path.exists("/usr/bin/aws") else "aws")
    parser.add_argument("--update-readme", action="store_true")
    parser.add_argument("--skip", default="", help="comma list of tools to leave out (aws,rclone,raw)")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    os.makedirs(args.work, exist_ok=True)
    cache = os.path.join(args.work, "cache")
    real = make_cache(cache, args.scale)
    env = client_env(args.work)
    server = S3rver(args.work)
    env["RCLONE_CONFIG_BENCH_ENDPOINT"] = server.endpoint
    results = {}
    try:
        def timed_pull(name, argv, dest):
            drop_dir(dest)
            subprocess.run(["sync"])
            seconds, _ = run(argv, env)
            return seconds

        # airlock
        push, out = run([args.airlock, "-q", "push", cache, "s3://%s/airlock" % BUCKET, "--endpoint-url", server.endpoint,
                         "--json"], env)
        pushed = json.loads(out.stdout)
        dest = os.path.join(args.work, "pull-airlock")
        pull = timed_pull("airlock", [args.airlock, "-q", "pull", "s3://%s/airlock" % BUCKET, dest, "--endpoint-url",
                                      server.endpoint], dest)
        pull_size = timed_pull("airlock", [args.airlock, "-q", "pull", "s3://%s/airlock" % BUCKET, dest, "--endpoint-url",
                                           server.endpoint, "--verify=size"], dest)
        # The default sends objects up to 1 GiB in one PUT; the same push in 16 MiB parts from
        # 128 MiB up shows what multipart costs on this server (s3rver copies parts on completion).
        push_parts, _ = run([args.airlock, "-q", "push", cache, "s3://%s/airlock-parts" % BUCKET, "--endpoint-url",
                             server.endpoint, "--multipart-threshold", "128MiB"], env)
        results["airlock"] = {"push": push, "pull": pull, "pull_size_only": pull_size, "push_parts": push_parts,
                              "stored": server.stored_bytes("airlock"), "uploaded_files": pushed["uploaded_files"]}
        drop_dir(dest)

        if "aws" not in skip:
            push, _ = run([args.aws, "--endpoint-url", server.endpoint, "s3", "cp", "--recursive", "--only-show-errors",
                           cache, "s3://%s/aws/" % BUCKET], env)
            dest = os.path.join(args.work, "pull-aws")
            pull = timed_pull("aws", [args.aws, "--endpoint-url", server.endpoint, "s3", "cp", "--recursive",
                                      "--only-show-errors", "s3://%s/aws/" % BUCKET, dest], dest)
            results["aws s3 cp"] = {"push": push, "pull": pull, "stored": server.stored_bytes("aws")}
            drop_dir(dest)

        if "rclone" not in skip:
            push, _ = run(["rclone", "copy", "-l", "--fast-list", cache, "bench:%s/rclone" % BUCKET], env)
            dest = os.path.join(args.work, "pull-rclone")
            pull = timed_pull("rclone", ["rclone", "copy", "-l", "--fast-list", "bench:%s/rclone" % BUCKET, dest], dest)
            results["rclone -l"] = {"push": push, "pull": pull, "stored": server.stored_bytes("rclone")}
            drop_dir(dest)

        if "raw" not in skip:
            push, pull = raw_transfers(server, cache, args.work, env)
            results["raw curl x16"] = {"push": push, "pull": pull, "stored": server.stored_bytes("raw")}
            drop_dir(os.path.join(args.work, "raw-get"))
    finally:
        server.stop()
        drop_dir(server.dir)

    mb = real / 1e6
    airlock = results["airlock"]
    lines = []
    lines.append("| tool | push s | push MB/s | pull s | pull MB/s | bytes stored | push: airlock faster by | pull: airlock faster by |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        push_ratio = "—" if name == "airlock" else "%.2fx" % (r["push"] / airlock["push"])
        pull_ratio = "—" if name == "airlock" else "%.2fx" % (r["pull"] / airlock["pull"])
        lines.append("| %s | %.1f | %.0f | %.1f | %.0f | %s (%.2fx real data) | %s | %s |" % (
            name, r["push"], mb / r["push"], r["pull"], mb / r["pull"], "{:,}".format(r["stored"]), r["stored"] / real,
            push_ratio, pull_ratio))
    notes = []
    notes.append("airlock sends objects up to 1 GiB in one PUT by default; pushing the same tree with "
                 "--multipart-threshold 128MiB (the 1 GiB and 128 MiB blobs in 16 MiB parts, 4 in flight) took %.1f s "
                 "(%.0f MB/s): s3rver copies the parts into the object when an upload completes." % (
                     airlock["push_parts"], mb / airlock["push_parts"]))
    notes.append("Full sha256 verification on pull: %.1f s vs %.1f s with --verify=size (+%.0f%%)." % (
        airlock["pull"], airlock["pull_size_only"], 100.0 * (airlock["pull"] / airlock["pull_size_only"] - 1)))
    if "raw curl x16" in results:
        raw = results["raw curl x16"]
        notes.append("airlock reaches %.0f%% of the server's raw parallel PUT rate and %.0f%% of its raw GET rate." % (
            100.0 * raw["push"] / airlock["push"], 100.0 * raw["pull"] / airlock["pull"]))
    machine = "%s, %d cores, %s" % (platform.processor() or platform.machine(), os.cpu_count(), platform.platform())
    header = ("Data: %.2f GB of real data (%d blobs, %d snapshot symlinks), s3rver on 127.0.0.1, %s, %s." % (
        mb / 1000, len(data_set(args.scale)), len(data_set(args.scale)), machine, datetime.date.today().isoformat()))
    report = "\n".join([header, ""] + lines + [""] + notes) + "\n"
    print(report)
    if args.update_readme:
        update_readme(report)
    return 0


def update_readme(report):
    path = os.path.join(ROOT, "bench", "README.md")
    text = open(path).read()
    section = ("## push/pull\n\n`bench/sync/push_pull_bench.py` (see its header): a 2 GiB Hugging Face-style cache pushed "
               "to and pulled from a local s3rver by airlock, the aws CLI and rclone in one run, and raw parallel curl "
               "requests for the server's own ceiling. Run it with `ninja -C build/release bench_sync`. Loopback and "
               "2 shared cores make every tool CPU-bound (s3rver is single-threaded Node.js); compare the ratios within "
               "one run, not the absolute rates across runs.\n\n" + report)
    pattern = re.compile(r"## push/pull\n.*?(?=\n## |\Z)", re.S)
    if pattern.search(text):
        text = pattern.sub(section.rstrip("\n") + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    open(path, "w").write(text)


if __name__ == "__main__":
    sys.exit(main())
