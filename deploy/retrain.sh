#!/bin/sh
# Scheduled retraining, run inside the scratchnet image (POSIX sh: the image has no bash
# guarantee). One script for every orchestrator so they all behave alike:
#   seed  train and promote the default model only if the registry has none yet
#         (first start on an empty volume; the k8s seed Job)
#   once  train a new version and promote it only if it beats production
#         (--promote-if-better); "published, not promoted" (exit 3) is a normal
#         outcome of a scheduled job, so it exits 0 (the k8s CronJob)
#   loop  seed, then `once` every RETRAIN_INTERVAL_SECONDS (compose)
# Settings: SCRATCHNET_REGISTRY, SCRATCHNET_DEFAULT_MODEL (the model to train),
# RETRAIN_INTERVAL_SECONDS (default 86400, nightly), RETRAIN_ARGS (extra
# `python -m trainer train` options, e.g. "--hidden 5 --optimizer adam"),
# RETRAIN_TOLERANCE (accuracy a new version may lose and still be promoted),
# RETRAIN_MAX_BOUNDARY_CHANGE (share of production's grid a new version may relabel
# and still be promoted; unset: no such test), RETRAIN_METRICS_FILE (a Prometheus
# text file counting the gate's decisions, for node_exporter's textfile collector),
# RETRAIN_CONFIG (a TOML file of train
# options, e.g. `preset = "tutorial"`; RETRAIN_ARGS and the flags below win over it).
set -eu

name="${SCRATCHNET_DEFAULT_MODEL:-moons}"
interval="${RETRAIN_INTERVAL_SECONDS:-86400}"

log() {
    echo "retrain: $(date -u +%Y-%m-%dT%H:%M:%SZ) $*"
}

# RETRAIN_ARGS is split on spaces on purpose: it carries several options.
train() {
    # shellcheck disable=SC2086
    python -m trainer train --name "$name" \
        ${RETRAIN_CONFIG:+--config "$RETRAIN_CONFIG"} ${RETRAIN_ARGS:-} "$@"
}

seed() {
    if python -m trainer show --name "$name" >/dev/null 2>&1; then
        log "$name already has a served version; nothing to seed"
        return 0
    fi
    log "no served version of $name: training the first one"
    train --promote
}

once() {
    # A new seed per run stands for the new data a real retrain would see; with a
    # fixed seed every run would reproduce the same weights.
    status=0
    train --seed "$(date +%s)" --promote-if-better \
        ${RETRAIN_TOLERANCE:+--tolerance "$RETRAIN_TOLERANCE"} \
        ${RETRAIN_MAX_BOUNDARY_CHANGE:+--max-boundary-change "$RETRAIN_MAX_BOUNDARY_CHANGE"} \
        ${RETRAIN_METRICS_FILE:+--metrics-file "$RETRAIN_METRICS_FILE"} \
        || status=$?
    case "$status" in
        0) log "new version of $name promoted" ;;
        3) log "new version of $name published but not promoted: production kept" ;;
        *) log "training failed with exit code $status" && return "$status" ;;
    esac
}

case "${1:-}" in
    seed) seed ;;
    once) once ;;
    loop)
        # As a container's PID 1 the shell ignores SIGTERM unless it traps it; sleeping
        # in the background and waiting lets the trap end the loop at once on stop.
        # A publication cut short by the stop is safe: publishing is atomic.
        trap 'kill "$sleeper" 2>/dev/null; log "stopping"; exit 0' TERM INT
        sleeper=""
        # a store error (exit 1) at the first seed is usually a registry that is not
        # up yet (compose starts the object store beside this): wait and try again;
        # bad input (2) fails at once, as before
        while :; do
            status=0
            seed || status=$?
            [ "$status" -eq 1 ] || break
            log "the registry cannot be reached yet; seeding again in 10s"
            sleep 10 &
            sleeper=$!
            wait "$sleeper"
        done
        [ "$status" -eq 0 ] || exit "$status"
        while :; do
            log "next retrain in ${interval}s"
            sleep "$interval" &
            sleeper=$!
            wait "$sleeper"
            # a failed run must not end the schedule; the next one may succeed
            once || log "retrain failed; trying again next interval"
        done
        ;;
    *)
        echo "usage: retrain.sh seed|once|loop" >&2
        exit 2
        ;;
esac
