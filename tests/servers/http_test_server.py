#!/usr/bin/env python3
"""A local HTTP/1.1 server for the HTTP client's tests: ranges, faults, redirects, echo.

Binds 127.0.0.1 on --port (0 picks a free one), prints "LISTENING <port>" and serves until
killed. Standard library only. --tls serves HTTPS with the self-signed test certificate below
(for 127.0.0.1 and localhost); --write-ca PATH writes that certificate for clients to trust. Every response carries X-Connection-Id (the server's number for
the TCP connection) so tests can prove connection reuse.

Endpoints (query parameters in brackets):
  /bytes/<n>      n deterministic bytes (see pattern_block) with Range, ETag, If-Range.
                  [seed] pattern seed; [key] names a fault counter; [drop_after=K] send only K
                  body bytes of each of the first [drop_times=1] responses for the key, then
                  close ([drop_mode=fin|rst]); [ignore_range=1] answer 200 to ranged requests
                  after the first request of the key; [range_shift=K] start ranged answers
                  after the first request K bytes early (a wrong Content-Range, honestly labelled);
                  [etag_changes=1] a new ETag per request;
                  [no_length=1] chunked instead of Content-Length; [no_etag=1].
  /echo           any method: JSON with method, path, query, headers, body_length,
                  body_sha256 and the body itself when short.
  /redirect       [to] target (absolute or relative) or [peer_path] on the --peer-port server;
                  [status=302].
  /redirect-chain/<n>  redirects n times, then to /echo.
  /fail           [key] [times] [status=503] [retry_after] [retry_after_date=S (HTTP-date now+S)]:
                  the first `times` requests of the key fail, then 200 JSON {"count": c}.
  /drop           [key] [times]: close the connection without a response for the first
                  `times` requests of the key, then 200.
  /status/<code>  that status with a JSON error body; [echo_auth=1] copies the request's
                  Authorization into the body (servers do that; clients must not show it).
  /slow           [bytes] [rate] bytes per second, sent in small pieces.
  /stall          [seconds] sleep before the headers.
  /count          [key] {"count": requests seen for the key}.
  /last-headers   [key] the headers of the last request for the key.
"""

import argparse
import email.utils
import hashlib
import json
import os
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# A self-signed certificate for 127.0.0.1 and localhost, valid 2020-2120, and its key. Test-only:
# it protects nothing, and is embedded so that tests need no openssl at run time.
TEST_CERT = """-----BEGIN CERTIFICATE-----
MIIBfTCCASOgAwIBAgIBATAKBggqhkjOPQQDAjAXMRUwEwYDVQQDDAxhaXJsb2Nr
LXRlc3QwIBcNMjAwMTAxMDAwMDAwWhgPMjEyMDAxMDEwMDAwMDBaMBcxFTATBgNV
BAMMDGFpcmxvY2stdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABLzBYj96
JyakekW2w4Kjw9H0hKBLX71fXHC8nvrMGPew33a3NIyzTo/shsVbBcQs8xEaxmbR
MxOCT0+tQNp1/dSjXjBcMBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAPBgNV
HRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwIChDAdBgNVHQ4EFgQUfVhjheMbL8Ub
i0QQHNjorKuZi/owCgYIKoZIzj0EAwIDSAAwRQIhALS6xNj7iZX6mpx3VkMrM/si
v0AwD9KSHvm7SatzSxTYAiB3QyKTbbKHAY/3x9B5Q2k39pWPZL4b2re3ntRqlAJN
jw==
-----END CERTIFICATE-----
"""
TEST_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOGTJk1D7+R7ZiWa4
D0cOHYcSI38DIuihCi6U6BgDTUKhRANCAAS8wWI/eicmpHpFtsOCo8PR9ISgS1+9
X1xwvJ76zBj3sN92tzSMs06P7IbFWwXELPMRGsZm0TMTgk9PrUDadf3U
-----END PRIVATE KEY-----
"""

PATTERN_PERIOD = 65521  # prime, so that an offset error never lines up with the period
_patterns = {}
_lock = threading.Lock()
_counts = {}
_last_headers = {}
_connection_ids = [0]


def pattern_block(seed):
    """The repeating block of /bytes: byte i of the resource is block[i % PATTERN_PERIOD].

    x = (seed * 2654435761 + 1) mod 2^32, then for each byte x = (x * 1103515245 + 12345) mod 2^31
    and the byte is (x >> 16) & 0xff. The C++ tests compute the same sequence.
    """
    with _lock:
        block = _patterns.get(seed)
        if block is not None:
            return block
    x = (seed * 2654435761 + 1) & 0xFFFFFFFF
    out = bytearray(PATTERN_PERIOD)
    for i in range(PATTERN_PERIOD):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = (x >> 16) & 0xFF
    block = bytes(out) * 2  # doubled so that any window of PERIOD bytes is one slice
    with _lock:
        _patterns[seed] = block
    return block


def pattern_bytes(seed, offset, length):
    block = pattern_block(seed)
    pieces = []
    while length > 0:
        start = offset % PATTERN_PERIOD
        take = min(length, PATTERN_PERIOD)
        pieces.append(block[start:start + take])
        offset += take
        length -= take
    return b"".join(pieces)


def bump(key):
    with _lock:
        _counts[key] = _counts.get(key, 0) + 1
        return _counts[key]


class DropConnection(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "airlock-test/1"
    peer_port = 0

    def setup(self):
        super().setup()
        with _lock:
            _connection_ids[0] += 1
            self.connection_id = _connection_ids[0]

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except DropConnection:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # ---- helpers ----

    def params(self):
        query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        return {k: v[0] for k, v in query.items()}

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0") or "0")
        return self.rfile.read(length) if length else b""

    def send_common(self, status, headers=None):
        self.send_response(status)
        self.send_header("X-Connection-Id", str(self.connection_id))
        for name, value in (headers or []):
            self.send_header(name, value)
        self.end_headers()

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        all_headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        all_headers += headers or []
        self.send_common(status, all_headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def drop(self, mode="fin"):
        self.wfile.flush()
        if mode == "rst":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.connection.close()
        raise DropConnection()

    def remember(self, key):
        if key:
            with _lock:
                _last_headers[key] = [[k, v] for k, v in self.headers.items()]

    # ---- dispatch ----

    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def dispatch(self):
        path = urlsplit(self.path).path
        params = self.params()
        if path not in ("/count", "/last-headers"):
            self.remember(params.get("key"))
        if path.startswith("/bytes/"):
            return self.do_bytes(int(path[len("/bytes/"):]), params)
        if path == "/echo":
            return self.do_echo(params)
        if path == "/redirect":
            return self.do_redirect(params)
        if path.startswith("/redirect-chain/"):
            n = int(path[len("/redirect-chain/"):])
            target = "/echo" if n <= 1 else "/redirect-chain/%d" % (n - 1)
            self.read_body()
            return self.send_json(302, {"redirect": target}, [("Location", target)])
        if path == "/fail":
            return self.do_fail(params)
        if path == "/drop":
            return self.do_drop(params)
        if path.startswith("/status/"):
            return self.do_status(int(path[len("/status/"):]), params)
        if path == "/slow":
            return self.do_slow(params)
        if path == "/stall":
            time.sleep(float(params.get("seconds", "30")))
            return self.send_json(200, {"stalled": True})
        if path == "/count":
            with _lock:
                count = _counts.get(params.get("key", ""), 0)
            return self.send_json(200, {"count": count})
        if path == "/last-headers":
            with _lock:
                headers = _last_headers.get(params.get("key", ""), [])
            return self.send_json(200, {"headers": headers})
        return self.send_json(404, {"error": {"code": "NotFound", "message": "no such endpoint " + path}})

    def do_bytes(self, size, params):
        key = params.get("key", "")
        count = bump(key) if key else 1
        seed = int(params.get("seed", "1"))
        etag = '"bytes-%d-%d"' % (size, seed)
        if params.get("etag_changes") == "1":
            etag = '"bytes-%d-%d-v%d"' % (size, seed, count)
        ranged = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if ranged and if_range is not None and if_range != etag:
            ranged = None  # the representation changed: RFC 9110 says send all of it
        if ranged and params.get("ignore_range") == "1" and count > 1:
            ranged = None
        status = 200
        first, last = 0, size - 1
        if ranged:
            spec = ranged.strip()
            if not spec.startswith("bytes=") or "," in spec:
                return self.send_json(400, {"error": "bad range"})
            a, _, b = spec[len("bytes="):].partition("-")
            if a == "":
                first = max(size - int(b), 0)
            else:
                first = int(a)
                if b != "":
                    last = min(int(b), size - 1)
            if params.get("range_shift") and count > 1:
                first = max(first - int(params["range_shift"]), 0)
            if first >= size or first > last:
                return self.send_json(416, {"error": "range not satisfiable"},
                                      [("Content-Range", "bytes */%d" % size)])
            status = 206
        length = last - first + 1 if size > 0 else 0
        headers = [("Content-Type", "application/octet-stream"), ("Accept-Ranges", "bytes"),
                   ("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT")]
        if params.get("no_etag") != "1":
            headers.append(("ETag", etag))
        chunked = params.get("no_length") == "1"
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Content-Length", str(length)))
        if status == 206:
            headers.append(("Content-Range", "bytes %d-%d/%d" % (first, last, size)))
        self.send_common(status, headers)
        if self.command == "HEAD":
            return
        drop_after = params.get("drop_after")
        drop_times = int(params.get("drop_times", "1"))
        limit = length
        dropping = drop_after is not None and count <= drop_times
        if dropping:
            limit = min(length, int(drop_after))
        offset, sent = first, 0
        while sent < limit:
            piece = pattern_bytes(seed, offset, min(256 * 1024, limit - sent))
            if chunked:
                self.wfile.write(b"%x\r\n" % len(piece) + piece + b"\r\n")
            else:
                self.wfile.write(piece)
            offset += len(piece)
            sent += len(piece)
        if dropping:
            self.drop(params.get("drop_mode", "fin"))
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def do_echo(self, params):
        body = self.read_body()
        reply = {
            "method": self.command,
            "path": urlsplit(self.path).path,
            "query": urlsplit(self.path).query,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "connection_id": self.connection_id,
        }
        if len(body) <= 4096:
            reply["body"] = body.decode("utf-8", "replace")
        self.send_json(200, reply)

    def do_redirect(self, params):
        self.read_body()
        status = int(params.get("status", "302"))
        if "to" in params:
            target = params["to"]
        else:
            target = "http://127.0.0.1:%d%s" % (self.peer_port, params.get("peer_path", "/echo"))
        self.send_json(status, {"redirect": target}, [("Location", target)])

    def do_fail(self, params):
        self.read_body()
        key = params.get("key", "")
        count = bump(key)
        if count <= int(params.get("times", "1")):
            headers = []
            if "retry_after" in params:
                headers.append(("Retry-After", params["retry_after"]))
            if "retry_after_date" in params:
                when = time.time() + float(params["retry_after_date"])
                headers.append(("Retry-After", email.utils.formatdate(when, usegmt=True)))
            status = int(params.get("status", "503"))
            return self.send_json(status, {"error": {"code": "Busy", "message": "try again, attempt %d" % count}},
                                  headers)
        return self.send_json(200, {"count": count})

    def do_drop(self, params):
        key = params.get("key", "")
        count = bump(key)
        if count <= int(params.get("times", "1")):
            self.drop(params.get("mode", "rst"))
        self.read_body()
        return self.send_json(200, {"count": count})

    def do_status(self, status, params):
        self.read_body()
        messages = {401: "The request lacks valid credentials", 403: "Access to this object is denied",
                    404: "The object does not exist"}
        message = messages.get(status, "status %d" % status)
        if params.get("echo_auth") == "1":
            message += "; you sent Authorization: " + self.headers.get("Authorization", "")
        headers = []
        if status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="airlock-test"'))
        self.send_json(status, {"error": {"code": status, "message": message}}, headers)

    def do_slow(self, params):
        total = int(params.get("bytes", "1000"))
        rate = float(params.get("rate", "10"))
        self.send_common(200, [("Content-Type", "application/octet-stream"), ("Content-Length", str(total))])
        step = max(int(rate / 10), 1)
        sent = 0
        while sent < total:
            piece = min(step, total - sent)
            self.wfile.write(b"x" * piece)
            self.wfile.flush()
            sent += piece
            time.sleep(piece / rate)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--peer-port", type=int, default=0)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--write-ca", default="")
    args = parser.parse_args()
    if args.write_ca:
        with open(args.write_ca, "w") as out:
            out.write(TEST_CERT)
    Handler.peer_port = args.peer_port
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_alpn_protocols(["http/1.1"])
        with tempfile.TemporaryDirectory() as scratch:
            cert, key = os.path.join(scratch, "cert.pem"), os.path.join(scratch, "key.pem")
            with open(cert, "w") as out:
                out.write(TEST_CERT)
            with open(key, "w") as out:
                out.write(TEST_KEY)
            context.load_cert_chain(cert, key)
        # The handshake runs on the handler's thread, so a silent client cannot stall accept().
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    print("LISTENING %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
