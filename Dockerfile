# One image for the API and the Temporal worker (docker-compose.yml runs it twice).
#   api:    the default CMD (uvicorn on 0.0.0.0:8000)
#   worker: command `python worker.py`
# Everything is configured by WEIQUAN_* environment variables (api/config.py); the image
# holds no secret and no data. Works with the classic builder and with BuildKit.
ARG PYTHON_IMAGE=python:3.11-slim-trixie
FROM ${PYTHON_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv

# The dossier's PDF (WeasyPrint) needs Pango, and its Chinese text a CJK font to embed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*

# uv pinned; it uses the image's own Python 3.11 (no interpreter download).
RUN pip install "uv==0.13.8"

# Non-root user that owns nothing but the data directory.
RUN groupadd --system --gid 10001 weiquan \
    && useradd --system --uid 10001 --gid weiquan --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin weiquan

WORKDIR /app

# Dependencies first, so code changes do not reinstall them. The project itself is not a
# package (tool.uv.package = false): only the locked dependencies are installed.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --python /usr/local/bin/python3.11

COPY api/ ./api/
COPY workflows/ ./workflows/
COPY activities/ ./activities/
COPY config/ ./config/
COPY scripts/ ./scripts/
COPY worker.py ./
# Bytecode once, here: the code is read-only at run time and PYTHONDONTWRITEBYTECODE is
# set, and the worker's sandbox runs the workflow modules anew for every workflow it makes.
RUN python -m compileall -q api workflows activities worker.py

# Code stays root-owned and read-only for the app user; only data/ is writable.
RUN mkdir -p /app/data && chown weiquan:weiquan /app/data

ENV PATH="/app/.venv/bin:${PATH}" \
    VIRTUAL_ENV=/app/.venv

USER 10001:10001

EXPOSE 8000

# No HEALTHCHECK here: the worker runs this image too. docker-compose.yml checks the API's
# /healthz.
CMD ["uvicorn", "api.main:app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]
