#!/usr/bin/env python3
"""A protocol-faithful test server for the Hugging Face Hub, for airlock's download-to-cache tests
(the real Hub cannot be reached from the test machines). It follows the public protocol as
huggingface_hub and @huggingface/hub use it (huggingface/huggingface_hub file_download.py,
hf_api.py, utils/_pagination.py; shared/reference/storage-and-hub.md §2):

  GET  /api/models/<repo>/revision/<rev>[?blobs=true]   {"id", "sha", "siblings": [{"rfilename",
       "size", "blobId", "lfs": {"sha256", "size", "pointerSize"}}]} (sizes only with blobs=true)
  GET  /api/models/<repo>/tree/<rev>[/<path>]?recursive=true   entries {"type", "oid", "size",
       "path", "lfs": {"oid", "size", "pointerSize"}}, paged with Link: <...>; rel="next"
  POST /api/models/<repo>/paths-info/<rev>            {"paths": [...], "expand": bool}
  HEAD|GET /<repo>/resolve/<rev>/<path>               X-Repo-Commit, ETag (git blob sha1),
       X-Linked-Etag (sha256) and X-Linked-Size for LFS files, which redirect (302) to the CDN port
  404s carry X-Error-Code: RepoNotFound, RevisionNotFound or EntryNotFound (with X-Repo-Commit).

Repositories are the directories <root>/<org>/<name> (their files are the `main` branch; the
commit is derived from the content). Files of --lfs-threshold bytes or more, and *.safetensors /
*.bin, are LFS files. Revisions are percent-encoded in URLs ("refs%2Fpr%2F1"). Access:
--private REPO and --gated REPO need "Authorization: Bearer <--token>" (401 without; a gated repo
answers 403 GatedRepo to any other token). Faults and /_stats: see hub_common.py.

Prints "LISTENING <port>" (the hub) and "CDN <port>" once both ports serve.
"""

import argparse
import hashlib
import json
import os
import sys
from urllib.parse import quote, unquote

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import hub_common  # noqa: E402

ARGS = None
REPOS = {}  # "org/name" -> Repo


class Repo:
    def __init__(self, name, directory):
        self.name = name
        self.directory = directory
        self.files = {}  # path -> dict
        for base, dirs, names in os.walk(directory):
            dirs.sort()
            for n in sorted(names):
                full = os.path.join(base, n)
                rel = os.path.relpath(full, directory).replace(os.sep, "/")
                self.files[rel] = describe(full, rel)
        listing = "".join("%s %s\n" % (p, f["oid"]) for p, f in sorted(self.files.items()))
        self.sha = hashlib.sha1(("commit " + name + "\n" + listing).encode()).hexdigest()

    def resolve(self, revision):
        return self.sha if revision in ("main", self.sha) else None


def describe(full, rel):
    size = os.path.getsize(full)
    sha1 = hashlib.sha1()
    sha256 = hashlib.sha256()
    sha1.update(b"blob %d\0" % size)
    with open(full, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha1.update(block)
            sha256.update(block)
    lfs = size >= ARGS.lfs_threshold or rel.endswith((".safetensors", ".bin"))
    info = {"path": rel, "full": full, "size": size, "oid": sha1.hexdigest(), "sha256": sha256.hexdigest(), "lfs": lfs,
            "s3_etag": hub_common.s3_etag(full)}
    if lfs:
        # The git blob of an LFS file is its pointer file.
        pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (info["sha256"], size)
        info["pointer_size"] = len(pointer)
        info["oid"] = hashlib.sha1(b"blob %d\0" % len(pointer) + pointer.encode()).hexdigest()
    return info


def entry_json(f, tree=False):
    if tree:
        out = {"type": "file", "oid": f["oid"], "size": f["size"] if not f["lfs"] else f["pointer_size"], "path": f["path"]}
        if f["lfs"]:
            out["lfs"] = {"oid": f["sha256"], "size": f["size"], "pointerSize": f["pointer_size"]}
        return out
    out = {"rfilename": f["path"], "size": f["size"], "blobId": f["oid"]}
    if f["lfs"]:
        out["lfs"] = {"sha256": f["sha256"], "size": f["size"], "pointerSize": f["pointer_size"]}
    return out


def cdn_resolver(kind, key):
    if kind != "hf":
        return None
    for repo in REPOS.values():
        for f in repo.files.values():
            if f["lfs"] and f["sha256"] == key:
                return f["full"], f["s3_etag"]
    return None


class Handler(hub_common.BaseHandler):
    def do_GET(self):
        self.route()

    def do_HEAD(self):
        self.route()

    def do_POST(self):
        self.route()

    def access(self, repo_name):
        """None when allowed, else the error already sent."""
        auth = self.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        if repo_name in ARGS.private or repo_name in ARGS.gated:
            if token is None:
                self.send_json(401, {"error": "Invalid credentials in Authorization header"}, [("X-Error-Code", "RepoNotFound")])
                return False
            if token != ARGS.token:
                if repo_name in ARGS.gated:
                    self.send_json(403, {"error": "Access to model %s is restricted" % repo_name}, [("X-Error-Code", "GatedRepo")])
                else:
                    self.send_json(401, {"error": "Invalid credentials in Authorization header"})
                return False
        return True

    def find_repo(self, parts):
        """(repo, rest) for /<org>/<name>/... or /<name>/...; sends 404 RepoNotFound when unknown."""
        for n in (2, 1):
            name = "/".join(parts[:n])
            if name in REPOS:
                return REPOS[name], parts[n:]
        self.send_json(404, {"error": "Repository not found"}, [("X-Error-Code", "RepoNotFound")])
        return None, None

    def route(self):
        path, params = self.split()
        if self.handle_control(path):
            return
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) >= 2 and parts[0] == "api" and parts[1] == "models":
            return self.api(parts[2:], params)
        if "resolve" in parts:
            at = parts.index("resolve")
            repo_parts, rest = parts[:at], parts[at + 1:]
            name = "/".join(repo_parts)
            if name not in REPOS:
                return self.send_json(404, {"error": "Repository not found"}, [("X-Error-Code", "RepoNotFound")])
            if not self.access(name):
                return
            return self.resolve_file(REPOS[name], rest)
        self.send_json(404, {"error": "no such endpoint " + path})

    def api(self, parts, params):
        # parts: <org>/<name>/(revision|tree|paths-info)/<rev>[/<path>]
        for n in (2, 1):
            if len(parts) > n and parts[n] in ("revision", "tree", "paths-info"):
                name = "/".join(parts[:n])
                kind, rest = parts[n], parts[n + 1:]
                break
        else:
            return self.send_json(404, {"error": "no such endpoint"})
        if name not in REPOS:
            return self.send_json(404, {"error": "Repository not found"}, [("X-Error-Code", "RepoNotFound")])
        if not self.access(name):
            return
        repo = REPOS[name]
        if not rest:
            return self.send_json(400, {"error": "no revision"})
        revision, sub = rest[0], "/".join(rest[1:])
        commit = repo.resolve(revision)
        if commit is None:
            return self.send_json(404, {"error": "Invalid rev id: " + revision}, [("X-Error-Code", "RevisionNotFound")])
        if self.maybe_fail("/api/" + kind):
            return
        files = [repo.files[p] for p in sorted(repo.files)]
        if kind == "revision":
            blobs = params.get("blobs") == "true" and not ARGS.no_blobs_info
            siblings = [entry_json(f) if blobs else {"rfilename": f["path"]} for f in files]
            return self.send_json(200, {"_id": hashlib.md5(repo.name.encode()).hexdigest()[:24], "id": repo.name,
                                        "modelId": repo.name, "sha": commit, "private": repo.name in ARGS.private,
                                        "lastModified": "2024-01-01T00:00:00.000Z", "siblings": siblings})
        if kind == "paths-info":
            body = json.loads(self.read_body() or b"{}")
            out = []
            for p in body.get("paths", []):
                if p in repo.files:
                    e = entry_json(repo.files[p], tree=True)
                    if body.get("expand"):
                        e["lastCommit"] = {"id": commit, "title": "test commit", "date": "2024-01-01T00:00:00.000Z"}
                    out.append(e)
            return self.send_json(200, out)
        # tree: files and the directories that hold them, under `sub`, paged.
        entries = []
        dirs = set()
        for f in files:
            if sub and not f["path"].startswith(sub + "/"):
                continue
            segments = f["path"].split("/")
            for i in range(1, len(segments)):
                d = "/".join(segments[:i])
                if d not in dirs and (not sub or d.startswith(sub + "/")):
                    dirs.add(d)
                    entries.append({"type": "directory", "oid": hashlib.sha1(d.encode()).hexdigest(), "size": 0, "path": d})
            if params.get("recursive") == "true" or "/" not in f["path"][len(sub) + 1 if sub else 0:]:
                entries.append(entry_json(f, tree=True))
        cursor = int(params.get("cursor", "0") or "0")
        page = entries[cursor:cursor + ARGS.tree_page_size]
        headers = []
        if cursor + ARGS.tree_page_size < len(entries):
            query = "recursive=%s&cursor=%d" % (params.get("recursive", "false"), cursor + ARGS.tree_page_size)
            base = "/api/models/%s/tree/%s%s" % (repo.name, quote(revision, safe=""), "/" + sub if sub else "")
            headers.append(("Link", '<http://127.0.0.1:%d%s?%s>; rel="next"' % (self.server.server_port, base, query)))
        self.send_json(200, page, headers)

    def resolve_file(self, repo, rest):
        if not rest:
            return self.send_json(400, {"error": "no revision"})
        revision, file_path = rest[0], "/".join(rest[1:])
        commit = repo.resolve(revision)
        if commit is None:
            return self.send_json(404, {"error": "Invalid rev id"}, [("X-Error-Code", "RevisionNotFound")])
        f = repo.files.get(file_path)
        if f is None:
            return self.send_json(404, {"error": "Entry not found"}, [("X-Error-Code", "EntryNotFound"), ("X-Repo-Commit", commit)])
        headers = [("X-Repo-Commit", commit)]
        if f["lfs"]:
            location = "http://127.0.0.1:%d%s" % (ARGS.cdn_port_bound, hub_common.presigned_path("hf", f["sha256"]))
            headers += [("ETag", '"%s"' % f["oid"]), ("X-Linked-Etag", '"%s"' % f["sha256"]),
                        ("X-Linked-Size", str(f["size"])), ("Location", location)]
            return self.send_bytes(302, b"", headers, "text/plain")
        self.send_file(f["full"], f["oid"], headers)


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", required=True, help="directory of <org>/<name> repositories")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cdn-port", type=int, default=0)
    parser.add_argument("--token", default="hf_test_token_0123456789")
    parser.add_argument("--private", action="append", default=[])
    parser.add_argument("--gated", action="append", default=[])
    parser.add_argument("--lfs-threshold", type=int, default=1 << 20)
    parser.add_argument("--tree-page-size", type=int, default=50)
    parser.add_argument("--no-blobs-info", action="store_true", help="leave sizes out of the revision API (tree fallback)")
    parser.add_argument("--fault", action="append", default=[])
    ARGS = parser.parse_args()
    for org in sorted(os.listdir(ARGS.root)):
        org_dir = os.path.join(ARGS.root, org)
        if not os.path.isdir(org_dir):
            continue
        for name in sorted(os.listdir(org_dir)):
            if os.path.isdir(os.path.join(org_dir, name)):
                REPOS[org + "/" + name] = Repo(org + "/" + name, os.path.join(org_dir, name))
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
