"""Shared parts of the model-hub test servers (ngc_server.py, hf_server.py): the "CDN" that
serves presigned download URLs on a second port, byte serving with Range and ETag, request
statistics, and fault injection. Standard library only.

Faults (--fault, repeatable, or POST /_faults with a JSON list of the same strings; an empty list
clears them). A spec is KIND:key=value,... and applies to requests whose path (CDN or hub, without
the query) matches the fnmatch pattern `path` (default *):
  drop:path=*model*,after=100000,times=1     close the connection after `after` body bytes
  status:path=*,status=503,retry_after=1,times=2   answer an error status first
  flip:path=*rank0*,at=1234,times=1          flip one byte (at offset `at`, default the middle)
  slow:path=*,rate=200000,times=0            send at most `rate` bytes per second (times=0: always)
`times` counts matching requests (default 1; 0 means every request).

GET /_stats on the hub port answers {"requests": [[method, path, status, range], ...],
"body_bytes": {path: bytes sent}, "gets": {path: count}}; POST /_stats/reset clears it.
"""

import fnmatch
import hashlib
import hmac
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

CDN_SECRET = os.urandom(16)
_lock = threading.Lock()


class Stats:
    def __init__(self):
        self.requests = []
        self.body_bytes = {}
        self.gets = {}

    def record(self, method, path, status, range_header):
        with _lock:
            self.requests.append([method, path, status, range_header or ""])
            if method == "GET":
                self.gets[path] = self.gets.get(path, 0) + 1

    def add_bytes(self, path, n):
        with _lock:
            self.body_bytes[path] = self.body_bytes.get(path, 0) + n

    def to_json(self):
        with _lock:
            return {"requests": list(self.requests), "body_bytes": dict(self.body_bytes), "gets": dict(self.gets)}

    def reset(self):
        with _lock:
            self.requests.clear()
            self.body_bytes.clear()
            self.gets.clear()


class Fault:
    def __init__(self, spec):
        kind, _, rest = spec.partition(":")
        if kind not in ("drop", "status", "flip", "slow"):
            raise ValueError("unknown fault kind " + kind)
        self.kind = kind
        self.params = {}
        for pair in filter(None, rest.split(",")):
            key, _, value = pair.partition("=")
            self.params[key] = value
        self.pattern = self.params.get("path", "*")
        self.times = int(self.params.get("times", "1"))
        self.used = 0

    def take(self, path):
        """True when this fault applies to this request (and counts it)."""
        if not fnmatch.fnmatch(path, self.pattern):
            return False
        with _lock:
            if self.times and self.used >= self.times:
                return False
            self.used += 1
            return True


class Faults:
    def __init__(self, specs=()):
        self.items = [Fault(s) for s in specs]

    def replace(self, specs):
        with _lock:
            self.items = [Fault(s) for s in specs]

    def pick(self, kind, path):
        for fault in list(self.items):
            if fault.kind == kind and fault.take(path):
                return fault
        return None


def s3_etag(path):
    """An S3-style ETag for a file: md5 of the content (single-part upload)."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sign(path, expires):
    return hmac.new(CDN_SECRET, ("%s\n%d" % (path, expires)).encode(), hashlib.sha256).hexdigest()


def presigned_path(kind, key):
    """A CDN path for blob `key`, with a signature in the query the way S3 presigns URLs."""
    path = "/cdn/%s/%s" % (kind, quote(key, safe=""))
    issued = int(time.time())
    return "%s?X-Amz-Expires=3600&X-Amz-Date=%d&X-Amz-Signature=%s" % (path, issued, sign(path, issued))


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "airlock-hub-test/1"
    stats = None
    faults = None

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def split(self):
        parts = urlsplit(self.path)
        return parts.path, {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}

    def read_body(self):
        length = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status, body, headers=(), content_type="application/json"):
        path = urlsplit(self.path).path
        self.stats.record(self.command, path, status, self.headers.get("Range"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status, value, headers=()):
        self.send_bytes(status, json.dumps(value).encode(), headers)

    def maybe_fail(self, path):
        """Answers an injected error status; True when it did."""
        fault = self.faults.pick("status", path)
        if fault is None:
            return False
        status = int(fault.params.get("status", "503"))
        headers = []
        if "retry_after" in fault.params:
            headers.append(("Retry-After", fault.params["retry_after"]))
        self.send_json(status, {"error": "injected fault"}, headers)
        return True

    def send_file(self, file_path, etag, extra_headers=(), stats_path=None):
        """Serves a file with Range support and the drop, flip and slow faults."""
        path = stats_path or urlsplit(self.path).path
        size = os.path.getsize(file_path)
        if self.maybe_fail(path):
            return
        first, last, status = 0, size - 1, 200
        range_header = self.headers.get("Range")
        if range_header:
            spec = range_header.strip()
            if not spec.startswith("bytes=") or "," in spec:
                return self.send_json(400, {"error": "bad range"})
            a, _, b = spec[len("bytes="):].partition("-")
            if a == "":
                first = max(size - int(b), 0)
            else:
                first = int(a)
                if b != "":
                    last = min(int(b), size - 1)
            if first >= size or first > last:
                return self.send_json(416, {"error": "range not satisfiable"}, [("Content-Range", "bytes */%d" % size)])
            status = 206
        length = last - first + 1 if size > 0 else 0
        self.stats.record(self.command, path, status, range_header)
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", '"%s"' % etag)
        if status == 206:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (first, last, size))
        for name, value in extra_headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        drop = self.faults.pick("drop", path)
        flip = self.faults.pick("flip", path)
        slow = self.faults.pick("slow", path)
        drop_after = int(drop.params.get("after", "0")) if drop else None
        flip_at = int(flip.params.get("at", str(size // 2))) if flip else None
        rate = int(slow.params.get("rate", "100000")) if slow else None
        sent = 0
        started = time.monotonic()
        with open(file_path, "rb") as f:
            f.seek(first)
            remaining = length
            while remaining > 0:
                block = f.read(min(remaining, 16384 if rate else 262144))
                if not block:
                    break
                offset = first + sent
                if flip_at is not None and offset <= flip_at < offset + len(block):
                    mutable = bytearray(block)
                    mutable[flip_at - offset] ^= 0x01
                    block = bytes(mutable)
                if drop_after is not None and sent + len(block) > drop_after:
                    block = block[:max(drop_after - sent, 0)]
                    if block:
                        self.wfile.write(block)
                        self.stats.add_bytes(path, len(block))
                    self.wfile.flush()
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self.wfile.write(block)
                self.stats.add_bytes(path, len(block))
                sent += len(block)
                remaining -= len(block)
                if rate:
                    ahead = sent / rate - (time.monotonic() - started)
                    if ahead > 0:
                        time.sleep(ahead)

    def handle_control(self, path):
        """The /_stats and /_faults endpoints; True when handled."""
        if path == "/_stats" and self.command == "GET":
            self.send_json(200, self.stats.to_json())
            return True
        if path == "/_stats/reset" and self.command == "POST":
            self.read_body()
            self.stats.reset()
            self.send_json(200, {"ok": True})
            return True
        if path == "/_faults" and self.command == "POST":
            self.faults.replace(json.loads(self.read_body() or b"[]"))
            self.send_json(200, {"ok": True})
            return True
        return False


class CdnHandler(BaseHandler):
    """The download host: serves /cdn/<kind>/<key> when the presigned query is valid, and refuses
    requests that carry an Authorization header, as S3 does for presigned URLs."""

    resolver = None  # (kind, key) -> (file path, etag) or None

    def do_GET(self):
        self.serve()

    def do_HEAD(self):
        self.serve()

    def serve(self):
        path, params = self.split()
        if self.headers.get("Authorization"):
            return self.send_json(400, {"error": "InvalidArgument",
                                        "message": "Only one auth mechanism allowed; a presigned URL got an Authorization header"})
        try:
            issued = int(params.get("X-Amz-Date", "0"))
            lifetime = int(params.get("X-Amz-Expires", "0"))
        except ValueError:
            issued, lifetime = 0, 0
        if not hmac.compare_digest(params.get("X-Amz-Signature", ""), sign(path, issued)):
            return self.send_json(403, {"error": "SignatureDoesNotMatch"})
        if issued + lifetime < time.time():
            return self.send_json(403, {"error": "AccessDenied", "message": "Request has expired"})
        parts = path.split("/", 3)
        if len(parts) != 4 or parts[1] != "cdn":
            return self.send_json(404, {"error": "NoSuchKey"})
        found = self.resolver(parts[2], unquote(parts[3]))
        if found is None:
            return self.send_json(404, {"error": "NoSuchKey"})
        file_path, etag = found
        self.send_file(file_path, etag)


def serve_pair(handler_class, cdn_resolver, port, cdn_port, faults, stats):
    """Starts the hub on `port` and the CDN on `cdn_port` (0: free ports); returns both servers."""
    handler_class.stats = stats
    handler_class.faults = faults

    class Cdn(CdnHandler):
        pass

    Cdn.stats = stats
    Cdn.faults = faults
    Cdn.resolver = staticmethod(cdn_resolver)
    cdn = ThreadingHTTPServer(("127.0.0.1", cdn_port), Cdn)
    cdn.daemon_threads = True
    hub = ThreadingHTTPServer(("127.0.0.1", port), handler_class)
    hub.daemon_threads = True
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    return hub, cdn
