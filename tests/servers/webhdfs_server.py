#!/usr/bin/env python3
"""A protocol-faithful WebHDFS / HttpFS test server (Python standard library only).

No real HDFS can run in the test environment, so this follows the public documentation:
  - apache/hadoop hadoop-hdfs-project/hadoop-hdfs/src/site/markdown/WebHDFS.md (the REST API:
    operations, JSON schemas, the RemoteException error format and its status mapping,
    delegation tokens, LISTSTATUS_BATCH paging with startAfter / remainingEntries);
  - hadoop-hdfs-project/hadoop-hdfs-httpfs/src/site/markdown/index.md (HttpFS: the same API
    through a gateway that never redirects; CREATE in one step with data=true);
  - hdfs-default.xml (dfs.ls.limit, the page size of LISTSTATUS_BATCH).

It runs a "namenode" port and a separate "datanode" port, exactly as the documentation
describes the two-step CREATE and the redirected OPEN:
  PUT  nn/webhdfs/v1/<path>?op=CREATE        -> 307 Location: dn/webhdfs/v1/<path>?op=CREATE&...
  PUT  dn/...?op=CREATE  (the bytes)          -> 201 Created
  GET  nn/...?op=OPEN&offset=&length=         -> 307 Location: dn/...?op=OPEN&offset=&length=
The datanode ignores Range headers (it reads offset/length only), as Hadoop's does.
Also: GETFILESTATUS, LISTSTATUS, LISTSTATUS_BATCH, MKDIRS, RENAME (renameoptions=OVERWRITE),
DELETE, GETHOMEDIRECTORY. Files live in memory.

Security: off by default (user.name identifies the caller; dr.who without it). --tokens turns it
on: requests need delegation=<one of the tokens>. --kerberos turns on Kerberos SPNEGO as
Hadoop's AuthenticationFilter with its KerberosAuthenticationHandler does it
(hadoop-common-project/hadoop-auth/src/site/markdown/Configuration.md and
hadoop-hdfs-project/hadoop-hdfs/src/site/markdown/WebHDFS.md, "Authentication"):
  - a request without credentials gets 401 + "WWW-Authenticate: Negotiate";
  - "Authorization: Negotiate <base64 GSS token>" is accepted with GSS-API (python3-gssapi)
    against the service keytab given with --keytab (HTTP/<host>@REALM); success answers the
    request itself with "WWW-Authenticate: Negotiate <reply token>" and a signed
    `hadoop.auth="u=<user>&p=<principal>&t=kerberos&e=<expiry ms>&s=<signature>"` cookie, which
    later requests may replay instead of negotiating again; a token that fails is 403, and an
    invalid or expired cookie is cleared and challenged again;
  - the caller is the principal's short name (alice@REALM -> alice; auth_to_local DEFAULT);
  - redirects to the datanode carry a delegation token the namenode issued for that user
    (datanodes do not speak SPNEGO), and the datanode accepts only such tokens.
Without --keytab a Negotiate token cannot be checked and is refused.
--protected /dir makes /dir owned by hdfs with mode 755, so other users get AccessControlException.

    webhdfs_server.py [--datanode-port N] [--advertise-datanode host:port] [--httpfs]
                      [--ls-limit N] [--no-batch] [--tokens a,b] [--kerberos [--keytab K]]
                      [--cookie-lifetime S] [--protected /dir] [--cert C --key K]

Prints "LISTENING <namenode port>" (and "DATANODE <port>") when ready. GET /__webhdfs__/stats
returns counters: operations by name, datanode writes and reads, redirects, SPNEGO handshakes,
cookie-authenticated requests and the users Kerberos authenticated.
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import json
import secrets
import posixpath
import ssl
import sys
import threading
import time
import urllib.parse

STATIC_USER = "dr.who"


class FsError(Exception):
    # Status codes as WebHDFS's ExceptionHandler maps exceptions.
    STATUS = {
        "IllegalArgumentException": 400, "UnsupportedOperationException": 400,
        "SecurityException": 401, "AccessControlException": 403, "InvalidToken": 403,
        "FileAlreadyExistsException": 403, "ParentNotDirectoryException": 403,
        "PathIsNotEmptyDirectoryException": 403, "IOException": 403, "FileNotFoundException": 404,
    }
    JAVA = {
        "IllegalArgumentException": "java.lang.IllegalArgumentException",
        "UnsupportedOperationException": "java.lang.UnsupportedOperationException",
        "SecurityException": "java.lang.SecurityException",
        "AccessControlException": "org.apache.hadoop.security.AccessControlException",
        "InvalidToken": "org.apache.hadoop.security.token.SecretManager$InvalidToken",
        "FileAlreadyExistsException": "org.apache.hadoop.fs.FileAlreadyExistsException",
        "ParentNotDirectoryException": "org.apache.hadoop.fs.ParentNotDirectoryException",
        "PathIsNotEmptyDirectoryException": "org.apache.hadoop.fs.PathIsNotEmptyDirectoryException",
        "IOException": "java.io.IOException",
        "FileNotFoundException": "java.io.FileNotFoundException",
    }

    def __init__(self, exception, message):
        super().__init__(message)
        self.exception = exception
        self.message = message

    def body(self):
        return {"RemoteException": {"exception": self.exception, "javaClassName": self.JAVA[self.exception],
                                    "message": self.message}}


class Node:
    def __init__(self, kind, owner, permission):
        self.kind = kind  # FILE or DIRECTORY
        self.owner = owner
        self.permission = permission
        self.data = bytearray()
        self.mtime = int(time.time() * 1000)


class FileSystem:
    def __init__(self, protected):
        self.lock = threading.RLock()
        self.nodes = {"/": Node("DIRECTORY", "hdfs", "777")}
        for path in protected:
            self.nodes[path] = Node("DIRECTORY", "hdfs", "755")

    @staticmethod
    def normalize(path):
        if not path.startswith("/"):
            raise FsError("IllegalArgumentException", "Invalid path name " + path)
        parts = [p for p in path.split("/") if p]
        for p in parts:
            if p in (".", "..") or ":" in p:
                raise FsError("IllegalArgumentException", "Invalid path name Invalid file name: " + path)
        return "/" + "/".join(parts)

    def get(self, path):
        return self.nodes.get(path)

    def check_write(self, user, path):
        # Write access to the nearest existing directory above `path`.
        probe = posixpath.dirname(path) if path != "/" else "/"
        while probe not in self.nodes:
            probe = posixpath.dirname(probe)
        node = self.nodes[probe]
        if node.kind != "DIRECTORY":
            raise FsError("ParentNotDirectoryException", probe + " (is not a directory)")
        if node.permission == "777" or node.owner == user or user == "hdfs":
            return
        raise FsError("AccessControlException",
                      "Permission denied: user=%s, access=WRITE, inode=\"%s\":%s:supergroup:drwxr-xr-x"
                      % (user, probe, node.owner))

    def mkdirs(self, user, path):
        with self.lock:
            self.check_write(user, path + "/x")
            probe = "/"
            for part in [p for p in path.split("/") if p]:
                probe = posixpath.join(probe, part)
                node = self.nodes.get(probe)
                if node is None:
                    self.nodes[probe] = Node("DIRECTORY", user, "755")
                elif node.kind != "DIRECTORY":
                    raise FsError("FileAlreadyExistsException", "Path is not a directory: " + probe)
            return True

    def create(self, user, path, data, overwrite):
        with self.lock:
            node = self.nodes.get(path)
            if node is not None and node.kind == "DIRECTORY":
                raise FsError("FileAlreadyExistsException", path + " already exists as a directory")
            if node is not None and not overwrite:
                raise FsError("FileAlreadyExistsException", "failed to create file " + path + ", file exists")
            self.check_write(user, path)
            self.mkdirs(user, posixpath.dirname(path))
            created = Node("FILE", user, "644")
            created.data = bytearray(data)
            self.nodes[path] = created

    def children(self, path):
        prefix = path.rstrip("/") + "/"
        names = []
        for candidate in self.nodes:
            if candidate != "/" and candidate.startswith(prefix) and "/" not in candidate[len(prefix):]:
                names.append(candidate[len(prefix):])
        return sorted(names)

    def delete(self, user, path, recursive):
        with self.lock:
            node = self.nodes.get(path)
            if node is None:
                return False
            if path == "/":
                raise FsError("IOException", "cannot delete the root")
            if node.kind == "DIRECTORY" and self.children(path) and not recursive:
                raise FsError("PathIsNotEmptyDirectoryException", "`" + path + " is non empty': Directory is not empty")
            self.check_write(user, path)
            for candidate in list(self.nodes):
                if candidate == path or candidate.startswith(path + "/"):
                    del self.nodes[candidate]
            return True

    def rename(self, user, source, destination, overwrite):
        with self.lock:
            node = self.nodes.get(source)
            if node is None:
                return False
            parent = self.nodes.get(posixpath.dirname(destination))
            if parent is None or parent.kind != "DIRECTORY":
                return False
            existing = self.nodes.get(destination)
            if existing is not None:
                if not overwrite or existing.kind == "DIRECTORY" or node.kind == "DIRECTORY":
                    return False
            self.check_write(user, source)
            self.check_write(user, destination)
            if node.kind == "DIRECTORY":
                for candidate in sorted(self.nodes):
                    if candidate.startswith(source + "/"):
                        self.nodes[destination + candidate[len(source):]] = self.nodes.pop(candidate)
            self.nodes[destination] = self.nodes.pop(source)
            return True

    def status(self, path, node, suffix):
        return {"accessTime": node.mtime, "blockSize": 134217728, "childrenNum": len(self.children(path))
                if node.kind == "DIRECTORY" else 0, "fileId": abs(hash(path)) % 100000, "group": "supergroup",
                "length": len(node.data) if node.kind == "FILE" else 0, "modificationTime": node.mtime,
                "owner": node.owner, "pathSuffix": suffix, "permission": node.permission,
                "replication": 3 if node.kind == "FILE" else 0, "storagePolicy": 0, "type": node.kind}


class State:
    def __init__(self, args):
        self.args = args
        self.fs = FileSystem(args.protected or [])
        self.tokens = set(t for t in (args.tokens or "").split(",") if t)
        self.lock = threading.Lock()
        self.stats = {"ops": {}, "datanode_writes": 0, "datanode_reads": 0, "redirects": 0, "range_headers": 0,
                      "batch_pages": 0, "challenges": 0, "spnego": 0, "spnego_failures": 0, "cookie_auth": 0,
                      "cookie_rejected": 0, "kerberos_users": {}}
        self.datanode = None  # host:port advertised in redirects
        self.issued = {}  # delegation tokens issued for datanode redirects -> user
        self.cookie_secret = secrets.token_bytes(32)
        self.credentials = None
        if args.keytab:
            import gssapi  # Debian: python3-gssapi; only needed with --keytab
            self.gssapi = gssapi
            self.credentials = gssapi.Credentials(usage="accept", store={"keytab": args.keytab})

    def issue_token(self, user):
        token = "HAAE" + secrets.token_urlsafe(24)
        with self.lock:
            self.issued[token] = user
        return token

    def token_user(self, token):
        if token in self.tokens:
            return "airlock"
        with self.lock:
            return self.issued.get(token)

    # hadoop.auth cookies: "u=<user>&p=<principal>&t=kerberos&e=<expiry ms>" signed with a secret
    # only this server knows (Hadoop's Signer appends "&s=<base64 HMAC-SHA256>").
    def make_cookie(self, user, principal):
        expiry = int((time.time() + self.args.cookie_lifetime) * 1000)
        payload = "u=%s&p=%s&t=kerberos&e=%d" % (user, principal, expiry)
        signature = base64.b64encode(hmac.new(self.cookie_secret, payload.encode(), hashlib.sha256).digest())
        return payload + "&s=" + signature.decode()

    def check_cookie(self, value):
        payload, sep, signature = value.rpartition("&s=")
        if not sep:
            return None
        expected = base64.b64encode(hmac.new(self.cookie_secret, payload.encode(), hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(expected, signature):
            return None
        fields = dict(part.partition("=")[::2] for part in payload.split("&"))
        try:
            if int(fields.get("e", "0")) < time.time() * 1000:
                return None
        except ValueError:
            return None
        return fields.get("u") or None

    def count(self, key, op=None):
        with self.lock:
            if op is None:
                self.stats[key] += 1
            else:
                self.stats["ops"][op] = self.stats["ops"].get(op, 0) + 1


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Jetty(airlock-webhdfs-test)"

    def log_message(self, fmt, *args):
        pass

    # --- plumbing -------------------------------------------------------------------------
    def _send(self, status, body=b"", headers=None, content_type="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        for name, value in list(getattr(self, "auth_headers", {}).items()) + list((headers or {}).items()):
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def _error(self, error):
        self._send(FsError.STATUS[error.exception], error.body())

    def _body(self):
        length = self.headers.get("Content-Length")
        if length is not None:
            remaining = int(length)
            chunks = []
            while remaining > 0:
                chunk = self.rfile.read(min(1 << 20, remaining))
                if not chunk:
                    raise ConnectionError("client closed the connection mid-body")
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

    def _parse(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        path = urllib.parse.unquote(parsed.path)
        return parsed.path, path, query

    def _cookie(self):
        for header in self.headers.get_all("Cookie") or []:
            for part in header.split(";"):
                name, _, value = part.strip().partition("=")
                if name == "hadoop.auth":
                    return value.strip('"')
        return None

    def _kerberos(self, query):
        state = self.server.state
        if "delegation" in query:
            user = state.token_user(query["delegation"])
            if user is None:
                raise FsError("InvalidToken", "token (HDFS_DELEGATION_TOKEN token 42) can't be found in cache")
            return user
        if self.server.role == "datanode":
            raise FsError("SecurityException", "Failed to obtain user group information: datanodes need a "
                          "delegation token")
        cookie = self._cookie()
        clear = {"Set-Cookie": "hadoop.auth=; Path=/; Expires=Thu, 01-Jan-1970 00:00:00 GMT; HttpOnly"}
        if cookie is not None:
            user = state.check_cookie(cookie)
            if user is not None:
                state.count("cookie_auth")
                return user
            state.count("cookie_rejected")
        authorization = self.headers.get("Authorization", "")
        if not authorization.startswith("Negotiate "):
            # What Hadoop's AuthenticationFilter answers before the SPNEGO exchange.
            state.count("challenges")
            headers = {"WWW-Authenticate": "Negotiate"}
            if cookie is not None:
                headers.update(clear)
            self._drain()
            self._send(401, b"<html><body>Authentication required</body></html>", headers, "text/html")
            return None
        if state.credentials is None:
            raise FsError("SecurityException", "this test server was started without --keytab and cannot accept "
                          "SPNEGO tokens")
        try:
            context = state.gssapi.SecurityContext(creds=state.credentials, usage="accept")
            reply = context.step(base64.b64decode(authorization[len("Negotiate "):].strip()))
            if not context.complete:
                raise ValueError("the GSS-API exchange needs more than one step")
            principal = str(context.initiator_name)
        except Exception as error:  # noqa: BLE001 - GSSError, bad base64: the filter answers 403
            state.count("spnego_failures")
            self._drain()
            self._send(403, ("<html><body>GSSException: %s</body></html>" % str(error).split("\n")[0]).encode(),
                       clear, "text/html")
            return None
        user = principal.split("@", 1)[0].split("/", 1)[0]
        state.count("spnego")
        with state.lock:
            state.stats["kerberos_users"][user] = state.stats["kerberos_users"].get(user, 0) + 1
        self.auth_headers = {"Set-Cookie": 'hadoop.auth="%s"; Path=/; HttpOnly' % state.make_cookie(user, principal)}
        if reply:
            self.auth_headers["WWW-Authenticate"] = "Negotiate " + base64.b64encode(reply).decode()
        return user

    def _drain(self):
        if self.command in ("PUT", "POST"):
            try:
                self._body()
            except Exception:  # noqa: BLE001 - the connection is closed anyway
                self.close_connection = True

    def _authenticate(self, query):
        state = self.server.state
        self.auth_headers = {}
        if state.args.kerberos:
            return self._kerberos(query)
        if state.tokens:
            token = query.get("delegation")
            if token is None:
                raise FsError("SecurityException", "Failed to obtain user group information: "
                              "org.apache.hadoop.security.authentication.client.AuthenticationException: "
                              "Authentication required")
            if token not in state.tokens:
                raise FsError("InvalidToken", "token (HDFS_DELEGATION_TOKEN token 42 for airlock) can't be found "
                              "in cache")
            return "airlock"
        return query.get("user.name") or STATIC_USER

    def _dispatch(self):
        self.auth_headers = {}  # one handler serves every request of a keep-alive connection
        raw_path, path, query = self._parse()
        if raw_path.startswith("/__webhdfs__/stats"):
            with self.server.state.lock:
                self._send(200, dict(self.server.state.stats))
            return
        if self.headers.get("Range"):
            self.server.state.count("range_headers")
        if not raw_path.startswith("/webhdfs/v1"):
            self._send(404, FsError("FileNotFoundException", "no such resource " + raw_path).body())
            return
        hdfs_path = path[len("/webhdfs/v1"):] or "/"
        op = query.get("op", "").upper()
        try:
            user = self._authenticate(query)
            if user is None:
                return
            hdfs_path = FileSystem.normalize(hdfs_path)
            if self.server.role == "datanode":
                self._datanode(op, hdfs_path, query, user)
            else:
                self._namenode(op, hdfs_path, query, user)
        except FsError as error:
            # A request body that was not read would be taken for the next request.
            if self.command in ("PUT", "POST"):
                try:
                    self._body()
                except Exception:  # noqa: BLE001 - the connection is closed anyway
                    self.close_connection = True
            self._error(error)
        except ConnectionError:
            self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = lambda self: self._dispatch()

    def _datanode_location(self, op, path, query, user):
        state = self.server.state
        params = [("op", op), ("namenoderpcaddress", "127.0.0.1:8020")]
        for name in ("overwrite", "permission", "offset", "length", "buffersize", "replication", "blocksize"):
            if name in query:
                params.append((name, query[name]))
        if "delegation" in query:
            params.append(("delegation", query["delegation"]))
        elif state.args.kerberos:
            # A secure namenode hands the datanode a delegation token for the authenticated user.
            params.append(("delegation", state.issue_token(user)))
        else:
            params.append(("user.name", user))
        scheme = "https" if state.args.cert else "http"
        return "%s://%s/webhdfs/v1%s?%s" % (scheme, state.datanode, urllib.parse.quote(path),
                                            urllib.parse.urlencode(params))

    # --- the namenode (or the HttpFS gateway) -------------------------------------------------
    def _namenode(self, op, path, query, user):
        state = self.server.state
        fs = state.fs
        state.count(None, op)
        httpfs = state.args.httpfs
        method = self.command
        if method == "GET" and op == "GETFILESTATUS":
            with fs.lock:
                node = fs.get(path)
                if node is None:
                    raise FsError("FileNotFoundException", "File does not exist: " + path)
                self._send(200, {"FileStatus": fs.status(path, node, "")})
        elif method == "GET" and op in ("LISTSTATUS", "LISTSTATUS_BATCH"):
            if op == "LISTSTATUS_BATCH" and state.args.no_batch:
                raise FsError("IllegalArgumentException", "Invalid value for webhdfs parameter \"op\": No enum "
                              "constant org.apache.hadoop.hdfs.web.resources.GetOpParam.Op.LISTSTATUS_BATCH")
            with fs.lock:
                node = fs.get(path)
                if node is None:
                    raise FsError("FileNotFoundException", "File " + path + " does not exist.")
                if node.kind == "FILE":
                    entries = [fs.status(path, node, "")]
                    names = []
                else:
                    names = fs.children(path)
                if op == "LISTSTATUS":
                    if node.kind != "FILE":
                        entries = [fs.status(posixpath.join(path, n), fs.get(posixpath.join(path, n)), n) for n in names]
                    self._send(200, {"FileStatuses": {"FileStatus": entries}})
                    return
                state.count("batch_pages")
                after = query.get("startAfter", "")
                if node.kind != "FILE":
                    remaining_names = [n for n in names if n > after]
                    page = remaining_names[:state.args.ls_limit]
                    entries = [fs.status(posixpath.join(path, n), fs.get(posixpath.join(path, n)), n) for n in page]
                    remaining = len(remaining_names) - len(page)
                else:
                    remaining = 0
                self._send(200, {"DirectoryListing": {"partialListing": {"FileStatuses": {"FileStatus": entries}},
                                                      "remainingEntries": remaining}})
        elif method == "GET" and op == "GETHOMEDIRECTORY":
            self._send(200, {"Path": "/user/" + user})
        elif method == "GET" and op == "OPEN":
            with fs.lock:
                node = fs.get(path)
                if node is None:
                    raise FsError("FileNotFoundException", "File does not exist: " + path)
                if node.kind != "FILE":
                    raise FsError("FileNotFoundException", "Path is not a file: " + path)
            if httpfs:
                self._read(path, query)
                return
            state.count("redirects")
            self._send(307, b"", {"Location": self._datanode_location("OPEN", path, query, user)})
        elif method == "PUT" and op == "CREATE":
            overwrite = query.get("overwrite", "false").lower() == "true"
            with fs.lock:
                node = fs.get(path)
                if node is not None and node.kind == "FILE" and not overwrite:
                    raise FsError("FileAlreadyExistsException", "failed to create file " + path + ", file exists")
                fs.check_write(user, path)
            if httpfs:
                if query.get("data", "false").lower() != "true":
                    # HttpFS sends the client back to itself with data=true.
                    self._body()
                    location = "http://%s%s&data=true" % (self.headers.get("Host"), self.path)
                    self._send(307, b"", {"Location": location})
                    return
                if not self.headers.get("Content-Type", "").startswith("application/octet-stream"):
                    raise FsError("IllegalArgumentException",
                                  "Data upload requests must have content-type set to 'application/octet-stream'")
                data = self._body()
                fs.create(user, path, data, overwrite)
                self._send(201, b"", {"Location": "webhdfs://127.0.0.1" + path})
                return
            if self._body():
                raise FsError("IllegalArgumentException", "the namenode takes no data: send it to the datanode")
            location = self._datanode_location("CREATE", path, query, user)
            if query.get("noredirect", "false").lower() == "true":
                self._send(200, {"Location": location})
                return
            state.count("redirects")
            self._send(307, b"", {"Location": location})
        elif method == "PUT" and op == "MKDIRS":
            self._body()
            self._send(200, {"boolean": fs.mkdirs(user, path)})
        elif method == "PUT" and op == "RENAME":
            self._body()
            destination = query.get("destination")
            if not destination:
                raise FsError("IllegalArgumentException", "Invalid value for webhdfs parameter \"destination\"")
            destination = FileSystem.normalize(urllib.parse.unquote(destination))
            overwrite = "OVERWRITE" in query.get("renameoptions", "").upper().split(",")
            self._send(200, {"boolean": fs.rename(user, path, destination, overwrite)})
        elif method == "DELETE" and op == "DELETE":
            recursive = query.get("recursive", "false").lower() == "true"
            self._send(200, {"boolean": fs.delete(user, path, recursive)})
        else:
            if method in ("PUT", "POST"):
                self._body()
            raise FsError("UnsupportedOperationException", "%s is not supported by this server for %s" % (op, method))

    # --- the datanode -----------------------------------------------------------------------
    def _read(self, path, query):
        fs = self.server.state.fs
        with fs.lock:
            node = fs.get(path)
            if node is None or node.kind != "FILE":
                raise FsError("FileNotFoundException", "File does not exist: " + path)
            data = bytes(node.data)
        offset = int(query.get("offset", "0"))
        if offset < 0 or offset > len(data):
            raise FsError("IOException", "Offset=%d out of the range [0, %d)" % (offset, len(data)))
        end = len(data)
        if "length" in query:
            end = min(len(data), offset + int(query["length"]))
        # Range headers are ignored: offset and length are what count.
        self._send(200, data[offset:end], content_type="application/octet-stream")

    def _datanode(self, op, path, query, user):
        state = self.server.state
        if self.command == "PUT" and op == "CREATE":
            data = self._body()
            state.count("datanode_writes")
            state.fs.create(user, path, data, query.get("overwrite", "false").lower() == "true")
            self._send(201, b"", {"Location": "hdfs://127.0.0.1:8020" + path})
        elif self.command == "GET" and op == "OPEN":
            state.count("datanode_reads")
            self._read(path, query)
        else:
            if self.command in ("PUT", "POST"):
                self._body()
            raise FsError("UnsupportedOperationException", "the datanode does not serve " + op)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, role, state):
        super().__init__(("127.0.0.1", port), Handler)
        self.role = role
        self.state = state
        if state.args.cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(state.args.cert, state.args.key)
            self.socket = context.wrap_socket(self.socket, server_side=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--datanode-port", type=int, default=0)
    parser.add_argument("--advertise-datanode", default="")
    parser.add_argument("--httpfs", action="store_true")
    parser.add_argument("--ls-limit", type=int, default=1000)
    parser.add_argument("--no-batch", action="store_true")
    parser.add_argument("--tokens", default="")
    parser.add_argument("--kerberos", action="store_true")
    parser.add_argument("--keytab", default="")
    parser.add_argument("--cookie-lifetime", type=int, default=36000)
    parser.add_argument("--protected", action="append")
    parser.add_argument("--cert", default="")
    parser.add_argument("--key", default="")
    args = parser.parse_args()
    state = State(args)
    namenode = Server(args.port, "namenode", state)
    servers = [namenode]
    if not args.httpfs:
        datanode = Server(args.datanode_port, "datanode", state)
        servers.append(datanode)
        state.datanode = args.advertise_datanode or "127.0.0.1:%d" % datanode.server_address[1]
        print("DATANODE %d" % datanode.server_address[1], flush=True)
    for server in servers[1:]:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("LISTENING %d" % namenode.server_address[1], flush=True)
    try:
        namenode.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
