#!/usr/bin/env python3
"""Runs nginx (Debian's package, the real server) for the https store tests: serves --root,
accepts WebDAV PUT/DELETE/MKCOL, optionally over TLS with a self-signed certificate made here
(written to <dir>/cert.pem, for the test's --ca-bundle), and optionally behind Basic or Bearer
auth. Prints "LISTENING <port>" once nginx accepts connections; SIGTERM stops nginx.

    nginx_main.py --dir WORKDIR --root DOCROOT [--tls] [--basic-auth user:password] [--bearer TOKEN]
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_nginx():
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.path.exists(candidate):
            return candidate
    sys.exit("nginx not found (scripts/setup installs it)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--basic-auth")
    parser.add_argument("--bearer")
    args = parser.parse_args()
    work = os.path.abspath(args.dir)
    root = os.path.abspath(args.root)
    os.makedirs(work, exist_ok=True)
    os.makedirs(root, exist_ok=True)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(work, sub), exist_ok=True)
    port = free_port()

    listen = "listen 127.0.0.1:%d;" % port
    tls = ""
    if args.tls:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", os.path.join(work, "key.pem"), "-out", os.path.join(work, "cert.pem"),
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        listen = "listen 127.0.0.1:%d ssl;" % port
        tls = "ssl_certificate %s/cert.pem; ssl_certificate_key %s/key.pem;" % (work, work)
    auth = ""
    auth_map = ""
    if args.basic_auth:
        user, password = args.basic_auth.split(":", 1)
        hashed = subprocess.run(["openssl", "passwd", "-apr1", password], check=True, capture_output=True,
                                text=True).stdout.strip()
        with open(os.path.join(work, "htpasswd"), "w") as f:
            f.write("%s:%s\n" % (user, hashed))
        auth = 'auth_basic "airlock"; auth_basic_user_file %s/htpasswd;' % work
    if args.bearer:
        auth_map = 'map $http_authorization $airlock_denied { default 1; "Bearer %s" 0; }' % args.bearer
        auth = "if ($airlock_denied) { return 401; }"
    user = "user root root;" if os.geteuid() == 0 else ""
    config = """
%(user)s
daemon off;
worker_processes 2;
pid %(work)s/nginx.pid;
error_log %(work)s/error.log warn;
events { worker_connections 512; }
http {
  access_log %(work)s/access.log;
  client_body_temp_path %(work)s/body;
  proxy_temp_path %(work)s/proxy;
  fastcgi_temp_path %(work)s/fastcgi;
  uwsgi_temp_path %(work)s/uwsgi;
  scgi_temp_path %(work)s/scgi;
  client_max_body_size 0;
  sendfile on;
  types { application/json json; }
  default_type application/octet-stream;
  %(auth_map)s
  server {
    %(listen)s
    %(tls)s
    root %(root)s;
    location / {
      %(auth)s
      dav_methods PUT DELETE MKCOL;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }
  }
}
""" % dict(user=user, work=work, listen=listen, tls=tls, root=root, auth=auth, auth_map=auth_map)
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(config)
    process = subprocess.Popen([find_nginx(), "-p", work, "-c", conf, "-e", os.path.join(work, "error.log")])

    def stop(*_):
        # Fast shutdown; the main thread's wait() below reaps nginx (waiting here as well would
        # block on the lock that wait() holds).
        process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.time() + 15
    while time.time() < deadline:
        if process.poll() is not None:
            with open(os.path.join(work, "error.log")) as f:
                sys.stderr.write(f.read())
            sys.exit("nginx exited with %d" % process.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.05)
    print("LISTENING %d" % port, flush=True)
    process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
