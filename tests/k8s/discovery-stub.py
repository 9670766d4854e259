#!/usr/bin/python3
"""tests/k8s/discovery-stub.py — an empty Kubernetes API server that knows the kinds of
examples/k8s/, so that `kubectl apply --dry-run=client --validate=false -f` can check those
manifests without a cluster (tests/system/test-examples.sh).

kubectl needs the API's discovery documents to map each object's apiVersion and kind to a
resource, then GETs each object to decide between create and patch.  This server answers the
legacy discovery documents (/api, /apis, /api/v1, /apis/GROUP/VERSION) for the kinds below and
404 NotFound to everything else, so every object is "created (dry run)"; an unknown apiVersion
or kind, or a manifest kubectl cannot parse, fails as it would against a real cluster.  Plain
HTTP, no authentication.  Standard library only.

Usage: discovery-stub.py PORT       (listens on 127.0.0.1; prints "listening" when ready)
"""
import http.server
import json
import sys

# group/version -> [(plural, kind, namespaced)]
KINDS = {
    "v1": [("namespaces", "Namespace", False), ("configmaps", "ConfigMap", True),
           ("serviceaccounts", "ServiceAccount", True), ("services", "Service", True),
           ("nodes", "Node", False), ("pods", "Pod", True), ("secrets", "Secret", True)],
    "apps/v1": [("daemonsets", "DaemonSet", True), ("deployments", "Deployment", True)],
    "rbac.authorization.k8s.io/v1": [
        ("clusterroles", "ClusterRole", False),
        ("clusterrolebindings", "ClusterRoleBinding", False),
        ("roles", "Role", True), ("rolebindings", "RoleBinding", True)],
    "discovery.k8s.io/v1": [("endpointslices", "EndpointSlice", True)],
}
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def resource_list(gv):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [{"name": p, "singularName": k.lower(), "namespaced": nsd,
                           "kind": k, "verbs": VERBS} for p, k, nsd in KINDS[gv]]}


def group_list():
    groups = []
    for gv in KINDS:
        if "/" not in gv:
            continue
        name, version = gv.split("/")
        v = {"groupVersion": gv, "version": version}
        groups.append({"name": name, "versions": [v], "preferredVersion": v})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0].rstrip("/")
        if path == "/version":
            return self.reply(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0"})
        if path == "/api":
            return self.reply(200, {"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            return self.reply(200, group_list())
        if path == "/api/v1":
            return self.reply(200, resource_list("v1"))
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "apis" and "/".join(parts[2:]) in KINDS:
            return self.reply(200, resource_list("/".join(parts[2:])))
        self.reply(404, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Failure", "reason": "NotFound", "code": 404,
                         "message": "%s not found" % path})


def main():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    print("listening", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
