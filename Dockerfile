# pairstretch: one bot process. Long polling by default; webhook mode with WEBHOOK_URL
# (see README, "Production"). Build: docker build -t pairstretch .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# The same install as `make run` does, without the dev tools.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
COPY routines ./routines
RUN pip install '.[fast]' \
    && python -m routines check \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin pairstretch \
    && mkdir -p /app/data && chown pairstretch /app/data

USER pairstretch
# The default SQLite file lives in /app/data: mount a volume there, or set DATABASE_URL.
VOLUME ["/app/data"]
EXPOSE 8080
# Answers only in webhook mode, where the listener serves /healthz.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]
# SIGTERM: stop taking updates, finish what is in hand (at most 10 s), exit 0.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
