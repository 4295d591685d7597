# BridgeWatch service image. The same commands as the README: an editable install (the
# migrations live in alembic/ beside the code), then `db upgrade` and `serve` on start.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    BRIDGEWATCH_HOST=0.0.0.0 \
    BRIDGEWATCH_PORT=8000 \
    BRIDGEWATCH_DATA_DIR=/data

RUN useradd --system --uid 10001 --create-home bridgewatch \
    && mkdir /data && chown bridgewatch /data

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY monitor ./monitor
COPY models ./models
COPY alembic ./alembic
RUN python -m pip install -e .

USER 10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['BRIDGEWATCH_PORT']}/healthz\", timeout=4)"]
CMD ["sh", "-c", "bridgewatch db upgrade && exec bridgewatch serve"]
