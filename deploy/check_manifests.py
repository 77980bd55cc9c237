#!/usr/bin/env python3
"""Consistency checks that a schema cannot make, for deploy/check.sh.

  check_manifests.py k8s RENDERED.yaml     objects rendered by `kubectl kustomize`
  check_manifests.py compose FILE          a compose file (structure and references)
  check_manifests.py dockerfile FILE       a Dockerfile (instructions, stages, context)

Each prints what it checked and exits 1 on the first run of problems it finds.
Only PyYAML is needed (and, for the Dockerfile, optionally PyPI's
`dockerfile`, BuildKit's own parser).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import sys

import yaml

ROLES = ["gateway", "auth", "profile", "room", "messaging"]
GRPC_NAMES = {
    "auth": "chat.auth.v1.AuthService",
    "profile": "chat.profile.v1.ProfileService",
    "room": "chat.room.v1.RoomService",
    "messaging": "chat.messaging.v1.MessagingService",
}
SECRET_KEYS = {"jwt-private-key", "internal-secret", "database-url", "redis-url"}
# Secrets an operator creates outside git (docs/DEPLOY.md).
EXTERNAL_SECRETS = {"chat-secrets", "chat-tls"}


class Problems:
    def __init__(self, what: str) -> None:
        self.what = what
        self.items: list[str] = []
        self.checked: list[str] = []

    def add(self, msg: str) -> None:
        self.items.append(msg)

    def ok(self, msg: str) -> None:
        self.checked.append(msg)

    def finish(self) -> int:
        if not self.items:
            for c in self.checked:
                print(f"  checked: {c}")
        for p in self.items:
            print(f"  FAIL: {p}", file=sys.stderr)
        if self.items:
            print(f"{self.what}: {len(self.items)} problem(s)", file=sys.stderr)
            return 1
        return 0


# ---------------------------------------------------------------- Kubernetes


def pod_spec(obj: dict) -> dict | None:
    kind = obj.get("kind")
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def labels_match(selector: dict, labels: dict) -> bool:
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and labels.get(key) in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def check_k8s(path: str) -> int:
    pr = Problems(f"kubernetes objects in {path}")
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    if not docs:
        pr.add("no objects rendered")
        return pr.finish()

    by_kind: dict[str, dict[str, dict]] = {}
    for d in docs:
        for field in ("apiVersion", "kind", "metadata"):
            if field not in d:
                pr.add(f"an object has no {field}: {json.dumps(d)[:120]}")
        name = d.get("metadata", {}).get("name")
        kind = d.get("kind")
        if name in by_kind.setdefault(kind, {}):
            pr.add(f"{kind}/{name} appears twice")
        by_kind[kind][name] = d
    pr.ok(f"{len(docs)} objects, unique kind/name")

    namespaces = {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"}
    if len(namespaces) != 1 or None in namespaces:
        pr.add(f"expected every namespaced object in one namespace, got {sorted(map(str, namespaces))}")
    else:
        pr.ok(f"every object in namespace {namespaces.pop()}")

    workloads = [d for d in docs if pod_spec(d) is not None]
    templates = {}  # (kind, name) -> pod template labels
    for w in workloads:
        kind, name = w["kind"], w["metadata"]["name"]
        labels = w["spec"]["template"]["metadata"].get("labels", {}) if kind != "CronJob" else {}
        templates[(kind, name)] = labels
        sel = w["spec"].get("selector")
        if kind != "Job" and sel is not None and not labels_match(sel, labels):
            pr.add(f"{kind}/{name}: selector {sel} does not match its pod labels {labels}")
    pr.ok(f"{len(workloads)} workloads: selectors match their pod templates")

    # The app's roles: one Deployment each, same image, role as argument.
    images = set()
    for role in ROLES:
        dep = by_kind.get("Deployment", {}).get(f"chat-{role}")
        if dep is None:
            pr.add(f"no Deployment chat-{role}")
            continue
        c = dep["spec"]["template"]["spec"]["containers"][0]
        images.add(c.get("image"))
        if c.get("args") != [role]:
            pr.add(f"Deployment chat-{role}: args {c.get('args')} != ['{role}']")
        if f"chat-{role}" not in by_kind.get("Service", {}):
            pr.add(f"no Service chat-{role}")
        if f"chat-{role}" not in by_kind.get("PodDisruptionBudget", {}):
            pr.add(f"no PodDisruptionBudget chat-{role}")
        ready, live = c.get("readinessProbe", {}), c.get("livenessProbe", {})
        if role == "gateway":
            if ready.get("httpGet", {}).get("path") != "/health":
                pr.add("gateway: readiness is not an HTTP probe on /health")
            if "httpGet" not in live and "tcpSocket" not in live:
                pr.add("gateway: liveness is not an HTTP or TCP probe")
        else:
            if ready.get("grpc", {}).get("port") != 50051 or live.get("grpc", {}).get("port") != 50051:
                pr.add(f"{role}: readiness and liveness must be native gRPC probes on 50051")
            if ready.get("grpc", {}).get("service") != GRPC_NAMES[role]:
                pr.add(f"{role}: readiness asks for {ready.get('grpc', {}).get('service')}, not {GRPC_NAMES[role]}")
    job = by_kind.get("Job", {}).get("chat-migrate")
    if job is None:
        pr.add("no migration Job chat-migrate")
    else:
        c = job["spec"]["template"]["spec"]["containers"][0]
        images.add(c.get("image"))
        if c.get("args") != ["migrate"]:
            pr.add(f"Job chat-migrate: args {c.get('args')} != ['migrate']")
    if len(images) != 1:
        pr.add(f"the roles run different images: {sorted(map(str, images))}")
    else:
        pr.ok(f"5 roles + migrate Job, one image {images.pop()}, role as argument, Service and PDB each")
        pr.ok("probes: gRPC (services, own service name for readiness), HTTP /health (gateway readiness)")

    # Security context and resources on every container of every workload.
    for w in workloads:
        kind, name = w["kind"], w["metadata"]["name"]
        spec = pod_spec(w)
        psc = spec.get("securityContext", {})
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            pr.add(f"{kind}/{name}: pod seccompProfile is not RuntimeDefault")
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c.get("securityContext", {})
            where = f"{kind}/{name} container {c['name']}"
            if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
                pr.add(f"{where}: runAsNonRoot is not set")
            if sc.get("readOnlyRootFilesystem") is not True:
                pr.add(f"{where}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                pr.add(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in (sc.get("capabilities", {}).get("drop") or []):
                pr.add(f"{where}: capabilities do not drop ALL")
            res = c.get("resources", {})
            if not res.get("requests") or not res.get("limits"):
                pr.add(f"{where}: no resource requests and limits")
            # Named ports used by probes must exist.
            ports = {p.get("name") for p in c.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                for h in ("httpGet", "tcpSocket"):
                    port = c.get(probe, {}).get(h, {}).get("port")
                    if isinstance(port, str) and port not in ports:
                        pr.add(f"{where}: {probe} uses port {port!r}, which the container does not name")
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            vols = {v["name"] for v in spec.get("volumes", [])}
            vols |= {t["metadata"]["name"] for t in w["spec"].get("volumeClaimTemplates", [])}
            for m in mounts - vols:
                pr.add(f"{where}: mounts volume {m!r}, which the pod does not define")
    pr.ok("every container: non-root, read-only root fs, no privilege escalation, drops ALL, seccomp RuntimeDefault, requests+limits")

    # References: ConfigMaps, Secrets, Services, scale targets.
    configmaps = set(by_kind.get("ConfigMap", {}))
    secrets = {n: d for n, d in by_kind.get("Secret", {}).items()}
    used_secret_keys: dict[str, set[str]] = {}
    for w in workloads:
        spec = pod_spec(w)
        where = f"{w['kind']}/{w['metadata']['name']}"
        for c in spec.get("initContainers", []) + spec["containers"]:
            for ef in c.get("envFrom", []):
                if "configMapRef" in ef and ef["configMapRef"]["name"] not in configmaps:
                    pr.add(f"{where}: envFrom ConfigMap {ef['configMapRef']['name']} is not rendered")
                if "secretRef" in ef:
                    n = ef["secretRef"]["name"]
                    if n not in secrets and n not in EXTERNAL_SECRETS:
                        pr.add(f"{where}: envFrom Secret {n} is not rendered")
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    n = ref["name"]
                    base = re.sub(r"-[a-z0-9]{10}$", "", n)
                    used_secret_keys.setdefault(base, set()).add(ref["key"])
                    if n in secrets:
                        data = {**secrets[n].get("data", {}), **secrets[n].get("stringData", {})}
                        if ref["key"] not in data:
                            pr.add(f"{where}: Secret {n} has no key {ref['key']}")
                    elif n not in EXTERNAL_SECRETS:
                        pr.add(f"{where}: Secret {n} is neither rendered nor one created by the operator")
                ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
                if ref and ref["name"] not in configmaps:
                    pr.add(f"{where}: ConfigMap {ref['name']} is not rendered")
    if used_secret_keys.get("chat-secrets", set()) != SECRET_KEYS:
        pr.add(f"chat-secrets keys used {sorted(used_secret_keys.get('chat-secrets', []))} != {sorted(SECRET_KEYS)}")
    pr.ok(f"ConfigMap/Secret references resolve; chat-secrets keys: {', '.join(sorted(SECRET_KEYS))}")

    pod_labels = list(templates.values())
    for name, svc in by_kind.get("Service", {}).items():
        sel = svc["spec"].get("selector")
        if sel and not any(labels_match({"matchLabels": sel}, lab) for lab in pod_labels):
            pr.add(f"Service/{name}: selector {sel} matches no pod template")
        for p in svc["spec"].get("ports", []):
            tp = p.get("targetPort")
            if isinstance(tp, str):
                named = any(
                    tp in {cp.get("name") for c in pod_spec(w)["containers"] for cp in c.get("ports", [])}
                    for w in workloads
                    if sel and labels_match({"matchLabels": sel}, templates[(w["kind"], w["metadata"]["name"])])
                )
                if not named:
                    pr.add(f"Service/{name}: targetPort {tp!r} is not a named container port of its pods")
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        for name, obj in by_kind.get(kind, {}).items():
            sel = obj["spec"].get("selector") if kind == "PodDisruptionBudget" else obj["spec"].get("podSelector")
            if sel and not any(labels_match(sel, lab) for lab in pod_labels):
                pr.add(f"{kind}/{name}: selector matches no pod template")
    for name, hpa in by_kind.get("HorizontalPodAutoscaler", {}).items():
        ref = hpa["spec"]["scaleTargetRef"]
        target = by_kind.get(ref["kind"], {}).get(ref["name"])
        if target is None:
            pr.add(f"HorizontalPodAutoscaler/{name}: target {ref['kind']}/{ref['name']} is not rendered")
        elif "replicas" in target["spec"]:
            pr.add(f"HorizontalPodAutoscaler/{name}: {ref['name']} also sets spec.replicas (apply would fight the HPA)")
        if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
            pr.add(f"HorizontalPodAutoscaler/{name}: minReplicas > maxReplicas")
    for name, ing in by_kind.get("Ingress", {}).items():
        for rule in ing["spec"].get("rules", []):
            for p in rule.get("http", {}).get("paths", []):
                svc = p["backend"]["service"]
                target = by_kind.get("Service", {}).get(svc["name"])
                if target is None:
                    pr.add(f"Ingress/{name}: backend Service {svc['name']} is not rendered")
                    continue
                port = svc["port"]
                names = {sp.get("name") for sp in target["spec"]["ports"]}
                numbers = {sp.get("port") for sp in target["spec"]["ports"]}
                if ("name" in port and port["name"] not in names) or ("number" in port and port["number"] not in numbers):
                    pr.add(f"Ingress/{name}: Service {svc['name']} has no port {port}")
        ann = ing["metadata"].get("annotations", {})
        for key in ("proxy-read-timeout", "proxy-send-timeout"):
            if ann.get(f"nginx.ingress.kubernetes.io/{key}") != "3600":
                pr.add(f"Ingress/{name}: {key} is not 3600")
    pr.ok("Service, PDB, NetworkPolicy selectors match pods; HPA targets exist without fixed replicas; Ingress backends exist")

    for needed in ("NetworkPolicy", "Ingress", "ConfigMap", "ServiceAccount"):
        if needed not in by_kind:
            pr.add(f"no {needed} rendered")
    netpols = by_kind.get("NetworkPolicy", {})
    deny = [n for n, p in netpols.items() if p["spec"].get("podSelector") == {} and not p["spec"].get("ingress")]
    if not deny:
        pr.add("no default-deny ingress NetworkPolicy")
    else:
        pr.ok(f"default-deny ingress NetworkPolicy: {deny[0]}")
    return pr.finish()


# ------------------------------------------------------------------- Compose


def check_compose(path: str) -> int:
    pr = Problems(f"compose file {path}")
    with open(path) as f:
        text = f.read()
    # Interpolate ${VAR}, ${VAR:-default} and ${VAR-default} as compose does.
    text = re.sub(
        r"\$\{(\w+)(?::?-([^}]*))?\}", lambda m: os.environ.get(m[1]) or (m[2] or ""), text.replace("$$", "\0")
    ).replace("\0", "$")
    doc = yaml.safe_load(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        pr.add("no services mapping")
        return pr.finish()
    services = doc["services"]
    allowed_top = {"version", "name", "services", "networks", "volumes", "configs", "secrets", "include"}
    for key in doc:
        if key not in allowed_top and not key.startswith("x-"):
            pr.add(f"unknown top-level key {key!r}")
    named_volumes = set((doc.get("volumes") or {}).keys())
    published = {}
    for name, svc in services.items():
        if not isinstance(svc, dict):
            pr.add(f"service {name} is not a mapping")
            continue
        if "image" not in svc and "build" not in svc:
            pr.add(f"service {name} has neither image nor build")
        deps = svc.get("depends_on") or {}
        for dep, cond in (deps.items() if isinstance(deps, dict) else ((d, {}) for d in deps)):
            if dep not in services:
                pr.add(f"service {name} depends on unknown service {dep}")
                continue
            condition = (cond or {}).get("condition", "service_started")
            if condition == "service_healthy" and "healthcheck" not in services[dep]:
                pr.add(f"service {name} waits for {dep} to be healthy, but {dep} has no healthcheck")
            if condition not in ("service_started", "service_healthy", "service_completed_successfully"):
                pr.add(f"service {name}: unknown depends_on condition {condition}")
        for vol in svc.get("volumes") or []:
            src = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source")
            if src and not src.startswith((".", "/", "~")) and src not in named_volumes:
                pr.add(f"service {name} mounts undeclared volume {src}")
        for port in svc.get("ports") or []:
            host = str(port).rsplit(":", 1)[0] if ":" in str(port) else None
            if host:
                if host in published:
                    pr.add(f"host port {host} published by both {published[host]} and {name}")
                published[host] = name
        env = svc.get("environment") or {}
        if isinstance(env, dict):
            for k, v in env.items():
                if isinstance(v, (dict, list)):
                    pr.add(f"service {name}: environment {k} is not a scalar")
    pr.ok(f"YAML parses; {len(services)} services: {', '.join(services)}")
    pr.ok("every service has an image or build; depends_on targets exist, and service_healthy ones have healthchecks")
    pr.ok(f"named volumes declared; host ports unique: {', '.join(sorted(published))}")
    return pr.finish()


# ---------------------------------------------------------------- Dockerfile

INSTRUCTIONS = {
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
}


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Joins continuation lines; drops comments and blank lines (no heredocs)."""
    out, buf, start = [], "", 0
    for i, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if buf and line.lstrip().startswith("#"):
            continue  # comment lines inside a continuation are ignored
        if not buf:
            start = i
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        out.append((start, buf.strip()))
        buf = ""
    if buf:
        out.append((start, buf.strip()))
    return out


def dockerignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pat in patterns:
        neg = pat.startswith("!")
        pat = pat[1:] if neg else pat
        pat = pat.strip("/")
        regex = fnmatch.translate(pat).replace(".*", "[^/]*").replace("[^/]*[^/]*", ".*")
        if pat.startswith("**/"):
            regex = "(.*/)?" + fnmatch.translate(pat[3:]).replace(".*", "[^/]*")
        if any(re.fullmatch(regex, p) for p in prefixes):
            ignored = not neg
    return ignored


def check_dockerfile(path: str) -> int:
    pr = Problems(f"Dockerfile {path}")
    context = os.path.dirname(os.path.abspath(path))
    text = open(path).read()
    lines = logical_lines(text)
    try:  # BuildKit's parser, when PyPI's `dockerfile` is installed.
        import dockerfile  # type: ignore

        parsed = dockerfile.parse_string(text)
        pr.ok(f"BuildKit's parser (PyPI dockerfile) parses {len(parsed)} instructions")
    except ImportError:
        pass
    except Exception as e:  # noqa: BLE001 - any parse error is a failure
        pr.add(f"BuildKit's parser rejects it: {e}")

    ignore_file = os.path.join(context, ".dockerignore")
    patterns = []
    if os.path.exists(ignore_file):
        patterns = [
            p.strip() for p in open(ignore_file).read().splitlines() if p.strip() and not p.strip().startswith("#")
        ]

    stages: list[str] = []
    args = set()
    user = entrypoint = cmd = None
    exposed: set[str] = set()
    for lineno, line in lines:
        word, _, rest = line.partition(" ")
        kw = word.upper()
        if kw not in INSTRUCTIONS:
            pr.add(f"line {lineno}: unknown instruction {word!r}")
            continue
        if kw != word:
            pr.add(f"line {lineno}: instruction {word!r} is not upper case")
        if kw == "ARG":
            args.add(rest.split("=", 1)[0].strip())
        elif kw == "FROM":
            toks = [t for t in rest.split() if not t.startswith("--")]
            if not toks:
                pr.add(f"line {lineno}: FROM without an image")
                continue
            for ref in re.findall(r"\$\{?(\w+)", toks[0]):
                if ref not in args:
                    pr.add(f"line {lineno}: FROM uses ${ref}, which no ARG declares")
            if len(toks) == 3 and toks[1].upper() == "AS":
                stages.append(toks[2])
            elif len(toks) != 1:
                pr.add(f"line {lineno}: malformed FROM: {rest}")
            else:
                stages.append(str(len(stages)))
        elif not stages:
            pr.add(f"line {lineno}: {kw} before the first FROM")
        elif kw in ("COPY", "ADD"):
            flags = re.findall(r"--(\w+)(?:=(\S+))?", rest)
            src_from = dict(flags).get("from")
            operands = [t for t in rest.split() if not t.startswith("--")]
            if operands and operands[0].startswith("["):
                operands = json.loads(" ".join(operands))
            if len(operands) < 2:
                pr.add(f"line {lineno}: {kw} needs a source and a destination")
            elif src_from is not None:
                if src_from not in stages[:-1]:
                    pr.add(f"line {lineno}: --from={src_from} names no earlier stage")
            else:
                for src in operands[:-1]:
                    rel = os.path.normpath(src)
                    if rel == ".":
                        continue
                    if not os.path.exists(os.path.join(context, rel)):
                        pr.add(f"line {lineno}: {src} is not in the build context")
                    elif dockerignored(rel, patterns):
                        pr.add(f"line {lineno}: {src} is excluded by .dockerignore")
        elif kw == "USER":
            user = rest.strip()
        elif kw == "ENTRYPOINT":
            entrypoint = rest.strip()
        elif kw == "CMD":
            cmd = rest.strip()
        elif kw == "EXPOSE":
            exposed |= set(rest.split())
        if kw in ("CMD", "ENTRYPOINT", "SHELL") and rest.strip().startswith("["):
            try:
                json.loads(rest)
            except json.JSONDecodeError as e:
                pr.add(f"line {lineno}: {kw} is not valid JSON: {e}")
    pr.ok(f"{len(lines)} instructions, all known keywords; stages: {', '.join(stages)}")
    pr.ok("COPY --from names earlier stages; context sources exist and are not .dockerignored")
    uid = (user or "").split(":")[0]
    if not uid.isdigit() or uid == "0":
        pr.add(f"final USER {user!r} is not a numeric non-root user")
    else:
        pr.ok(f"final USER {user} (numeric, non-root)")
    if entrypoint != '["/app/chat"]':
        pr.add(f"ENTRYPOINT is {entrypoint}, expected [\"/app/chat\"]")
    if cmd != '["all"]':
        pr.add(f"CMD is {cmd}, expected [\"all\"]")
    if not {"8080", "50051"} <= exposed:
        pr.add(f"EXPOSE {sorted(exposed)} lacks 8080 or 50051")
    pr.ok('ENTRYPOINT ["/app/chat"], CMD ["all"], EXPOSE 8080 50051')
    return pr.finish()


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("k8s", "compose", "dockerfile"):
        print(__doc__, file=sys.stderr)
        return 2
    return {"k8s": check_k8s, "compose": check_compose, "dockerfile": check_dockerfile}[sys.argv[1]](sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
