#!/usr/bin/env python3
"""A protocol-faithful stand-in for AWS STS AssumeRoleWithWebIdentity, for the credential tests
(no real STS can run here). It follows the public API reference
(https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html):
an unsigned POST of a form (Action, Version, RoleArn, RoleSessionName, WebIdentityToken,
DurationSeconds) answered by an AssumeRoleWithWebIdentityResponse document, or an ErrorResponse
with Code InvalidIdentityToken / AccessDenied and HTTP 400 / 403.

    sts_server.py --token EXPECTED_JWT --role-arn ARN [--access-key S3RVER] [--duration 3600]

GET /count answers {"count": n} (how many AssumeRoleWithWebIdentity calls succeeded).
Prints "LISTENING <port>".
"""

import argparse
import datetime
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

STATE = {"count": 0, "lock": threading.Lock()}


def error(handler, status, code, message):
    body = ("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>"
            "<Code>%s</Code><Message>%s</Message></Error><RequestId>req-1</RequestId></ErrorResponse>" % (code, message))
    handler.send_response(status)
    handler.send_header("Content-Type", "text/xml")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body.encode())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        with STATE["lock"]:
            body = json.dumps({"count": STATE["count"]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        args = self.server.args
        get = lambda name: form.get(name, [""])[0]
        if get("Action") != "AssumeRoleWithWebIdentity" or get("Version") != "2011-06-15":
            return error(self, 400, "InvalidAction", "Could not find operation %s" % get("Action"))
        if "Authorization" in self.headers:
            return error(self, 400, "InvalidParameterValue", "AssumeRoleWithWebIdentity is not signed")
        if not get("RoleSessionName"):
            return error(self, 400, "ValidationError", "RoleSessionName is required")
        if get("WebIdentityToken") != args.token:
            return error(self, 400, "InvalidIdentityToken", "The web identity token that was passed could not be validated")
        if get("RoleArn") != args.role_arn:
            return error(self, 403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        with STATE["lock"]:
            STATE["count"] += 1
            serial = STATE["count"]
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=args.duration)
        body = """<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:models:airlock</SubjectFromWebIdentityToken>
    <AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROA:%s</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <SessionToken>session-token-%d-abcdefgh</SessionToken>
      <SecretAccessKey>secret-from-sts-%d</SecretAccessKey>
      <Expiration>%s</Expiration>
      <AccessKeyId>%s</AccessKeyId>
    </Credentials>
    <Provider>oidc.example</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>req-%d</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>""" % (args.role_arn, get("RoleSessionName"), get("RoleSessionName"), serial, serial,
                                           expires.strftime("%Y-%m-%dT%H:%M:%SZ"), args.access_key, serial)
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    parser.add_argument("--role-arn", required=True)
    parser.add_argument("--access-key", default="S3RVER")
    parser.add_argument("--duration", type=int, default=3600)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.args = args
    print("LISTENING %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
