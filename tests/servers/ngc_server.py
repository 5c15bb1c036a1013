#!/usr/bin/env python3
"""A protocol-faithful test server for NGC's model registry API, for airlock's download-to-cache
tests (NGC cannot be reached from the test machines). It follows the documented v2 REST API as the
NGC CLI and NVIDIA's own clients use it (https://docs.nvidia.com/ngc/latest/ ; ai-dynamo/modelexpress
providers/ngc.rs; shared/reference/nim-and-platform.md §11):

  GET /token?service=ngc&scope=group/ngc:<org>[/<team>]   Basic base64("$oauthtoken:<key>") ->
      {"token": "<jwt-like>", "expires_in": 900}; a wrong key -> 401. (The auth service; point
      NGC_AUTH_ENDPOINT here.)
  GET /v2/org/<org>[/team/<team>]/models/<model>/versions/<version>/files?page-size=N&page-number=P
      {"requestStatus": {"statusCode": "SUCCESS"}, "paginationInfo": {"index", "size",
      "totalPages", "totalResults"}, "modelVersion": {"versionId", "storageVersion": "V2"},
      "modelFiles": [{"path", "sizeInBytes"}]}; pages are at most --max-page-size long.
  GET /v2/org/.../versions/<version>/files/<path>   302 to a presigned URL on the CDN port
  Every /v2 request needs "Authorization: Bearer <token>" (a token from /token, or an nvapi- key
  given with --api-key): 401 without, 403 for --deny <org>/<team> repositories, 404 for unknown
  models, versions and files. --org-context-missing <org> answers the listing with NGC's 400
  "Org contex missing" (clients then read the version's checksums.blake3).

Models are the directories <root>/<org>/<team>/<model>/<version>/ ("_" as team for org-level
models). Faults and /_stats: see hub_common.py. Prints "LISTENING <port>" and "CDN <port>".
"""

import argparse
import base64
import json
import os
import secrets
import sys
import time
from urllib.parse import unquote

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import hub_common  # noqa: E402

ARGS = None
TOKENS = {}  # token -> (scope, expiry)
ETAGS = {}   # full path -> S3-style etag


def cdn_resolver(kind, key):
    if kind != "ngc":
        return None
    full = os.path.normpath(os.path.join(ARGS.root, key))
    if not full.startswith(os.path.abspath(ARGS.root) + os.sep) or not os.path.isfile(full):
        return None
    if full not in ETAGS:
        ETAGS[full] = hub_common.s3_etag(full)
    return full, ETAGS[full]


class Handler(hub_common.BaseHandler):
    def do_GET(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def do_POST(self):
        path, _ = self.split()
        if not self.handle_control(path):
            self.send_json(405, {"error": "method not allowed"})

    def ngc_error(self, status, code, description):
        self.send_json(status, {"requestStatus": {"statusCode": code, "statusDescription": description}})

    def route(self):
        path, params = self.split()
        if self.handle_control(path):
            return
        if path == "/token":
            return self.token(params)
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] != ["v2", "org"] or len(parts) < 3:
            return self.ngc_error(404, "NOT_FOUND", "no such endpoint")
        org, rest = parts[2], parts[3:]
        team = "_"
        if rest[:1] == ["team"] and len(rest) >= 2:
            team, rest = rest[1], rest[2:]
        if len(rest) < 5 or rest[0] != "models" or rest[2] != "versions" or rest[4] != "files":
            return self.ngc_error(404, "NOT_FOUND", "no such endpoint")
        model, version, file_path = rest[1], rest[3], "/".join(rest[5:])
        if not self.authorized(org, team):
            return
        version_dir = os.path.join(ARGS.root, org, team, model, version)
        if not os.path.isdir(os.path.join(ARGS.root, org, team, model)):
            return self.ngc_error(404, "NOT_FOUND", "model %s not found" % model)
        if not os.path.isdir(version_dir):
            return self.ngc_error(404, "NOT_FOUND", "version %s of model %s not found" % (version, model))
        if file_path:
            return self.file(org, team, model, version, file_path)
        return self.listing(org, team, version_dir, version, params)

    def token(self, params):
        auth = self.headers.get("Authorization", "")
        try:
            user, _, key = base64.b64decode(auth[len("Basic "):]).decode().partition(":") if auth.startswith("Basic ") else ("", "", "")
        except ValueError:
            user, key = "", ""
        if user != "$oauthtoken" or key != ARGS.api_key or params.get("service") != "ngc":
            return self.send_json(401, {"error": "invalid credentials"})
        token = "eyJ" + secrets.token_urlsafe(24)
        TOKENS[token] = (params.get("scope", ""), time.time() + 900)
        self.send_json(200, {"token": token, "expires_in": 900})

    def authorized(self, org, team):
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        valid = token is not None and ((token in TOKENS and TOKENS[token][1] > time.time()) or
                                       (ARGS.api_key.startswith("nvapi-") and token == ARGS.api_key))
        if not valid:
            self.ngc_error(401, "UNAUTHORIZED", "Authentication required")
            return False
        if token in TOKENS:
            scope = TOKENS[token][0]
            wanted = "group/ngc:%s" % org + ("" if team == "_" else "/" + team)
            if scope != wanted and scope != "group/ngc:%s" % org:
                self.ngc_error(403, "FORBIDDEN", "token scope %s does not cover %s" % (scope, wanted))
                return False
        if "%s/%s" % (org, team) in ARGS.deny:
            self.ngc_error(403, "FORBIDDEN", "Access denied")
            return False
        return True

    def listing(self, org, team, version_dir, version, params):
        if org in ARGS.org_context_missing:
            return self.ngc_error(400, "INVALID_REQUEST", "Org contex missing")
        if self.maybe_fail("/listing"):
            return
        files = []
        for base, dirs, names in os.walk(version_dir):
            dirs.sort()
            for n in sorted(names):
                full = os.path.join(base, n)
                files.append({"path": os.path.relpath(full, version_dir).replace(os.sep, "/"),
                              "sizeInBytes": os.path.getsize(full)})
        size = max(1, min(int(params.get("page-size", "25") or "25"), ARGS.max_page_size))
        page = max(1, int(params.get("page-number", "1") or "1"))
        total_pages = max(1, (len(files) + size - 1) // size)
        self.send_json(200, {"requestStatus": {"statusCode": "SUCCESS"},
                             "paginationInfo": {"index": page - 1, "size": size, "totalPages": total_pages,
                                                "totalResults": len(files)},
                             "modelVersion": {"versionId": version, "storageVersion": "V2"},
                             "modelFiles": files[(page - 1) * size:page * size]})

    def file(self, org, team, model, version, file_path):
        key = "/".join([org, team, model, version, file_path])
        full = os.path.normpath(os.path.join(ARGS.root, key))
        if not full.startswith(os.path.abspath(ARGS.root) + os.sep) or not os.path.isfile(full):
            return self.ngc_error(404, "NOT_FOUND", "file %s not found in version %s" % (file_path, version))
        if self.maybe_fail("/files/" + file_path):
            return
        location = "http://127.0.0.1:%d%s" % (ARGS.cdn_port_bound, hub_common.presigned_path("ngc", key))
        self.send_bytes(302, b"", [("Location", location)], "text/plain")


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="directory of <org>/<team>/<model>/<version>/ files")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cdn-port", type=int, default=0)
    parser.add_argument("--api-key", default="ngc-legacy-test-key-0123456789")
    parser.add_argument("--deny", action="append", default=[], help="<org>/<team> whose files answer 403")
    parser.add_argument("--org-context-missing", action="append", default=[])
    parser.add_argument("--max-page-size", type=int, default=4)
    parser.add_argument("--fault", action="append", default=[])
    ARGS = parser.parse_args()
    ARGS.root = os.path.abspath(ARGS.root)
    hub, cdn = hub_common.serve_pair(Handler, cdn_resolver, ARGS.port, ARGS.cdn_port, hub_common.Faults(ARGS.fault),
                                     hub_common.Stats())
    ARGS.cdn_port_bound = cdn.server_port
    print("CDN %d" % cdn.server_port, flush=True)
    print("LISTENING %d" % hub.server_port, flush=True)
    try:
        hub.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
