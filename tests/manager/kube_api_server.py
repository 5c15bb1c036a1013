#!/usr/bin/env python3
"""A Kubernetes API server for the Kubernetes deployer's tests, following the public API
conventions (https://kubernetes.io/docs/reference/using-api/api-concepts/) as far as `kubectl
apply --server-side`, `kubectl get -o json` and `kubectl delete -f` use them: /version, legacy
discovery (/api, /apis, /api/v1, /apis/<group>/<version>), the OpenAPI v3 index and per-group
documents kubectl reads to learn that the server validates fields itself (fieldValidation),
server-side apply (PATCH application/apply-patch+yaml with fieldManager, creating or replacing),
GET and DELETE of objects, namespaced and cluster-scoped, with Status bodies for errors. It stands in for a controller too: a Deployment reports its replicas ready
and an InferenceService becomes Ready a moment after it is applied, so status watching can be
tested. GET /_objects returns everything stored (for assertions).

    kube_api_server.py [--port P]    prints "LISTENING <port>"
"""
import argparse
import http.server
import json
import threading
import time

RESOURCES = {
    # (group, version): [(plural, kind, namespaced)]
    ("", "v1"): [("namespaces", "Namespace", False), ("secrets", "Secret", True), ("services", "Service", True)],
    ("apps", "v1"): [("deployments", "Deployment", True)],
    ("serving.kserve.io", "v1beta1"): [("inferenceservices", "InferenceService", True)],
    ("serving.kserve.io", "v1alpha1"): [("servingruntimes", "ServingRuntime", True),
                                        ("clusterstoragecontainers", "ClusterStorageContainer", False)],
}
READY_AFTER_SECONDS = 0.5

objects = {}  # (group, version, plural, namespace, name) -> object
applied_at = {}
lock = threading.Lock()


def group_path(group, version):
    return "api/%s" % version if group == "" else "apis/%s/%s" % (group, version)


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def openapi_document(group, version):
    paths, schemas = {}, {}
    for plural, kind, namespaced in RESOURCES[(group, version)]:
        gvk = {"group": group, "version": version, "kind": kind}
        prefix = "/" + group_path(group, version) + ("/namespaces/{namespace}" if namespaced else "")
        params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                  {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": True}},
                  {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": True}}]
        paths["%s/%s/{name}" % (prefix, plural)] = {
            "patch": {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "patch", "parameters": params,
                      "responses": {"200": {"description": "OK"}}}}
        schemas["test.%s.%s.%s" % (group or "core", version, kind)] = {
            "type": "object", "x-kubernetes-group-version-kind": [gvk],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "metadata": {"type": "object"}, "spec": {"type": "object"}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.30.0"}, "paths": paths,
            "components": {"schemas": schemas}}


def with_status(key, obj):
    """What a controller would have written by now."""
    group, version, plural, namespace, name = key
    obj = json.loads(json.dumps(obj))
    ready = time.monotonic() - applied_at.get(key, 0) >= READY_AFTER_SECONDS
    if plural == "deployments":
        replicas = obj.get("spec", {}).get("replicas", 1)
        obj["status"] = {"replicas": replicas, "readyReplicas": replicas if ready else 0,
                         "conditions": [{"type": "Available", "status": "True" if ready else "False",
                                         "reason": "MinimumReplicasAvailable" if ready else "MinimumReplicasUnavailable",
                                         "message": "Deployment has minimum availability." if ready else
                                         "Deployment does not have minimum availability."}]}
    if plural == "inferenceservices":
        obj["status"] = {"conditions": [{"type": "Ready", "status": "True" if ready else "False",
                                         "reason": "" if ready else "PredictorNotReady"}]}
    return obj


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        length = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(length) if length else b""

    def route(self):
        """(group, version, plural, namespace, name) for an object path, or None."""
        path = self.path.split("?")[0].strip("/").split("/")
        if path[0] == "api" and len(path) >= 2:
            group, version, rest = "", path[1], path[2:]
        elif path[0] == "apis" and len(path) >= 3:
            group, version, rest = path[1], path[2], path[3:]
        else:
            return None
        if (group, version) not in RESOURCES:
            return None
        namespace = ""
        if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if len(rest) != 2:
            return None
        plural, name = rest
        for p, kind, namespaced in RESOURCES[(group, version)]:
            if p == plural and namespaced == bool(namespace):
                return (group, version, plural, namespace, name), kind
        return None

    def authorized(self):
        # kubectl sends no credentials to a plain-http server, so none are checked here; the
        # manager's use of a kubeconfig is what the tests exercise.
        return True

    def do_GET(self):
        path = self.path.split("?")[0]
        if path == "/_objects":
            with lock:
                return self.send(200, [with_status(k, v) for k, v in sorted(objects.items())])
        if not self.authorized():
            return
        if path == "/version":
            return self.send(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0", "platform": "linux/amd64"})
        if path == "/openapi/v3":
            return self.send(200, {"paths": {group_path(g, v): {"serverRelativeURL": "/openapi/v3/%s?hash=1" % group_path(g, v)}
                                             for (g, v) in RESOURCES}})
        if path.startswith("/openapi/v3/"):
            wanted = path[len("/openapi/v3/"):]
            for (g, v) in RESOURCES:
                if group_path(g, v) == wanted:
                    return self.send(200, openapi_document(g, v))
        if path == "/api":
            return self.send(200, {"kind": "APIVersions", "versions": ["v1"],
                                   "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})
        if path == "/apis":
            groups = {}
            for (g, v) in RESOURCES:
                if g:
                    groups.setdefault(g, []).append(v)
            return self.send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": "%s/%s" % (g, vs[0]), "version": vs[0]}} for g, vs in groups.items()]})
        for (g, v), resources in RESOURCES.items():
            if path == "/" + group_path(g, v):
                return self.send(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                       "groupVersion": "%s/%s" % (g, v) if g else v,
                                       "resources": [{"name": p, "singularName": k.lower(), "namespaced": ns, "kind": k,
                                                      "verbs": ["create", "delete", "get", "list", "patch", "update"]}
                                                     for p, k, ns in resources]})
        found = self.route()
        if not found:
            return self.send(404, status(404, "NotFound", "the server could not find the requested resource"))
        key, kind = found
        with lock:
            if key not in objects:
                return self.send(404, status(404, "NotFound", '%s "%s" not found' % (key[2], key[4])))
            return self.send(200, with_status(key, objects[key]))

    def do_PATCH(self):
        if not self.authorized():
            return
        found = self.route()
        body = self.body()
        if not found:
            return self.send(404, status(404, "NotFound", "the server could not find the requested resource"))
        key, kind = found
        if self.headers.get("Content-Type", "") != "application/apply-patch+yaml":
            return self.send(415, status(415, "UnsupportedMediaType", "only server-side apply is served here"))
        if "fieldManager=" not in self.path:
            return self.send(422, status(422, "Invalid", "fieldManager is required for apply patch"))
        try:
            obj = json.loads(body)
        except ValueError:
            import yaml  # kubectl sends JSON, but apply patches may be YAML
            obj = yaml.safe_load(body)
        if obj.get("kind") != kind or obj.get("metadata", {}).get("name") != key[4]:
            return self.send(400, status(400, "BadRequest", "kind or name does not match the URL"))
        with lock:
            created = key not in objects
            objects[key] = obj
            applied_at[key] = time.monotonic()
            return self.send(201 if created else 200, with_status(key, obj))

    def do_DELETE(self):
        if not self.authorized():
            return
        self.body()
        found = self.route()
        if not found:
            return self.send(404, status(404, "NotFound", "the server could not find the requested resource"))
        key, kind = found
        with lock:
            if key not in objects:
                return self.send(404, status(404, "NotFound", '%s "%s" not found' % (key[2], key[4])))
            del objects[key]
        return self.send(200, {"kind": "Status", "apiVersion": "v1", "status": "Success",
                               "details": {"name": key[4], "kind": key[2]}})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("LISTENING %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
