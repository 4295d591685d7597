# BridgeWatch service image. The same commands as the README: `pip install .` (the package
# carries its migrations, dashboard and API docs), then `db upgrade` and `serve` on start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BRIDGEWATCH_HOST=0.0.0.0 \
    BRIDGEWATCH_PORT=8000 \
    BRIDGEWATCH_DATA_DIR=/data

RUN useradd --system --uid 10001 --create-home bridgewatch \
    && mkdir /data && chown bridgewatch /data

WORKDIR /src
COPY pyproject.toml README.md ./
COPY app ./app
COPY monitor ./monitor
COPY models ./models
COPY alembic ./alembic
# Installed, then the sources are gone: the service runs from the package alone.
RUN python -m pip install . && rm -rf /src

WORKDIR /data
USER 10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['BRIDGEWATCH_PORT']}/healthz\", timeout=4)"]
CMD ["sh", "-c", "bridgewatch db upgrade && exec bridgewatch serve"]
