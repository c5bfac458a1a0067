#!/usr/bin/env bash
# `make deploy-check` (and CI after `make test`): prove the deployment files work.
#  1. the Kubernetes manifests (the base, deploy/k8s, and each overlay in
#     deploy/overlays/) render with kustomize and the rendered output passes
#     kubernetes-validate --strict and yamllint;
#  2. checkov passes on the manifests and the Dockerfile (skips, with reasons, in
#     .checkov.yaml); hadolint passes on the Dockerfile;
#  3. the compose files validate (deploy/compose.yaml, and deploy/compose.s3.yaml with
#     its SeaweedFS store);
#  4. the image builds (and compose's proxy image, a local stand-in unless
#     SCRATCHNET_PROXY_IMAGE names one), and runs read-only: empty registry -> trainer
#     in the same image publishes -> ready -> /predict, /boundary -> a second version
#     is served without a restart (scripts/deploy_smoke.py);
#  5. `docker-compose up` on an empty volume seeds the model and becomes ready behind
#     the nginx proxy, and a retrain publishes a version (scripts/compose_smoke.py);
#     the same with the registry in SeaweedFS, whose stop and restart under the
#     running service it rides out (compose_smoke.py --s3);
#  6. docs/deploy.md's commands run as written where this machine can run them (the
#     podman route, compose with docker-compose, `kubectl kustomize`), on the images
#     of step 4; the rest are listed with why not (tests/docs/deploy_page.py).
# Installs what it needs (scripts/install-deploy-tools.sh). SKIP_IMAGE=1 stops after 3.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

step() {
    printf '\n==> deploy-check: %s (%ss)\n' "$*" "$((SECONDS - started))"
}

step "install container tools"
scripts/install-deploy-tools.sh containers
tools=.venv-deploy/bin
work="$(mktemp -d)"
build_pid=""
# on any exit: stop a build still running (its own process group), drop temp files
trap '[[ -n "$build_pid" ]] && kill -- "-$build_pid" 2>/dev/null; rm -rf "$work"' EXIT

# The image build is the long pole (minutes on a fresh machine: debootstrap, then
# numpy and scikit-learn): it runs in the background while the validators are
# installed and run, and its log is shown only if it fails.
if [[ "${SKIP_IMAGE:-0}" != 1 ]]; then
    step "build image (in the background)"
    setsid scripts/build-image.sh >"$work/build.log" 2>&1 &
    build_pid=$!
fi

step "install validators"
scripts/install-deploy-tools.sh validators

step "kustomize render"
# the base and every overlay (deploy/overlays/s3: the registry in a bucket)
rendered=()
for kustomization in deploy/k8s deploy/overlays/*/; do
    kustomization="${kustomization%/}"
    out="$work/$(basename "$kustomization").yaml"
    "$tools/kubectl" kustomize "$kustomization" >"$out"
    echo "$kustomization: $(grep -c '^kind:' "$out") resources rendered"
    rendered+=("$out")
done

step "kubernetes-validate --strict"
# the newest schemas it bundles, and the oldest Kubernetes the manifests support
# (CronJob timeZone and podFailurePolicy are stable from 1.30 on)
"$tools/kubernetes-validate" --strict --quiet "${rendered[@]}"
"$tools/kubernetes-validate" --strict --quiet -k 1.30.0 "${rendered[@]}"

step "yamllint"
"$tools/yamllint" --strict "${rendered[@]}" deploy/ .yamllint .checkov.yaml

step "checkov (manifests, Dockerfile)"
"$tools/checkov" --config-file .checkov.yaml "${rendered[@]/#/--file=}" \
    -f deploy/Dockerfile -f deploy/seaweedfs.Dockerfile

step "hadolint"
"$tools/hadolint" deploy/Dockerfile deploy/seaweedfs.Dockerfile

step "compose config"
docker-compose -f deploy/compose.yaml config -q
docker-compose -f deploy/compose.s3.yaml config -q
sh -n deploy/retrain.sh

if [[ "${SKIP_IMAGE:-0}" == 1 ]]; then
    step "SKIP_IMAGE=1: image not built"
    exit 0
fi

step "wait for the image build"
if ! wait "$build_pid"; then
    build_pid=""
    tail -n 80 "$work/build.log" >&2
    echo "deploy-check: the image build failed (log above)" >&2
    exit 1
fi
build_pid=""
tail -n 1 "$work/build.log"

step "run image"
# shellcheck source=scripts/lib/podman-env.sh
source scripts/lib/podman-env.sh
python3 scripts/deploy_smoke.py --image "$IMAGE"

step "compose up on an empty volume"
python3 scripts/compose_smoke.py --image "$IMAGE" --proxy-image "$PROXY_IMAGE"

step "compose up with the registry in SeaweedFS"
python3 scripts/compose_smoke.py --image "$IMAGE" --proxy-image "$PROXY_IMAGE" \
    --s3 "$SEAWEEDFS_IMAGE"

step "docs/deploy.md as written"
# the page names the default images: built above unless IMAGE or the SCRATCHNET_*_IMAGE
# variables named others
if [[ "$IMAGE" == localhost/scratchnet:local && "$PROXY_IMAGE" == "$LOCAL_PROXY_IMAGE" &&
    "$SEAWEEDFS_IMAGE" == localhost/seaweedfs:local ]]; then
    .venv/bin/python -m tests.docs.deploy_page
else
    echo "not run: docs/deploy.md runs the default images, and other images were named"
fi

step "done"
