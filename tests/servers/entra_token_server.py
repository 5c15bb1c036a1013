#!/usr/bin/env python3
"""A test stand-in for the Microsoft identity platform's token endpoint (Python standard library
only), for the Azure Blob service-principal tests against Azurite started with `--oauth basic`.

It follows the public documentation of the OAuth 2.0 client credentials flow,
https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow :
  POST /{tenant}/oauth2/v2.0/token  (application/x-www-form-urlencoded)
    client_id, scope=https://storage.azure.com/.default, grant_type=client_credentials, and
    either client_secret or client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
    + client_assertion (workload identity federation)
  200 {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": <JWT>}
  400/401 {"error": "invalid_client" | "invalid_scope" | "unauthorized_client" | ...,
           "error_description": "AADSTS...: ...", "error_codes": [...]}
The access token is a JWT with the claims Azurite's basic OAuth check reads (aud
https://storage.azure.com, iss https://sts.windows.net/<tenant>/, iat, nbf, exp); its signature is
not a real one, which Azurite's basic level does not check.

    entra_token_server.py --tenant T --client ID:SECRET [--assertion ID:ASSERTION]

Prints "LISTENING <port>". GET /__entra__/stats returns {"tokens": n, "refused": n}.
"""

import argparse
import base64
import http.server
import json
import sys
import threading
import time
import urllib.parse


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/__entra__/stats"):
            with self.server.lock:
                return self._send(200, dict(self.server.stats))
        return self._send(404, {"error": "not_found"})

    def _refuse(self, status, error, code, description):
        with self.server.lock:
            self.server.stats["refused"] += 1
        return self._send(status, {"error": error, "error_description": "AADSTS%d: %s\r\nTrace ID: 0000\r\n"
                                   "Correlation ID: 0000\r\nTimestamp: 2026-01-01 00:00:00Z" % (code, description),
                                   "error_codes": [code]})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode(),
                                                           keep_blank_values=True).items()}
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) != 4 or parts[1:] != ["oauth2", "v2.0", "token"]:
            return self._send(404, {"error": "not_found"})
        tenant = parts[0]
        if tenant != self.server.tenant:
            return self._refuse(400, "invalid_request", 90002, "Tenant '%s' not found." % tenant)
        if form.get("grant_type") != "client_credentials":
            return self._refuse(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        if form.get("scope") != "https://storage.azure.com/.default":
            return self._refuse(400, "invalid_scope", 1002012, "The provided value for scope is not valid.")
        client = form.get("client_id", "")
        if "client_secret" in form:
            if self.server.clients.get(client) != form["client_secret"]:
                return self._refuse(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the "
                                    "secret being sent in the request is the client secret value, not the client "
                                    "secret ID, for a secret added to app '%s'." % client)
        elif form.get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
            if self.server.assertions.get(client) != form.get("client_assertion"):
                return self._refuse(401, "invalid_client", 700211, "No matching federated identity record found "
                                    "for presented assertion.")
        else:
            return self._refuse(401, "invalid_client", 7000218, "The request body must contain the following "
                                "parameter: 'client_assertion' or 'client_secret'.")
        now = int(time.time())
        claims = {"aud": "https://storage.azure.com", "iss": "https://sts.windows.net/%s/" % tenant,
                  "iat": now - 60, "nbf": now - 60, "exp": now + 3600, "appid": client, "tid": tenant,
                  "oid": "00000000-0000-0000-0000-000000000001"}
        token = ".".join([b64url(json.dumps({"typ": "JWT", "alg": "RS256"}).encode()),
                          b64url(json.dumps(claims).encode()), b64url(b"not-a-real-signature")])
        with self.server.lock:
            self.server.stats["tokens"] += 1
        return self._send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                "access_token": token})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--client", action="append", default=[])
    parser.add_argument("--assertion", action="append", default=[])
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.tenant = args.tenant
    server.clients = dict(entry.split(":", 1) for entry in args.client)
    server.assertions = dict(entry.split(":", 1) for entry in args.assertion)
    server.lock = threading.Lock()
    server.stats = {"tokens": 0, "refused": 0}
    print("LISTENING %d" % server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
