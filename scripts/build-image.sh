#!/usr/bin/env bash
# `make image`: build the scratchnet image with podman.
# The Dockerfile's default base is python:3.11-slim. Where no registry can be pulled
# from (these machines, CI), a stand-in with the same shape (Debian bookworm's Python
# 3.11, pip, venv) is built once from Debian packages with debootstrap and reused.
# Set BASE_IMAGE to build on a base you already have, IMAGE to name the result.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deploy-tools.sh containers
# shellcheck source=scripts/lib/podman-env.sh
source scripts/lib/podman-env.sh

main() {
    local base="${BASE_IMAGE:-}"
    if [[ -z "$base" ]]; then
        base="$LOCAL_BASE_IMAGE"
        podman image exists "$base" || build_local_base "$base"
    fi
    echo "build-image: building $IMAGE on $base"
    podman build --format docker --build-arg "BASE_IMAGE=$base" \
        -t "$IMAGE" -f deploy/Dockerfile .
    podman image inspect --format 'build-image: {{.Size}} bytes' "$IMAGE"
}

# Debian minbase -> Python 3.11 with pip and venv, the parts of python:3.11-slim
# the Dockerfile relies on.
build_local_base() {
    local tag="$1" debian="localhost/debian:bookworm-minbase"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    if ! podman image exists "$debian"; then
        echo "build-image: debootstrap bookworm (about a minute)"
        debootstrap --variant=minbase bookworm "$work/rootfs" \
            http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || {
            tail -20 "$work/debootstrap.log" >&2
            return 1
        }
        # what python:3.11-slim also leaves out: package caches, docs, translations
        rm -rf "$work"/rootfs/var/cache/apt/* "$work"/rootfs/var/lib/apt/lists/* \
            "$work"/rootfs/usr/share/{doc,man,info,locale}/*
        tar -C "$work/rootfs" -c . | podman import --quiet - "$debian" >/dev/null
        rm -rf "$work/rootfs"
    fi
    echo "build-image: building the stand-in base $tag"
    mkdir -p "$work/ctx"
    # The host's CA bundle: outbound TLS here may be re-signed by a proxy that pip
    # inside the build must trust. A real python:3.11-slim base needs none of this.
    cp /etc/ssl/certs/ca-certificates.crt "$work/ctx/host-ca.crt"
    cat >"$work/ctx/Containerfile" <<EOF
FROM $debian
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \\
      python-is-python3 ca-certificates \\
 && apt-get clean \\
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \\
      /usr/lib/python3.11/EXTERNALLY-MANAGED
COPY host-ca.crt /etc/ssl/certs/ca-certificates.crt
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt LANG=C.UTF-8
EOF
    podman build --format docker -t "$tag" -f "$work/ctx/Containerfile" "$work/ctx"
}

main "$@"
