#!/usr/bin/env bash
# Install what the test suite needs beyond the virtualenv, on a fresh machine or CI:
# Debian's nginx (tests/faults run the binary unprivileged with deploy/k8s/nginx.conf,
# as the deployed proxy), strace (tests/faults/test_trainer_kill.py injects kills with
# it) and chromium (tests/browser drive /usr/bin/chromium with Playwright, which then
# never downloads a browser of its own). Called by `make test` and `.ci/run`; silent
# and about instant when all are there. As root it installs what is missing;
# otherwise it says what is missing and which tests will not run, and leaves the rest
# of the suite to run.
#
# usage: scripts/install-test-tools.sh [--require]   (--require: exit 1 if it cannot)
set -euo pipefail

require=0
[[ "${1:-}" == --require ]] && require=1

# package -> the binary the tests look for (tests/faults/stack.py: PATH or /usr/sbin)
declare -A binaries=([nginx]=nginx [strace]=strace [chromium]=chromium)
declare -A missing_means=(
    [nginx]="tests/faults skip the tests that need it (they fail when CI is set)"
    [strace]="tests/faults/test_trainer_kill.py fails"
    [chromium]="tests/browser skip (they fail when CI is set)"
)

missing=()
for package in "${!binaries[@]}"; do
    binary="${binaries[$package]}"
    command -v "$binary" >/dev/null 2>&1 || [[ -x "/usr/sbin/$binary" ]] ||
        missing+=("$package")
done
((${#missing[@]})) || exit 0

if [[ "$(id -u)" != 0 ]]; then
    for package in "${missing[@]}"; do
        echo "install-test-tools: $package is missing and this is not root," \
            "so not installed (sudo apt-get install -y $package): ${missing_means[$package]}" >&2
    done
    exit "$require"
fi

echo "install-test-tools: apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The nginx package starts its default site on :80 when installed; the tests run their
# own unprivileged nginx and nothing here should hold :80. policy-rc.d answering 101
# tells invoke-rc.d and deb-systemd-invoke not to start services (a machine that has
# one, such as a Docker-built CI image, keeps its own).
policy=/usr/sbin/policy-rc.d
if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\n# scripts/install-test-tools.sh: no service starts\nexit 101\n' \
        >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

if [[ " ${missing[*]} " == *" nginx "* ]]; then
    # nor later: no default site (the one that listens on :80), and on a machine run
    # by systemd no nginx.service at boot
    rm -f /etc/nginx/sites-enabled/default
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        systemctl disable --now nginx.service
    fi
    echo "install-test-tools: $(/usr/sbin/nginx -v 2>&1), not started, no default site"
fi
if [[ " ${missing[*]} " == *" chromium "* ]]; then
    echo "install-test-tools: $(/usr/bin/chromium --version 2>/dev/null | head -1)"
fi
if [[ " ${missing[*]} " == *" strace "* ]]; then
    echo "install-test-tools: $(strace -V | head -1)"
fi
