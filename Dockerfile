# syntax=docker/dockerfile:1
# The notes example as a production image: `docker build -t bastion-notes .`
# (docs/deployment.md). A host app changes the two ARG lines marked "host app".

ARG PYTHON_VERSION=3.12

# --- builder: wheels of the projects and of every dependency they need ----------------
FROM python:${PYTHON_VERSION}-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY . .
# host app: the projects (directories with a pyproject.toml) to build. Here bastion's own
# source and the example; in a host app's repository, its root: PROJECTS=".".
ARG PROJECTS=". ./examples/notes"
RUN pip wheel --wheel-dir /wheels ${PROJECTS}

# --- runtime: the wheels and nothing else ---------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS runtime
# host app: the package holding `main.py` (a module-level `app`) and `migrations/`.
ARG APP_PACKAGE=notes_app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP=${APP_PACKAGE}.main:app \
    MIGRATIONS=${APP_PACKAGE}:migrations \
    PORT=8000 \
    BASTION_ENVIRONMENT=production
# The wheels are mounted for this step only, never copied into a layer; pip goes after:
# nothing is installed at run time.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --disable-pip-version-check /wheels/*.whl \
    && pip uninstall --yes --quiet setuptools wheel pip
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app
COPY deploy/healthcheck.py /usr/local/bin/healthcheck
WORKDIR /app
# Numeric, so Kubernetes' `runAsNonRoot` can check it.
USER 10001:10001
EXPOSE 8000
# Liveness: the process answers. compose.yaml probes /ready (the database and Redis) too.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/usr/local/bin/healthcheck", "/health"]
# uvicorn stops accepting, lets in-flight requests finish (up to the longest request
# timeout + 5 s), runs the lifespan's shutdown and exits 0. Give the orchestrator's grace
# period more than that (compose: stop_grace_period).
STOPSIGNAL SIGTERM
# `exec`: bastion serve is PID 1 and receives the SIGTERM itself. Migrations are a separate
# step: `docker run IMAGE sh -c 'exec bastion db upgrade --migrations "$MIGRATIONS"'`.
CMD ["sh", "-c", "exec bastion serve \"$APP\" --host 0.0.0.0 --port \"$PORT\""]
