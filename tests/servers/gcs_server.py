#!/usr/bin/env python3
"""A protocol-faithful Google Cloud Storage test server (Python standard library only).

No GCS emulator can run in the test environment, so this follows Google's public documentation:
  - JSON API reference, https://cloud.google.com/storage/docs/json_api/v1/ : objects.list
    (prefix, delimiter, pageToken, maxResults <= 1000, items / prefixes / nextPageToken),
    objects.get (metadata, and alt=media with Range), objects.delete, objects.insert with
    uploadType=media, multipart (multipart/related: JSON metadata part, then the bytes) and
    resumable; int64 fields as JSON strings; errors as {"error": {"code", "message", "errors"}};
  - https://cloud.google.com/storage/docs/performing-resumable-uploads : the session URI in
    Location, chunks with Content-Range "bytes a-b/total", every chunk but the last a multiple of
    256 KiB, 308 "Resume Incomplete" with Range "bytes=0-N" (no Range when nothing is kept), status
    queries with "bytes */total", only whole 256 KiB units of an interrupted chunk kept;
  - https://developers.google.com/identity/protocols/oauth2/service-account : the JWT bearer
    grant (RS256 over base64url header.claims; iss, scope, aud = the token URI, iat, exp <= iat +
    1 h), checked here with the service account's public key (pure-Python RSA PKCS#1 v1.5);
    refresh_token grants for authorized_user credentials (RFC 6749 section 6), errors as
    {"error", "error_description"};
  - https://cloud.google.com/compute/docs/metadata/overview : the metadata server's token at
    /computeMetadata/v1/instance/service-accounts/default/token, only with Metadata-Flavor: Google.

    gcs_server.py --bucket NAME [--bucket ...] [--service-account EMAIL=MODULUS_HEX]
                  [--refresh-token CLIENT_ID:CLIENT_SECRET:TOKEN] [--metadata] [--token-lifetime S]
                  [--allow-anonymous] [--public-bucket NAME]

Token endpoint: POST /token. Prints "LISTENING <port>". GET /__gcs__/stats returns counters
(resumable_bytes: the bytes of resumable chunks received, broken ones included).
"""

import argparse
import base64
import hashlib
import http.server
import json
import secrets
import sys
import threading
import time
import urllib.parse

UNIT = 256 * 1024
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rs256_verify(modulus, exponent, signing_input, signature):
    k = (modulus.bit_length() + 7) // 8
    if len(signature) != k:
        return False
    m = pow(int.from_bytes(signature, "big"), exponent, modulus).to_bytes(k, "big")
    digest = hashlib.sha256(signing_input).digest()
    expected = b"\x00\x01" + b"\xff" * (k - 3 - len(SHA256_DIGEST_INFO) - len(digest)) + b"\x00" + \
        SHA256_DIGEST_INFO + digest
    return m == expected


class ApiError(Exception):
    def __init__(self, code, message, reason="invalid", extra=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.extra = extra or {}

    def body(self):
        error = {"domain": "global", "reason": self.reason, "message": self.message}
        error.update(self.extra)
        return {"error": {"code": self.code, "message": self.message, "errors": [error]}}


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.buckets = {name: {} for name in args.bucket}
        self.public = set(args.public_bucket or [])
        self.keys = {}
        for entry in args.service_account or []:
            email, modulus = entry.split("=", 1)
            self.keys[email] = int(modulus, 16)
        self.refresh = {}
        for entry in args.refresh_token or []:
            client_id, client_secret, token = entry.split(":", 2)
            self.refresh[token] = (client_id, client_secret)
        self.tokens = {}  # access token -> (principal, expiry)
        self.sessions = {}  # upload id -> session
        self.generation = 1000
        self.stats = {"token_requests": 0, "jwt_grants": 0, "refresh_grants": 0, "metadata_tokens": 0,
                      "resumable_sessions": 0, "resumable_chunks": 0, "resumable_bytes": 0, "status_queries": 0,
                      "multipart_uploads": 0,
                      "media_uploads": 0, "ranged_gets": 0, "list_pages": 0, "unauthenticated": 0}

    def count(self, key, amount=1):
        with self.lock:
            self.stats[key] += amount

    def issue(self, principal):
        token = "ya29." + secrets.token_urlsafe(32)
        with self.lock:
            self.tokens[token] = (principal, time.time() + self.args.token_lifetime)
        return {"access_token": token, "expires_in": self.args.token_lifetime, "token_type": "Bearer"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "UploadServer"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body=b"", headers=None, content_type="application/json; charset=UTF-8"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status, "Resume Incomplete" if status == 308 else None)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _body(self, keep_partial=False):
        length = self.headers.get("Content-Length")
        if length is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            return b""
        remaining = int(length)
        chunks = []
        while remaining > 0:
            chunk = self.rfile.read(min(1 << 20, remaining))
            if not chunk:
                if keep_partial:
                    raise PartialBody(b"".join(chunks))
                raise ConnectionError("client closed the connection mid-body")
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    # --- authentication ---------------------------------------------------------------------
    def _caller(self, bucket, write):
        state = self.server.state
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth[7:]
            with state.lock:
                entry = state.tokens.get(token)
            if entry is None or entry[1] < time.time():
                state.count("unauthenticated")
                raise ApiError(401, "Invalid Credentials", "authError",
                               {"locationType": "header", "location": "Authorization"})
            return entry[0]
        if state.args.allow_anonymous or (bucket in state.public and not write):
            return "anonymous"
        state.count("unauthenticated")
        raise ApiError(401, "Anonymous caller does not have storage.objects.%s access to the Google Cloud "
                       "Storage bucket." % ("create" if write else "get"), "required")

    # --- dispatch ---------------------------------------------------------------------------
    def _dispatch(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        path = parsed.path
        try:
            if path == "/__gcs__/stats":
                with self.server.state.lock:
                    self._send(200, dict(self.server.state.stats))
            elif path == "/token" and self.command == "POST":
                self._token()
            elif path == "/" and self.command == "GET":
                self._send(200, b"ok", {"Metadata-Flavor": "Google"}, "text/plain")
            elif path.startswith("/computeMetadata/v1/"):
                self._metadata(path)
            elif path.startswith("/upload/storage/v1/b/"):
                self._upload(path[len("/upload/storage/v1/b/"):], query)
            elif path.startswith("/storage/v1/b/"):
                self._json_api(path[len("/storage/v1/b/"):], query)
            else:
                raise ApiError(404, "Not Found", "notFound")
        except ApiError as error:
            if self.command in ("PUT", "POST"):
                try:
                    self._body()
                except Exception:  # noqa: BLE001 - the connection is closed anyway
                    self.close_connection = True
            self._send(error.code, error.body())
        except ConnectionError:
            self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = lambda self: self._dispatch()

    # --- OAuth2 -----------------------------------------------------------------------------
    def _token_error(self, status, error, description):
        self._send(status, {"error": error, "error_description": description})

    def _token(self):
        state = self.server.state
        state.count("token_requests")
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self._body().decode(), keep_blank_values=True).items()}
        grant = form.get("grant_type", "")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            state.count("jwt_grants")
            assertion = form.get("assertion", "")
            try:
                header_b64, claims_b64, signature_b64 = assertion.split(".")
                header = json.loads(b64url_decode(header_b64))
                claims = json.loads(b64url_decode(claims_b64))
                signature = b64url_decode(signature_b64)
            except Exception:  # noqa: BLE001 - any malformed assertion is the same error
                return self._token_error(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token")
            if header.get("alg") != "RS256":
                return self._token_error(400, "invalid_grant", "Invalid JWT: unsupported algorithm")
            modulus = state.keys.get(claims.get("iss"))
            if modulus is None:
                return self._token_error(400, "invalid_grant", "Invalid grant: account not found")
            if not rs256_verify(modulus, 65537, (header_b64 + "." + claims_b64).encode(), signature):
                return self._token_error(400, "invalid_grant", "Invalid JWT Signature.")
            expected_aud = "http://%s/token" % self.headers.get("Host")
            if claims.get("aud") != expected_aud:
                return self._token_error(400, "invalid_grant", "Invalid JWT: audience is not " + expected_aud)
            now = time.time()
            iat, exp = claims.get("iat", 0), claims.get("exp", 0)
            if abs(iat - now) > 300 or exp <= now or exp - iat > 3600:
                return self._token_error(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token "
                                         "(60 minutes) and in a reasonable timeframe.")
            if "devstorage" not in claims.get("scope", ""):
                return self._token_error(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
            return self._send(200, state.issue(claims["iss"]))
        if grant == "refresh_token":
            state.count("refresh_grants")
            entry = state.refresh.get(form.get("refresh_token", ""))
            if entry is None:
                return self._token_error(400, "invalid_grant", "Bad Request")
            if entry != (form.get("client_id"), form.get("client_secret")):
                return self._token_error(401, "invalid_client", "Unauthorized")
            return self._send(200, state.issue("user:" + entry[0]))
        return self._token_error(400, "unsupported_grant_type", "Invalid grant_type: " + grant)

    def _metadata(self, path):
        state = self.server.state
        if not state.args.metadata:
            raise ApiError(404, "Not Found", "notFound")
        if self.headers.get("Metadata-Flavor") != "Google":
            return self._send(403, b"Missing Metadata-Flavor:Google header.", content_type="text/html")
        if path == "/computeMetadata/v1/instance/service-accounts/default/token":
            state.count("metadata_tokens")
            return self._send(200, state.issue("gke-workload"), {"Metadata-Flavor": "Google"})
        raise ApiError(404, "Not Found", "notFound")

    # --- objects ----------------------------------------------------------------------------
    def _bucket(self, name):
        bucket = self.server.state.buckets.get(name)
        if bucket is None:
            raise ApiError(404, "The specified bucket does not exist.", "notFound")
        return bucket

    def _resource(self, bucket, name, obj):
        return {"kind": "storage#object", "id": "%s/%s/%d" % (bucket, name, obj["generation"]),
                "name": name, "bucket": bucket, "generation": str(obj["generation"]),
                "metageneration": "1", "contentType": obj["contentType"], "size": str(len(obj["data"])),
                "md5Hash": base64.b64encode(hashlib.md5(obj["data"]).digest()).decode(),
                "etag": obj["etag"], "timeCreated": obj["created"], "updated": obj["created"],
                **({"metadata": obj["metadata"]} if obj["metadata"] else {})}

    def _store(self, bucket_name, name, data, metadata, content_type):
        state = self.server.state
        if not name:
            raise ApiError(400, "Required", "required")
        with state.lock:
            state.generation += 1
            obj = {"data": bytes(data), "metadata": dict(metadata or {}),
                   "contentType": content_type or "application/octet-stream", "generation": state.generation,
                   "etag": base64.b64encode(str(state.generation).encode()).decode(),
                   "created": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
            state.buckets[bucket_name][name] = obj
        return self._resource(bucket_name, name, obj)

    def _json_api(self, rest, query):
        state = self.server.state
        parts = rest.split("/", 2)
        bucket_name = urllib.parse.unquote(parts[0])
        bucket = self._bucket(bucket_name)
        if len(parts) == 2 and parts[1] == "o" and self.command == "GET":
            self._caller(bucket_name, False)
            return self._list(bucket_name, bucket, query)
        if len(parts) != 3 or parts[1] != "o":
            raise ApiError(404, "Not Found", "notFound")
        name = urllib.parse.unquote(parts[2])
        self._caller(bucket_name, self.command == "DELETE")
        with state.lock:
            obj = bucket.get(name)
        if self.command == "DELETE":
            if obj is None:
                raise ApiError(404, "No such object: %s/%s" % (bucket_name, name), "notFound")
            with state.lock:
                bucket.pop(name, None)
            return self._send(204)
        if obj is None:
            raise ApiError(404, "No such object: %s/%s" % (bucket_name, name), "notFound")
        if query.get("alt") != "media":
            return self._send(200, self._resource(bucket_name, name, obj))
        data = obj["data"]
        headers = {"ETag": obj["etag"], "x-goog-generation": str(obj["generation"]),
                   "x-goog-hash": "md5=" + base64.b64encode(hashlib.md5(data).digest()).decode(),
                   "Accept-Ranges": "bytes"}
        wanted = self.headers.get("Range")
        if wanted and wanted.startswith("bytes="):
            state.count("ranged_gets")
            first_text, _, last_text = wanted[6:].partition("-")
            first = int(first_text)
            last = min(int(last_text), len(data) - 1) if last_text else len(data) - 1
            if first >= len(data) and len(data) > 0 or first > last and len(data) > 0:
                headers["Content-Range"] = "bytes */%d" % len(data)
                raise ApiError(416, "Requested range not satisfiable", "requestedRangeNotSatisfiable")
            if len(data) == 0:
                return self._send(200, b"", headers, obj["contentType"])
            headers["Content-Range"] = "bytes %d-%d/%d" % (first, last, len(data))
            return self._send(206, data[first:last + 1], headers, obj["contentType"])
        return self._send(200, data, headers, obj["contentType"])

    def _list(self, bucket_name, bucket, query):
        state = self.server.state
        state.count("list_pages")
        prefix = query.get("prefix", "")
        delimiter = query.get("delimiter", "")
        max_results = max(1, min(int(query.get("maxResults", "1000")), 1000))
        after = ""
        if query.get("pageToken"):
            try:
                after = base64.urlsafe_b64decode(query["pageToken"].encode()).decode()
            except Exception:  # noqa: BLE001
                raise ApiError(400, "Invalid Value", "invalid")
        with state.lock:
            names = sorted(n for n in bucket if n.startswith(prefix))
            entries = []  # (sort key, kind, value)
            seen_prefixes = set()
            for n in names:
                if delimiter:
                    cut = n.find(delimiter, len(prefix))
                    if cut >= 0:
                        p = n[:cut + len(delimiter)]
                        if p not in seen_prefixes:
                            seen_prefixes.add(p)
                            entries.append((p, "prefix", p))
                        continue
                entries.append((n, "item", n))
            entries.sort()
            page = [e for e in entries if e[0] > after][:max_results + 1]
            more = len(page) > max_results
            page = page[:max_results]
            result = {"kind": "storage#objects"}
            items = [self._resource(bucket_name, e[2], bucket[e[2]]) for e in page if e[1] == "item"]
            prefixes = [e[2] for e in page if e[1] == "prefix"]
        if items:
            result["items"] = items
        if prefixes:
            result["prefixes"] = prefixes
        if more:
            result["nextPageToken"] = base64.urlsafe_b64encode(page[-1][0].encode()).decode()
        self._send(200, result)

    # --- uploads ----------------------------------------------------------------------------
    def _upload(self, rest, query):
        state = self.server.state
        parts = rest.split("/")
        bucket_name = urllib.parse.unquote(parts[0])
        self._bucket(bucket_name)
        if len(parts) != 2 or parts[1] != "o":
            raise ApiError(404, "Not Found", "notFound")
        kind = query.get("uploadType", "")
        if kind == "resumable" and "upload_id" in query:
            return self._resumable_put(query["upload_id"])
        self._caller(bucket_name, True)
        if self.command != "POST":
            raise ApiError(405, "Method Not Allowed", "methodNotAllowed")
        if kind == "media":
            state.count("media_uploads")
            data = self._body()
            return self._send(200, self._store(bucket_name, query.get("name", ""), data, None,
                                               self.headers.get("Content-Type")))
        if kind == "multipart":
            state.count("multipart_uploads")
            content_type = self.headers.get("Content-Type", "")
            if not content_type.startswith("multipart/related") or "boundary=" not in content_type:
                raise ApiError(400, "Bad content type. Please use multipart.", "invalid")
            boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
            body = self._body()
            pieces = body.split(b"--" + boundary)
            # ["", part1, part2, "--\r\n"]
            if len(pieces) < 4 or not pieces[-1].startswith(b"--"):
                raise ApiError(400, "Invalid multipart request", "invalid")
            parsed = []
            for piece in pieces[1:-1]:
                head, sep, content = piece.partition(b"\r\n\r\n")
                if not sep or not content.endswith(b"\r\n"):
                    raise ApiError(400, "Invalid multipart request", "invalid")
                headers = {}
                for line in head.strip().split(b"\r\n"):
                    key, _, value = line.decode().partition(":")
                    headers[key.strip().lower()] = value.strip()
                parsed.append((headers, content[:-2]))
            if len(parsed) != 2 or not parsed[0][0].get("content-type", "").startswith("application/json"):
                raise ApiError(400, "Invalid multipart request: metadata part first", "invalid")
            metadata = json.loads(parsed[0][1])
            name = metadata.get("name") or query.get("name", "")
            return self._send(200, self._store(bucket_name, name, parsed[1][1], metadata.get("metadata"),
                                               metadata.get("contentType") or parsed[1][0].get("content-type")))
        if kind == "resumable":
            body = self._body()
            metadata = json.loads(body) if body else {}
            name = metadata.get("name") or query.get("name", "")
            if not name:
                raise ApiError(400, "Required", "required")
            upload_id = secrets.token_urlsafe(24)
            with state.lock:
                state.sessions[upload_id] = {"bucket": bucket_name, "name": name, "data": bytearray(),
                                             "metadata": metadata.get("metadata"),
                                             "contentType": metadata.get("contentType")
                                             or self.headers.get("X-Upload-Content-Type"), "done": None}
            state.count("resumable_sessions")
            location = "http://%s/upload/storage/v1/b/%s/o?uploadType=resumable&name=%s&upload_id=%s" % (
                self.headers.get("Host"), urllib.parse.quote(bucket_name), urllib.parse.quote(name, safe=""),
                upload_id)
            return self._send(200, b"", {"Location": location, "X-GUploader-UploadID": upload_id})
        raise ApiError(400, "Invalid upload type: " + kind, "invalid")

    def _resumable_put(self, upload_id):
        state = self.server.state
        with state.lock:
            session = state.sessions.get(upload_id)
        if session is None:
            raise ApiError(404, "No such upload session", "notFound")
        if self.command == "DELETE":
            with state.lock:
                state.sessions.pop(upload_id, None)
            return self._send(499, b"")
        if self.command != "PUT":
            raise ApiError(405, "Method Not Allowed", "methodNotAllowed")
        content_range = self.headers.get("Content-Range", "")
        if not content_range.startswith("bytes "):
            raise ApiError(400, "Failed to parse Content-Range header.", "invalid")
        span, _, total_text = content_range[6:].partition("/")
        total = None if total_text == "*" else int(total_text)

        def incomplete():
            kept = len(session["data"])
            headers = {"Range": "bytes=0-%d" % (kept - 1)} if kept else {}
            self._send(308, b"", headers, "text/plain")

        if span == "*":
            self._body()
            state.count("status_queries")
            if session["done"] is not None:
                return self._send(200, session["done"])
            if total is not None and total == len(session["data"]):
                return self._finish(session, upload_id)
            return incomplete()
        state.count("resumable_chunks")
        first_text, _, last_text = span.partition("-")
        first, last = int(first_text), int(last_text)
        try:
            data = self._body(keep_partial=True)
        except PartialBody as partial:
            state.count("resumable_bytes", len(partial.data))
            # Only whole 256 KiB units of a broken chunk are kept.
            kept = (len(partial.data) // UNIT) * UNIT
            with state.lock:
                if first <= len(session["data"]) and first + kept > len(session["data"]):
                    session["data"] += partial.data[len(session["data"]) - first:kept]
            self.close_connection = True
            return
        state.count("resumable_bytes", len(data))
        if session["done"] is not None:
            return self._send(200, session["done"])
        if len(data) != last - first + 1:
            raise ApiError(400, "Content-Range does not match the number of bytes sent", "invalid")
        final = total is not None and last + 1 == total
        if not final and len(data) % UNIT != 0:
            raise ApiError(400, "Invalid request. The chunk size must be a multiple of 256 KiB (262144 bytes), "
                           "except for the last chunk.", "invalid")
        with state.lock:
            have = len(session["data"])
            if first > have:
                raise ApiError(400, "Invalid request. According to the Content-Range header, the upload offset is "
                               "%d byte(s), which exceeds already uploaded size of %d byte(s)." % (first, have),
                               "invalid")
            if last + 1 > have:
                session["data"] += data[have - first:]
        if final:
            return self._finish(session, upload_id)
        return incomplete()

    def _finish(self, session, upload_id):
        resource = self._store(session["bucket"], session["name"], session["data"], session["metadata"],
                               session["contentType"])
        with self.server.state.lock:
            session["done"] = resource
        return self._send(200, resource)


class PartialBody(Exception):
    def __init__(self, data):
        super().__init__("partial body")
        self.data = data


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bucket", action="append", default=[])
    parser.add_argument("--public-bucket", action="append")
    parser.add_argument("--service-account", action="append")
    parser.add_argument("--refresh-token", action="append")
    parser.add_argument("--metadata", action="store_true")
    parser.add_argument("--token-lifetime", type=int, default=3600)
    parser.add_argument("--allow-anonymous", action="store_true")
    args = parser.parse_args()
    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args)
    print("LISTENING %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
