#!/usr/bin/env python3
"""A stand-in for `airlock serve` in the local deployer's supervision tests: the same flags and
routes as serve's contract (issue 7), a model that "loads" in a moment, and nothing else. It lets
the tests exercise spawning, readiness probing, back-off restarts, re-adoption after a manager
restart and the proxy's streaming without building an engine. The real serve is exercised by
manager_e2e_test when it is in the tree.

Behaviour knobs come from the model profiles path (the only thing a test controls per model):
  .../crash        exits with code 3 at once, after a line on stderr (a crash loop)
  .../slow         takes 1.5 s to become ready
Routes: GET /v1/health/live, GET /v1/health/ready (503 until loaded), GET /v1/metadata,
GET /v1/models, POST /v1/embeddings (Bearer key from --api-key-file), GET /v1/stream (a chunked
body in 5 parts, 100 ms apart), POST /v1/echo (the body back, and the headers it saw).
"""
import argparse
import http.server
import json
import os
import signal
import sys
import threading
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-profiles-path", default="")
    parser.add_argument("--cache-dir", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key-file", default="")
    parser.add_argument("--served-model-name", default="stand-in")
    args, _ = parser.parse_known_args()

    path = args.model_profiles_path.rstrip("/")
    if path.endswith("/crash"):
        print("error: the cache at %s is corrupt (stand-in crash)" % path, file=sys.stderr, flush=True)
        sys.exit(3)
    keys = set()
    if args.api_key_file:
        with open(args.api_key_file) as f:
            keys = {line.strip() for line in f if line.strip() and not line.startswith("#")}
    load_seconds = 1.5 if path.endswith("/slow") else 0.3
    started = time.monotonic()
    os.makedirs(args.cache_dir or ".", exist_ok=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def authorized(self):
            if not keys:
                return True
            value = self.headers.get("Authorization", "")
            if value.startswith("Bearer ") and value[7:].strip() in keys:
                return True
            self.send_json(401, {"error": {"message": "missing or wrong API key", "type": "authentication_error", "code": 401}})
            return False

        def do_GET(self):
            ready = time.monotonic() - started >= load_seconds
            if self.path == "/v1/health/live":
                return self.send_json(200, {"object": "health.response", "message": "live", "ready": ready})
            if self.path == "/v1/health/ready":
                if ready:
                    return self.send_json(200, {"object": "health.response", "message": "ready", "ready": True})
                return self.send_json(503, {"error": {"message": "loading", "code": 503}})
            if not self.authorized():
                return
            if self.path == "/v1/metadata":
                return self.send_json(200, {"selectedModelProfileId": args.profile or "stand-in-profile", "version": "stand-in"})
            if self.path == "/v1/models":
                return self.send_json(200, {"object": "list", "data": [{"id": args.served_model_name, "object": "model"}]})
            if self.path.startswith("/v1/stream"):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for i in range(5):
                    chunk = ("data: part %d at %.3f\n\n" % (i, time.time())).encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                    time.sleep(0.1)
                self.wfile.write(b"0\r\n\r\n")
                return
            self.send_json(404, {"error": {"message": "no route %s" % self.path, "code": 404}})

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if not self.authorized():
                return
            if self.path == "/v1/echo" or self.path.startswith("/v1/echo?"):
                return self.send_json(200, {"body": body.decode(errors="replace"), "path": self.path,
                                            "headers": {k.lower(): v for k, v in self.headers.items()}})
            if self.path == "/v1/embeddings":
                try:
                    request = json.loads(body)
                except ValueError:
                    return self.send_json(400, {"error": {"message": "malformed JSON", "code": 400}})
                inputs = request.get("input", [])
                if isinstance(inputs, str):
                    inputs = [inputs]
                data = [{"object": "embedding", "index": i, "embedding": [0.25] * 8} for i in range(len(inputs))]
                return self.send_json(200, {"object": "list", "data": data, "model": args.served_model_name,
                                            "usage": {"prompt_tokens": 4, "total_tokens": 4}})
            self.send_json(404, {"error": {"message": "no route %s" % self.path, "code": 404}})

    server = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("stand-in serve pid %d on %s:%d, model profiles path %s" % (os.getpid(), args.host, args.port, path), flush=True)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
