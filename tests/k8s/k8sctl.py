#!/usr/bin/python3
"""tests/k8s/k8sctl.py — the proxy tests' client for the test API server (apiserver.py):
builds Service, EndpointSlice and Node objects from short arguments and writes them with the
real REST verbs (PUT creates or replaces, DELETE deletes), and drives the server's /_test/
fault controls.  Standard library only.

Connection: --server URL (or $K8S_SERVER), --ca FILE ($K8S_CA), --token-file FILE
($K8S_TOKEN_FILE).  $K8S_DISCOVERY_VERSION=v1beta1 writes EndpointSlices as a 1.20 server
holds them: discovery.k8s.io/v1beta1, an endpoint's node=N in topology["kubernetes.io/hostname"]
and not in nodeName (the EndpointSliceNodeName gate off).

  service NS NAME --ip VIP --port [NAME:]PORT[/PROTO] ... [--type T] [--affinity SECONDS]
          [--itp Local] [--node-port N] ... [--annotation K=V] ... [--label K=V] ...
                                    (the Nth --node-port is the Nth port's nodePort)
  slice NS NAME --service SVC --port [NAME:]PORT[/PROTO] ... --ep IP[,ready=B][,serving=B]
          [,terminating=B][,node=N] ... [--address-type T]
  node NAME --ip INTERNAL_IP [--cidr POD_CIDR]
  apply FILE|-                      PUT the object(s) in FILE (JSON object or list)
  delete RESOURCE NS NAME           (NS "-" for nodes)
  get PATH                          GET and print
  test CONTROL [K=V ...]            POST /_test/CONTROL?K=V
  raw METHOD PATH [FILE|-]          any request, body from FILE
"""
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

DISCOVERY_VERSION = os.environ.get("K8S_DISCOVERY_VERSION") or "v1"
PATHS = {
    "services": "/api/v1/namespaces/%s/services",
    "endpointslices": "/apis/discovery.k8s.io/%s/namespaces/%%s/endpointslices"
                      % DISCOVERY_VERSION,
    "nodes": "/api/v1/nodes",
}


class Client:
    def __init__(self, server, ca, token_file):
        self.server = server.rstrip("/")
        self.ctx = ssl.create_default_context(cafile=ca) if ca else None
        self.token_file = token_file

    def request(self, method, path, body=None):
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.token_file:
            with open(self.token_file) as f:
                headers["Authorization"] = "Bearer " + f.read().strip()
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.server + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, context=self.ctx, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def put(self, obj):
        kind = obj.get("kind")
        m = obj["metadata"]
        if kind == "Node":
            path = PATHS["nodes"] + "/" + m["name"]
        else:
            res = "services" if kind == "Service" else "endpointslices"
            path = PATHS[res] % m.get("namespace", "default") + "/" + m["name"]
        return self.request("PUT", path, obj)


def parse_port(s):
    name, _, rest = s.rpartition(":")
    port, _, proto = rest.partition("/")
    return {"name": name, "port": int(port), "protocol": (proto or "TCP").upper()}


def parse_kv(items):
    out = {}
    for kv in items:
        k, _, v = kv.partition("=")
        out[k] = v
    return out


def take(args, flag, many=False):
    vals = []
    while flag in args:
        i = args.index(flag)
        vals.append(args[i + 1])
        del args[i:i + 2]
    if many:
        return vals
    return vals[-1] if vals else None


def build_service(args):
    ns, name = args[0], args[1]
    rest = args[2:]
    ip = take(rest, "--ip")
    ports = [parse_port(p) for p in take(rest, "--port", True)]
    for p in ports:
        if not p["name"]:
            del p["name"]
        p["targetPort"] = p["port"]
    for p, n in zip(ports, take(rest, "--node-port", True)):
        p["nodePort"] = int(n)
    spec = {"type": take(rest, "--type") or "ClusterIP", "ports": ports}
    if ip:
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip] if ip != "None" else ["None"]
    aff = take(rest, "--affinity")
    if aff:
        spec["sessionAffinity"] = "ClientIP"
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": int(aff)}}
    itp = take(rest, "--itp")
    if itp:
        spec["internalTrafficPolicy"] = itp
    ext = take(rest, "--external-name")
    if ext:
        spec["externalName"] = ext
    eips = take(rest, "--external-ip", True)
    if eips:
        spec["externalIPs"] = eips
    meta = {"name": name, "namespace": ns}
    ann = parse_kv(take(rest, "--annotation", True))
    lab = parse_kv(take(rest, "--label", True))
    if ann:
        meta["annotations"] = ann
    if lab:
        meta["labels"] = lab
    if rest:
        sys.exit("k8sctl: service: unexpected %s" % rest)
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def build_slice(args):
    ns, name = args[0], args[1]
    rest = args[2:]
    svc = take(rest, "--service")
    ports = [parse_port(p) for p in take(rest, "--port", True)]
    eps = []
    for e in take(rest, "--ep", True):
        ip, *opts = e.split(",")
        kv = parse_kv(opts)
        cond = {}
        for c in ("ready", "serving", "terminating"):
            if c in kv:
                cond[c] = kv[c] == "true"
        ep = {"addresses": [ip], "conditions": cond}
        if "node" in kv and DISCOVERY_VERSION == "v1beta1":
            ep["topology"] = {"kubernetes.io/hostname": kv["node"]}
        elif "node" in kv:
            ep["nodeName"] = kv["node"]
        eps.append(ep)
    at = take(rest, "--address-type") or "IPv4"
    if rest:
        sys.exit("k8sctl: slice: unexpected %s" % rest)
    labels = {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    if svc:
        labels["kubernetes.io/service-name"] = svc
    return {"apiVersion": "discovery.k8s.io/" + DISCOVERY_VERSION, "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "addressType": at, "ports": ports, "endpoints": eps}


def build_node(args):
    name = args[0]
    rest = args[1:]
    ip = take(rest, "--ip")
    cidr = take(rest, "--cidr")
    spec = {}
    if cidr:
        spec["podCIDR"] = cidr
        spec["podCIDRs"] = [cidr]
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec,
            "status": {"addresses": [{"type": "InternalIP", "address": ip},
                                     {"type": "Hostname", "address": name}]}}


def main():
    args = sys.argv[1:]
    server = take(args, "--server") or os.environ.get("K8S_SERVER")
    ca = take(args, "--ca") or os.environ.get("K8S_CA")
    token = take(args, "--token-file") or os.environ.get("K8S_TOKEN_FILE")
    if not args or not server:
        sys.exit(__doc__)
    c = Client(server, ca, token)
    cmd, args = args[0], args[1:]
    if cmd in ("service", "slice", "node"):
        obj = {"service": build_service, "slice": build_slice, "node": build_node}[cmd](args)
        code, body = c.put(obj)
    elif cmd == "apply":
        data = json.load(sys.stdin if args[0] == "-" else open(args[0]))
        for obj in data if isinstance(data, list) else [data]:
            code, body = c.put(obj)
            if code >= 300:
                break
    elif cmd == "delete":
        res, ns, name = args
        path = (PATHS[res] % ns if res != "nodes" else PATHS[res]) + "/" + name
        code, body = c.request("DELETE", path)
    elif cmd == "get":
        code, body = c.request("GET", args[0])
        sys.stdout.write(body.decode() + "\n")
    elif cmd == "test":
        q = urllib.parse.urlencode(parse_kv(args[1:]))
        code, body = c.request("POST", "/_test/%s%s" % (args[0], "?" + q if q else ""))
    elif cmd == "raw":
        body_in = None
        if len(args) > 2:
            body_in = json.load(sys.stdin if args[2] == "-" else open(args[2]))
        code, body = c.request(args[0], args[1], body_in)
        sys.stdout.write(body.decode() + "\n")
    else:
        sys.exit("k8sctl: unknown command %s" % cmd)
    if code >= 300:
        sys.stderr.write("k8sctl: %s: HTTP %d: %s\n" % (cmd, code, body.decode()[:500]))
        sys.exit(1)


if __name__ == "__main__":
    main()
