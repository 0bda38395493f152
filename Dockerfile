# restosync: one image for every role (restosync api | worker | scheduler | migrate), tagged with the git commit.
#   docker build --build-arg GIT_COMMIT="$(git rev-parse HEAD)" -t restosync:"$(git rev-parse HEAD)" .
# Secrets are never baked in: they come from the environment (an env file) at run time.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: the restosync wheel and every dependency's wheel, at requirements.lock's versions
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.lock ./
# setuptools and wheel at the lock's versions (DL3013: the pins are in requirements.lock).
# hadolint ignore=DL3013
RUN python -m pip install --no-cache-dir -c requirements.lock setuptools wheel
COPY pyproject.toml README.md ./
COPY migrations/ migrations/
COPY restosync_core/ restosync_core/
COPY restosync_adapters/ restosync_adapters/
COPY restosync_http/ restosync_http/
COPY restosync_worker/ restosync_worker/
COPY restosync_cli/ restosync_cli/
RUN python -m pip wheel --no-cache-dir --no-build-isolation -c requirements.lock -w /wheels .

# ---- runtime: the wheels installed, no compiler, no source tree, a non-root user
FROM ${PYTHON_IMAGE} AS runtime
ARG GIT_COMMIT=unknown
LABEL org.opencontainers.image.title="restosync" \
      org.opencontainers.image.description="ERP synchronisation service for RestoMarket" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.version="${GIT_COMMIT}"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RESTOSYNC_COMMIT=${GIT_COMMIT} \
    HOST=0.0.0.0 \
    PORT=8000
RUN useradd --system --no-log-init --uid 10001 --user-group --create-home --home-dir /home/restosync restosync
# --no-index: only the wheels built above, nothing fetched at this stage (DL3013: versions fixed by the lock).
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --no-index --find-links /wheels restosync
USER 10001:10001
WORKDIR /home/restosync
EXPOSE 8000
# The API's /health (200 when every subsystem is up). Worker and scheduler containers turn it off (compose).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as u; u.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8000'), timeout=4); sys.exit(0)"]
# SIGTERM is a graceful stop for every role: the API finishes in-flight requests (30 s), a worker its job.
STOPSIGNAL SIGTERM
ENTRYPOINT ["restosync"]
CMD ["api"]
