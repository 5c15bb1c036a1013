#!/usr/bin/env python3
"""A small HTTP fault-injection proxy for the store and sync tests (Python standard library only).

It sits between airlock and a real server (s3rver, nginx), forwards every request unchanged
(the Host header included, so signatures still cover what the client sent), and injects the
faults a test asks for:

  reset     close the connection without an answer (the client sees a reset/empty reply)
  status    answer with `status` (e.g. 500, or 503 with S3's <Code>SlowDown</Code>) and an
            optional Retry-After header, without reaching the server
  truncate  forward, then send the server's headers and only `after_bytes` of the body (default:
            half) before closing the connection
  flip      forward, flipping one byte of the body at `at` (default: the middle)
  delay     wait `seconds` before forwarding
  rewrite   forward, replacing the bytes `from` with `to` in the body (a server that lists
            hostile keys); Content-Length follows

Control API (on the same port, never forwarded):
  POST /__fault__/rules   JSON list of rules; each rule: {"fault": ..., "method": "GET",
                          "path": "substring of path?query", "times": 1 (-1: always), ...}
  DELETE /__fault__/rules drop the rules, keep the counters and the log
  GET  /__fault__/stats   {"requests": n, "injected": {"reset": n, ...}, "log": [[method, path, status], ...],
                          "uploads": [[bucket, key, upload_id], ...]}
  POST /__fault__/reset   drop the rules, the counters and the uploads seen

Multipart uploads (--emulate-upload-listing): s3rver 3.7.1 implements neither ListMultipartUploads
(it answers 501 NotImplemented) nor AbortMultipartUpload (405), so a client's cleanup of stale
uploads could not be tested against it. With this flag the proxy answers those two operations
itself, following the S3 API reference, from the uploads it saw initiated (POST ?uploads) and not
completed (POST ?uploadId=) through it, path-style addressing:
  GET /<bucket>?uploads[&prefix=][&key-marker=][&upload-id-marker=][&max-uploads=][&encoding-type=url]
      -> ListMultipartUploadsResult, keys in byte order then upload ids, at most max-uploads
         (default --uploads-page-size, else 1000) per page, IsTruncated + NextKeyMarker +
         NextUploadIdMarker when more follow
  DELETE /<bucket>/<key>?uploadId=<id> -> 204, or 404 NoSuchUpload for an unknown id
Everything else still goes to s3rver.

Prints "LISTENING <port>" when ready.
    fault_proxy.py --upstream http://127.0.0.1:9000 [--port 0] [--emulate-upload-listing [--uploads-page-size N]]
"""

import argparse
import http.client
import http.server
import json
import socket
import struct
import sys
import threading
import time
import urllib.parse
from xml.sax.saxutils import escape as xml_escape

HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade",
}
CHUNK = 1 << 20


class State:
    def __init__(self, upstream):
        parsed = urllib.parse.urlparse(upstream)
        self.host = parsed.hostname
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.lock = threading.Lock()
        self.rules = []
        self.requests = 0
        self.injected = {}
        self.log = []
        self.emulate_uploads = False
        self.uploads_page_size = 1000
        self.uploads = {}  # upload id -> (bucket, key)

    def take_rule(self, method, path):
        with self.lock:
            self.requests += 1
            for rule in self.rules:
                if rule.get("times", 1) == 0:
                    continue
                if rule.get("method") and rule["method"] != method:
                    continue
                if rule.get("path") and rule["path"] not in path:
                    continue
                if rule.get("times", 1) > 0:
                    rule["times"] = rule.get("times", 1) - 1
                fault = rule["fault"]
                self.injected[fault] = self.injected.get(fault, 0) + 1
                return dict(rule)
            return None

    def record(self, method, path, status):
        with self.lock:
            self.log.append([method, path, status])
            if len(self.log) > 5000:
                del self.log[:1000]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "airlock-fault-proxy"

    def log_message(self, fmt, *args):  # quiet: the tests read /__fault__/stats instead
        pass

    def _control(self):
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/__fault__/rules") and self.command == "POST":
            rules = json.loads(body or b"[]")
            with state.lock:
                state.rules.extend(rules)
            answer = {"rules": len(state.rules)}
        elif self.path.startswith("/__fault__/rules") and self.command == "DELETE":
            with state.lock:
                state.rules.clear()
            answer = {"rules": 0}
        elif self.path.startswith("/__fault__/reset"):
            with state.lock:
                state.rules.clear()
                state.injected.clear()
                state.log.clear()
                state.uploads.clear()
                state.requests = 0
            answer = {"reset": True}
        else:
            with state.lock:
                uploads = sorted([bucket, key, upload_id] for upload_id, (bucket, key) in state.uploads.items())
                answer = {"requests": state.requests, "injected": dict(state.injected), "log": list(state.log),
                          "uploads": uploads}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reset_connection(self):
        # SO_LINGER with a zero timeout turns close() into a TCP RST.
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.close()
        except OSError:
            pass

    def _read_request_body(self):
        length = self.headers.get("Content-Length")
        if length is not None:
            remaining = int(length)
            chunks = []
            while remaining > 0:
                chunk = self.rfile.read(min(CHUNK, remaining))
                if not chunk:
                    break
                chunks.append(chunk)
                remaining -= len(chunk)
            return b"".join(chunks)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        return b""

    def _send_xml(self, status, text):
        data = ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.server.state.record(self.command, self.path, status)

    def _split_target(self):
        """(bucket, key, query dict) of a path-style request."""
        target = urllib.parse.urlsplit(self.path)
        parts = target.path.lstrip("/").split("/", 1)
        bucket = urllib.parse.unquote(parts[0])
        key = urllib.parse.unquote(parts[1]) if len(parts) > 1 else ""
        query = dict(urllib.parse.parse_qsl(target.query, keep_blank_values=True))
        return bucket, key, query

    def _emulated_upload_operation(self):
        """Answers ListMultipartUploads and AbortMultipartUpload; False when the request is neither."""
        state = self.server.state
        bucket, key, query = self._split_target()
        if self.command == "GET" and not key and "uploads" in query:
            prefix = query.get("prefix", "")
            key_marker = query.get("key-marker", "")
            id_marker = query.get("upload-id-marker", "")
            limit = int(query.get("max-uploads") or state.uploads_page_size)
            limit = max(1, min(limit, 1000, state.uploads_page_size))
            encode = query.get("encoding-type") == "url"
            with state.lock:
                found = sorted((k, u) for u, (b, k) in state.uploads.items() if b == bucket and k.startswith(prefix))
            # After the markers: keys after key-marker, or the same key with a later upload id.
            found = [(k, u) for k, u in found
                     if not key_marker or k > key_marker or (k == key_marker and id_marker and u > id_marker)]
            page, rest = found[:limit], found[limit:]
            show = (lambda k: urllib.parse.quote(k, safe="/")) if encode else (lambda k: k)
            items = "".join("<Upload><Key>%s</Key><UploadId>%s</UploadId><StorageClass>STANDARD</StorageClass>"
                            "<Initiated>2024-01-01T00:00:00.000Z</Initiated></Upload>" % (xml_escape(show(k)), u)
                            for k, u in page)
            next_markers = ""
            if rest:
                next_markers = "<NextKeyMarker>%s</NextKeyMarker><NextUploadIdMarker>%s</NextUploadIdMarker>" % (
                    xml_escape(show(page[-1][0])), page[-1][1])
            self._send_xml(200, '<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                           "<Bucket>%s</Bucket><KeyMarker>%s</KeyMarker><UploadIdMarker>%s</UploadIdMarker>%s"
                           "<Prefix>%s</Prefix><MaxUploads>%d</MaxUploads><IsTruncated>%s</IsTruncated>%s%s"
                           "</ListMultipartUploadsResult>" % (
                               xml_escape(bucket), xml_escape(show(key_marker)), xml_escape(id_marker),
                               next_markers, xml_escape(show(prefix)), limit, "true" if rest else "false",
                               "<EncodingType>url</EncodingType>" if encode else "", items))
            return True
        if self.command == "DELETE" and key and "uploadId" in query:
            with state.lock:
                known = state.uploads.pop(query["uploadId"], None)
            if known is None or known != (bucket, key):
                if known is not None:
                    with state.lock:
                        state.uploads[query["uploadId"]] = known
                self._send_xml(404, "<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist."
                               "</Message></Error>")
                return True
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            state.record(self.command, self.path, 204)
            return True
        return False

    def _track_upload(self, status, data):
        """Remembers uploads initiated and forgets completed ones (for --emulate-upload-listing)."""
        state = self.server.state
        if not state.emulate_uploads or self.command != "POST" or status != 200:
            return
        bucket, key, query = self._split_target()
        if "uploads" in query and data:
            start = data.find(b"<UploadId>")
            end = data.find(b"</UploadId>")
            if start >= 0 and end > start:
                with state.lock:
                    state.uploads[data[start + 10:end].decode()] = (bucket, key)
        elif "uploadId" in query and b"<Error>" not in (data or b""):
            with state.lock:
                state.uploads.pop(query["uploadId"], None)

    def _handle(self):
        if self.path.startswith("/__fault__/"):
            return self._control()
        state = self.server.state
        body = self._read_request_body()
        rule = state.take_rule(self.command, self.path)
        fault = rule["fault"] if rule else None
        if fault == "reset":
            state.record(self.command, self.path, "reset")
            return self._reset_connection()
        if fault == "status":
            status = int(rule.get("status", 500))
            code = rule.get("code", "InternalError")
            data = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>injected by the fault "
                    "proxy</Message></Error>" % code).encode()
            self.send_response(status)
            if "retry_after" in rule:
                self.send_header("Retry-After", str(rule["retry_after"]))
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            state.record(self.command, self.path, status)
            return
        if fault == "delay":
            time.sleep(float(rule.get("seconds", 1)))
        if state.emulate_uploads and self._emulated_upload_operation():
            return

        upstream = http.client.HTTPConnection(state.host, state.port, timeout=120)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                    continue
                upstream.putheader(name, value)
            if body or self.command in ("PUT", "POST"):
                upstream.putheader("Content-Length", str(len(body)))
            upstream.endheaders()
            if body:
                upstream.send(body)
            response = upstream.getresponse()
        except OSError as error:
            upstream.close()
            self.send_error(502, "upstream failed: %s" % error)
            state.record(self.command, self.path, 502)
            return

        try:
            has_body = self.command != "HEAD" and response.status not in (204, 304) and not (100 <= response.status < 200)
            length = response.getheader("Content-Length")
            data = None
            tracked = state.emulate_uploads and self.command == "POST"
            if has_body and (length is None or fault == "rewrite" or tracked):
                data = response.read()  # chunked upstream, or a body to edit: buffer it
                if fault == "rewrite":
                    data = data.replace(rule["from"].encode(), rule["to"].encode())
                length = str(len(data))
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                    continue
                self.send_header(name, value)
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            if tracked:
                self._track_upload(response.status, data)
            if not has_body:
                state.record(self.command, self.path, response.status)
                return
            total = int(length)
            cut = None
            flip_at = None
            if fault == "truncate":
                cut = int(rule.get("after_bytes", total // 2))
            if fault == "flip":
                flip_at = int(rule.get("at", total // 2))
            sent = 0
            while sent < total:
                if data is not None:
                    chunk = data[sent:sent + CHUNK]
                else:
                    chunk = response.read(min(CHUNK, total - sent))
                if not chunk:
                    break
                if flip_at is not None and sent <= flip_at < sent + len(chunk):
                    mutable = bytearray(chunk)
                    mutable[flip_at - sent] ^= 0x01
                    chunk = bytes(mutable)
                if cut is not None and sent + len(chunk) >= cut:
                    self.wfile.write(chunk[:max(cut - sent, 0)])
                    self.wfile.flush()
                    state.record(self.command, self.path, "truncated")
                    return self._reset_connection()
                self.wfile.write(chunk)
                sent += len(chunk)
            state.record(self.command, self.path, response.status)
        finally:
            upstream.close()

    def do_GET(self):
        self._handle()

    def do_HEAD(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def do_DELETE(self):
        self._handle()

    def do_MKCOL(self):
        self._handle()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--emulate-upload-listing", action="store_true",
                        help="answer ListMultipartUploads and AbortMultipartUpload (s3rver has neither)")
    parser.add_argument("--uploads-page-size", type=int, default=1000)
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args.upstream)
    server.state.emulate_uploads = args.emulate_upload_listing
    server.state.uploads_page_size = max(1, args.uploads_page_size)
    print("LISTENING %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
