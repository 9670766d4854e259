#!/usr/bin/python3
"""tests/k8s/apiserver.py — a small Kubernetes API server for the proxy's tests.

It speaks the real protocol for the three resources vswitch-proxy reads (core/v1 Services and
Nodes, discovery.k8s.io/v1 EndpointSlices) well enough that the real kubectl works against it
(the suite checks that: `kubectl get services -A`, `--watch`):

  - HTTPS with a certificate the test made, bearer-token authentication (the token file is
    read again on every request, so a test can rotate it), 401 and 403 Status objects;
  - discovery (/version, /api, /apis, /api/v1, /apis/discovery.k8s.io/v1);
  - GET of one object and lists, cluster-wide or per namespace, with `limit` and `continue`
    paging over a consistent snapshot; a continue token whose snapshot is gone is 410;
  - `watch=1` from a resourceVersion: a chunked stream of JSON lines (ADDED, MODIFIED,
    DELETED), BOOKMARK events with allowWatchBookmarks, `timeoutSeconds`, and for a
    resourceVersion older than the compacted history an ERROR event with a 410 Expired
    Status (or, in `gone=status` mode, an HTTP 410);
  - POST (create), PUT (replace, or create if absent), DELETE; resourceVersion, uid and
    creationTimestamp kept as the real server does;
  - Table output (Accept: ...;as=Table) for kubectl's printing.

A test changes objects through the same REST API (`k8sctl.py` or kubectl) and injects faults
through /_test/ (plain HTTP requests to the same port, authenticated too):
  POST /_test/compact          forget the history: every older resourceVersion is now 410
  POST /_test/drop-watches     cut every open watch stream without the chunked terminator
  POST /_test/expire-watches   compact past every client's resourceVersion and end every
                               watch with an ERROR 410 Expired event (gone-mode event), or cut
                               it so that the next watch gets an HTTP 410 (gone-mode status)
  POST /_test/gone-mode?mode=event|status
  POST /_test/deny?resource=R  answer 403 for resource R (empty: allow all again)
  POST /_test/split?on=1       write watch events in small random pieces, split anywhere
  GET  /_test/stats            counters (requests, lists, watches, pages) as JSON

Usage: apiserver.py --port N [--cert F --key F] [--token-file F] [--state F]
                    [--bookmark-interval S] [--generate N,M] [--node-count K]
The state (objects and resourceVersion) is loaded from and saved to --state on SIGTERM, so a
test can stop the server and start it again ("API server down, then up").
"""
import argparse
import base64
import bisect
import datetime
import http.server
import json
import os
import random
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

RESOURCES = {
    # plural: (group, version, kind, namespaced, short names)
    "services": ("", "v1", "Service", True, ["svc"]),
    "nodes": ("", "v1", "Node", False, ["no"]),
    "endpointslices": ("discovery.k8s.io", "v1", "EndpointSlice", True, []),
}
# The version discovery.k8s.io is served at: v1, or v1beta1 as on a 1.19 or 1.20 server, where
# /apis/discovery.k8s.io/v1/... is 404 (--discovery-version).
DISCOVERY_VERSION = "v1"
VERBS = ["create", "delete", "get", "list", "patch", "update", "watch"]


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_obj(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


class Store:
    """Objects, the resourceVersion counter and the event history, under one lock."""

    def __init__(self):
        self.cond = threading.Condition()
        self.rv = 1
        self.objects = {r: {} for r in RESOURCES}     # resource -> {(ns, name): (obj, bytes)}
        self.history = []                             # (rv, resource, line bytes)
        self.history_rvs = []
        self.compacted = 1                            # events after this rv are kept
        self.snapshots = {}                           # continue id -> (rv, [(key, bytes)])
        self.drop_gen = 0                             # bumped to cut every watch
        self.expire_gen = 0                           # bumped to expire every watch (410)

    def _event_line(self, etype, data):
        return b'{"type":"' + etype.encode() + b'","object":' + data + b"}\n"

    def put(self, resource, obj, create_only=False, replace_only=False):
        meta = obj.setdefault("metadata", {})
        ns = meta.get("namespace", "") if RESOURCES[resource][3] else ""
        if RESOURCES[resource][3] and not ns:
            ns = meta["namespace"] = "default"
        key = (ns, meta.get("name", ""))
        group, version, kind, _, _ = RESOURCES[resource]
        obj["apiVersion"] = (group + "/" + version) if group else version
        obj["kind"] = kind
        with self.cond:
            old = self.objects[resource].get(key)
            if old and create_only:
                return 409, None
            if not old and replace_only:
                return 404, None
            self.rv += 1
            if old:
                meta["uid"] = old[0]["metadata"]["uid"]
                meta["creationTimestamp"] = old[0]["metadata"]["creationTimestamp"]
            else:
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", now_rfc3339())
            meta["resourceVersion"] = str(self.rv)
            data = json.dumps(obj, separators=(",", ":")).encode()
            self.objects[resource][key] = (obj, data)
            self._record(resource, "MODIFIED" if old else "ADDED", data)
            return (200 if old else 201), data

    def delete(self, resource, ns, name):
        with self.cond:
            old = self.objects[resource].pop((ns, name), None)
            if not old:
                return None
            self.rv += 1
            obj = json.loads(old[1])
            obj["metadata"]["resourceVersion"] = str(self.rv)
            data = json.dumps(obj, separators=(",", ":")).encode()
            self._record(resource, "DELETED", data)
            return data

    def _record(self, resource, etype, data):
        self.history.append((self.rv, resource, self._event_line(etype, data)))
        self.history_rvs.append(self.rv)
        self.cond.notify_all()

    def compact(self):
        with self.cond:
            self.history = []
            self.history_rvs = []
            self.compacted = self.rv
            self.snapshots.clear()

    def load_bulk(self, resource, objs):
        """Adds objects without history (as if compacted): for big generated data sets."""
        with self.cond:
            for obj in objs:
                self.rv += 1
                meta = obj["metadata"]
                meta.setdefault("uid", str(uuid.uuid4()))
                meta.setdefault("creationTimestamp", now_rfc3339())
                meta["resourceVersion"] = str(self.rv)
                ns = meta.get("namespace", "")
                data = json.dumps(obj, separators=(",", ":")).encode()
                self.objects[resource][(ns, meta["name"])] = (obj, data)
            self.compacted = self.rv
            self.history = []
            self.history_rvs = []

    def save(self, path):
        with self.cond:
            state = {"rv": self.rv,
                     "objects": {r: [o for o, _ in m.values()] for r, m in self.objects.items()}}
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(state, f)
        os.replace(tmp, path)

    def load(self, path):
        with open(path) as f:
            state = json.load(f)
        with self.cond:
            for r, objs in state["objects"].items():
                for obj in objs:
                    m = obj["metadata"]
                    data = json.dumps(obj, separators=(",", ":")).encode()
                    self.objects[r][(m.get("namespace", ""), m["name"])] = (obj, data)
            self.rv = state["rv"]
            self.compacted = self.rv


STORE = Store()
OPTS = None
STATS = {"requests": 0, "lists": 0, "pages": 0, "watches": 0, "gets": 0, "writes": 0,
         "unauthorized": 0, "forbidden": 0, "gone": 0}
FAULTS = {"deny": set(), "gone_mode": "event", "split": False}


def token_ok(header):
    if not OPTS.token_file:
        return True
    try:
        with open(OPTS.token_file) as f:
            want = f.read().strip()
    except OSError:
        return False
    return header == "Bearer " + want


def table_for(resource, items, rv):
    """A meta.k8s.io/v1 Table with kubectl's usual columns."""
    if resource == "services":
        cols = ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age"]
    elif resource == "nodes":
        cols = ["Name", "Status", "Roles", "Age", "Version"]
    else:
        cols = ["Name", "AddressType", "Ports", "Endpoints", "Age"]
    rows = []
    for obj in items:
        m = obj["metadata"]
        name = m["name"]
        if resource == "services":
            s = obj.get("spec", {})
            ports = ",".join("%s/%s" % (p.get("port"), p.get("protocol", "TCP"))
                             for p in s.get("ports") or []) or "<none>"
            ext = ",".join(s.get("externalIPs") or []) or "<none>"
            cells = [name, s.get("type", "ClusterIP"), s.get("clusterIP", ""), ext, ports, "1m"]
        elif resource == "nodes":
            cells = [name, "Ready", "<none>", "1m", "v1.30.0"]
        else:
            ports = ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"
            eps = ",".join(e["addresses"][0] for e in obj.get("endpoints") or []
                           if e.get("addresses")) or "<unset>"
            cells = [name, obj.get("addressType", ""), ports, eps, "1m"]
        rows.append({"cells": cells,
                     "object": {"kind": "PartialObjectMetadata",
                                "apiVersion": "meta.k8s.io/v1", "metadata": m}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": str(rv)},
            "columnDefinitions": [{"name": c, "type": "string", "format": "name" if i == 0
                                   else "", "description": c, "priority": 0}
                                  for i, c in enumerate(cols)],
            "rows": rows}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vswitch-test-apiserver/1"

    def log_message(self, fmt, *args):
        if OPTS.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    # --- replies --------------------------------------------------------------------------

    def send_json(self, code, obj=None, data=None):
        body = data if data is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_status(self, code, reason, message):
        self.send_json(code, status_obj(code, reason, message))

    def want_table(self):
        return "as=Table" in self.headers.get("Accept", "")

    # --- dispatch -------------------------------------------------------------------------

    def parse(self):
        u = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
        return [p for p in u.path.split("/") if p], q

    def authorized(self):
        STATS["requests"] += 1
        if not token_ok(self.headers.get("Authorization", "")):
            STATS["unauthorized"] += 1
            self.send_status(401, "Unauthorized", "Unauthorized")
            return False
        return True

    def do_GET(self):
        if self.authorized():
            self.route("GET")

    def do_HEAD(self):
        if self.authorized():
            self.route("GET")

    def do_POST(self):
        if self.authorized():
            self.route("POST")

    def do_PUT(self):
        if self.authorized():
            self.route("PUT")

    def do_DELETE(self):
        if self.authorized():
            self.route("DELETE")

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        return json.loads(data) if data else {}

    def route(self, method):
        parts, q = self.parse()
        if parts and parts[0] == "_test":
            return self.test_control(method, parts[1:], q)
        if method == "GET" and parts == ["version"]:
            return self.send_json(200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0",
                                        "platform": "linux/amd64"})
        if method == "GET" and parts == ["api"]:
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"],
                                        "serverAddressByClientCIDRs": [
                                            {"clientCIDR": "0.0.0.0/0",
                                             "serverAddress": self.headers.get("Host", "")}]})
        if method == "GET" and parts == ["apis"]:
            gv = {"groupVersion": "discovery.k8s.io/" + DISCOVERY_VERSION,
                  "version": DISCOVERY_VERSION}
            return self.send_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": "discovery.k8s.io", "versions": [gv], "preferredVersion": gv}]})
        if method == "GET" and parts in (["api", "v1"],
                                         ["apis", "discovery.k8s.io", DISCOVERY_VERSION]):
            group = "" if parts[0] == "api" else "discovery.k8s.io"
            res = [{"name": r, "singularName": k.lower(), "namespaced": nsd, "kind": k,
                    "verbs": VERBS, "shortNames": sn}
                   for r, (g, _, k, nsd, sn) in RESOURCES.items() if g == group]
            if not group:
                res.append({"name": "namespaces", "singularName": "namespace",
                            "namespaced": False, "kind": "Namespace", "verbs": ["get", "list"],
                            "shortNames": ["ns"]})
            return self.send_json(200, {"kind": "APIResourceList", "apiVersion": "v1",
                                        "groupVersion": "/".join(parts[1:]), "resources": res})

        # /api/v1/... or /apis/discovery.k8s.io/v1/... (v1beta1 with --discovery-version)
        if parts[:2] == ["api", "v1"]:
            rest, group = parts[2:], ""
        elif parts[:3] == ["apis", "discovery.k8s.io", DISCOVERY_VERSION]:
            rest, group = parts[3:], "discovery.k8s.io"
        else:
            return self.send_status(404, "NotFound", "the server could not find the requested "
                                    "resource")
        ns = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            ns, rest = rest[1], rest[2:]
        if not rest or rest[0] not in RESOURCES or RESOURCES[rest[0]][0] != group:
            return self.send_status(404, "NotFound", "the server could not find the requested "
                                    "resource")
        resource, name = rest[0], (rest[1] if len(rest) > 1 else None)
        verb = {"GET": "list" if name is None else "get", "POST": "create", "PUT": "update",
                "DELETE": "delete"}[method]
        if verb == "list" and q.get("watch") in ("1", "true"):
            verb = "watch"
        if resource in FAULTS["deny"]:
            STATS["forbidden"] += 1
            scope = "in the namespace \"%s\"" % ns if ns else "at the cluster scope"
            return self.send_status(
                403, "Forbidden", '%s is forbidden: User "system:serviceaccount:kube-system:'
                'vswitch-proxy" cannot %s resource "%s" in API group "%s" %s'
                % (resource, verb, resource, group, scope))
        if verb == "watch":
            return self.watch(resource, ns, q)
        if verb == "list":
            return self.list(resource, ns, q)
        if verb == "get":
            key = (ns or "", name)
            with STORE.cond:
                got = STORE.objects[resource].get(key)
            STATS["gets"] += 1
            if not got:
                return self.send_status(404, "NotFound", '%s "%s" not found' % (resource, name))
            if self.want_table():
                return self.send_json(200, table_for(resource, [got[0]], STORE.rv))
            return self.send_json(200, data=got[1])
        STATS["writes"] += 1
        if verb == "delete":
            data = STORE.delete(resource, ns or "", name)
            if data is None:
                return self.send_status(404, "NotFound", '%s "%s" not found' % (resource, name))
            return self.send_json(200, data=data)
        try:
            obj = self.body_json()
        except ValueError as e:
            return self.send_status(400, "BadRequest", "invalid JSON: %s" % e)
        meta = obj.setdefault("metadata", {})
        if ns:
            meta["namespace"] = ns
        if name:
            meta["name"] = name
        if not meta.get("name"):
            return self.send_status(422, "Invalid", "metadata.name: Required value")
        code, data = STORE.put(resource, obj, create_only=(verb == "create"))
        if code == 409:
            return self.send_status(409, "AlreadyExists",
                                    '%s "%s" already exists' % (resource, meta["name"]))
        return self.send_json(code, data=data)

    # --- list -----------------------------------------------------------------------------

    def list(self, resource, ns, q):
        STATS["pages"] += 1
        limit = int(q.get("limit") or 0)
        cont = q.get("continue")
        with STORE.cond:
            if cont:
                try:
                    tok = json.loads(base64.b64decode(cont))
                    snap_rv, items = STORE.snapshots[tok["id"]]
                    start = tok["start"]
                except (ValueError, KeyError):
                    STATS["gone"] += 1
                    return self.send_status(410, "Expired", "The provided continue parameter "
                                            "is too old to display a consistent list result. "
                                            "You can start a new list without the continue "
                                            "parameter.")
            else:
                STATS["lists"] += 1
                snap_rv = STORE.rv
                items = sorted((k, v[1]) for k, v in STORE.objects[resource].items()
                               if ns is None or k[0] == ns)
                start = 0
            end = len(items) if not limit else min(len(items), start + limit)
            page = items[start:end]
            more = end < len(items)
            if more:
                sid = tok["id"] if cont else uuid.uuid4().hex
                STORE.snapshots[sid] = (snap_rv, items)
                next_tok = base64.b64encode(json.dumps({"id": sid, "start": end}).encode())
            elif cont:
                STORE.snapshots.pop(tok["id"], None)
        group, version, kind, _, _ = RESOURCES[resource]
        if self.want_table():
            t = table_for(resource, [json.loads(d) for _, d in page], snap_rv)
            if more:
                t["metadata"]["continue"] = next_tok.decode()
            return self.send_json(200, t)
        meta = {"resourceVersion": str(snap_rv)}
        if more:
            meta["continue"] = next_tok.decode()
            meta["remainingItemCount"] = len(items) - end
        head = json.dumps({"kind": kind + "List",
                           "apiVersion": (group + "/" + version) if group else version,
                           "metadata": meta}).encode()
        body = head[:-1] + b',"items":[' + b",".join(d for _, d in page) + b"]}"
        self.send_json(200, data=body)

    # --- watch ----------------------------------------------------------------------------

    def chunk(self, data):
        if not FAULTS["split"]:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            return
        while data:
            n = random.randint(1, 7)
            piece, data = data[:n], data[n:]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.flush()
            time.sleep(0.0005)

    def watch(self, resource, ns, q):
        STATS["watches"] += 1
        rv_s = q.get("resourceVersion") or "0"
        bookmarks = q.get("allowWatchBookmarks") in ("1", "true")
        timeout = int(q.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        try:
            rv = int(rv_s)
        except ValueError:
            return self.send_status(400, "BadRequest", "invalid resourceVersion %r" % rv_s)
        group, version, kind, _, _ = RESOURCES[resource]
        with STORE.cond:
            too_old = rv != 0 and rv < STORE.compacted
            gen = STORE.drop_gen
            xgen = STORE.expire_gen
            compacted = STORE.compacted
        if too_old and FAULTS["gone_mode"] == "status":
            STATS["gone"] += 1
            return self.send_status(410, "Expired", "too old resource version: %d (%d)"
                                    % (rv, compacted))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            if too_old:
                STATS["gone"] += 1
                self.chunk(json.dumps({"type": "ERROR", "object": status_obj(
                    410, "Expired", "too old resource version: %d (%d)" % (rv, compacted))})
                    .encode() + b"\n")
                self.wfile.write(b"0\r\n\r\n")
                return
            if rv == 0:
                with STORE.cond:
                    initial = [d for k, (o, d) in sorted(STORE.objects[resource].items())
                               if ns is None or k[0] == ns]
                    rv = STORE.rv
                for d in initial:
                    self.chunk(STORE._event_line("ADDED", d))
            last_bookmark = time.monotonic()
            while True:
                out = []
                with STORE.cond:
                    i = bisect.bisect_right(STORE.history_rvs, rv)
                    if STORE.expire_gen != xgen:
                        compacted = STORE.compacted
                        if FAULTS["gone_mode"] == "status":
                            self.close_connection = True
                            self.connection.shutdown(socket.SHUT_RDWR)
                            return
                        expired = True
                    else:
                        expired = False
                    if not expired and i == len(STORE.history) and STORE.drop_gen == gen:
                        wait = min(deadline, last_bookmark + OPTS.bookmark_interval)
                        STORE.cond.wait(max(0.0, min(0.5, wait - time.monotonic())))
                        i = bisect.bisect_right(STORE.history_rvs, rv)
                    if STORE.drop_gen != gen:
                        # Cut the connection as a crashing server or a dying proxy would.
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    for erv, eres, line in ([] if expired else STORE.history[i:]):
                        if eres == resource and (ns is None or
                                                 json.loads(line)["object"]["metadata"]
                                                 .get("namespace") == ns):
                            out.append(line)
                        rv = erv
                    cur = STORE.rv
                for line in out:
                    self.chunk(line)
                if expired:
                    STATS["gone"] += 1
                    self.chunk(json.dumps({"type": "ERROR", "object": status_obj(
                        410, "Expired", "too old resource version: %d (%d)" % (rv, compacted))})
                        .encode() + b"\n")
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                t = time.monotonic()
                if t >= deadline:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if bookmarks and t - last_bookmark >= OPTS.bookmark_interval:
                    last_bookmark = t
                    rv = max(rv, cur)
                    self.chunk(json.dumps({"type": "BOOKMARK", "object": {
                        "kind": kind, "apiVersion": (group + "/" + version) if group else version,
                        "metadata": {"resourceVersion": str(rv)}}}).encode() + b"\n")
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    # --- test control ---------------------------------------------------------------------

    def test_control(self, method, parts, q):
        what = parts[0] if parts else ""
        if what == "stats":
            with STORE.cond:
                s = dict(STATS, rv=STORE.rv, compacted=STORE.compacted,
                         objects={r: len(m) for r, m in STORE.objects.items()})
            return self.send_json(200, s)
        if method != "POST":
            return self.send_status(405, "MethodNotAllowed", "POST")
        if what == "compact":
            STORE.compact()
        elif what == "expire-watches":
            with STORE.cond:
                STORE.rv += 1
                STORE.history = []
                STORE.history_rvs = []
                STORE.compacted = STORE.rv
                STORE.snapshots.clear()
                STORE.expire_gen += 1
                STORE.cond.notify_all()
        elif what == "drop-watches":
            with STORE.cond:
                STORE.drop_gen += 1
                STORE.cond.notify_all()
        elif what == "gone-mode":
            FAULTS["gone_mode"] = q.get("mode", "event")
        elif what == "deny":
            r = q.get("resource", "")
            FAULTS["deny"] = {r} if r else set()
        elif what == "split":
            FAULTS["split"] = q.get("on") in ("1", "true")
        else:
            return self.send_status(404, "NotFound", "unknown test control %r" % what)
        self.send_json(200, {"ok": True})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def generate(n_services, n_endpoints, n_nodes):
    """N Services of one port with M endpoints each, one EndpointSlice per Service."""
    svcs, slices = [], []
    for i in range(n_services):
        ns = "ns-%d" % (i % 100)
        name = "svc-%d" % i
        vip = "10.96.%d.%d" % ((i + 10) // 250, (i + 10) % 250 + 1)
        svcs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                     "spec": {"type": "ClusterIP", "clusterIP": vip, "clusterIPs": [vip],
                              "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                         "targetPort": 8080}],
                              "selector": {"app": name}}})
        eps = []
        for j in range(n_endpoints):
            k = i * n_endpoints + j
            eps.append({"addresses": ["10.%d.%d.%d" % (128 + k // 62500, k // 250 % 250,
                                                       k % 250 + 1)],
                        "conditions": {"ready": True, "serving": True, "terminating": False},
                        "nodeName": "node-%d" % (k % max(1, n_nodes))})
        slices.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                       "metadata": {"name": name + "-abcde", "namespace": ns,
                                    "labels": {"kubernetes.io/service-name": name,
                                               "endpointslice.kubernetes.io/managed-by":
                                               "endpointslice-controller.k8s.io"}},
                       "addressType": "IPv4",
                       "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                       "endpoints": eps})
    STORE.load_bulk("services", svcs)
    STORE.load_bulk("endpointslices", slices)


def main():
    global OPTS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6443)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--token-file")
    ap.add_argument("--state")
    ap.add_argument("--bookmark-interval", type=float, default=60.0)
    ap.add_argument("--generate", help="N,M: N services of M endpoints each")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--discovery-version", choices=["v1", "v1beta1"], default="v1",
                    help="serve EndpointSlices as discovery.k8s.io/v1 (default) or v1beta1")
    OPTS = ap.parse_args()
    global DISCOVERY_VERSION
    DISCOVERY_VERSION = OPTS.discovery_version
    RESOURCES["endpointslices"] = ("discovery.k8s.io", DISCOVERY_VERSION) + \
        RESOURCES["endpointslices"][2:]

    if OPTS.state and os.path.exists(OPTS.state):
        STORE.load(OPTS.state)
    if OPTS.generate:
        n, m = (int(x) for x in OPTS.generate.split(","))
        generate(n, m, 0)

    srv = Server((OPTS.addr, OPTS.port), Handler)
    scheme = "http"
    if OPTS.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(OPTS.cert, OPTS.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"

    def stop(sig, frame):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("listening on %s://%s:%d" % (scheme, OPTS.addr, srv.server_address[1]), flush=True)
    srv.serve_forever()
    srv.server_close()
    if OPTS.state:
        STORE.save(OPTS.state)
    print("stopped", flush=True)


if __name__ == "__main__":
    main()
