# pairstretch: one bot process. Long polling by default; webhook mode with WEBHOOK_URL
# (see README, "Production"). Build: docker build -t pairstretch .
FROM python:3.11-slim

# MPLCONFIGDIR: matplotlib (the progress chart) keeps its font cache there; the default
# under HOME (/app) is not writable by the bot's user, and matplotlib would otherwise
# warn at every start and rebuild the cache in a temporary directory.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    MPLCONFIGDIR=/app/.matplotlib

WORKDIR /app
# The same install as `make run` does, without the dev tools. The build's leftovers
# (build/, the egg-info) go: the bot runs from the sources in /app.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY storage ./storage
COPY routines ./routines
RUN pip install '.[fast]' \
    && rm -rf build pairstretch.egg-info \
    && python -m routines check \
    && useradd --no-log-init --uid 10001 --home-dir /app --shell /usr/sbin/nologin pairstretch \
    && mkdir -p /app/data "$MPLCONFIGDIR" \
    && chown pairstretch /app/data "$MPLCONFIGDIR"
COPY deploy/healthcheck.py ./

USER pairstretch
# The font cache, built once here rather than at every start of a container.
RUN python -c "import matplotlib.font_manager"
# The default SQLite file lives in /app/data: mount a volume there, or set DATABASE_URL.
VOLUME ["/app/data"]
EXPOSE 8080
# GET /healthz on WEBHOOK_LISTEN: webhook mode only (long polling serves no /healthz, so
# a polling container shows as unhealthy).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "healthcheck.py"]
# SIGTERM: stop taking updates, finish what is in hand (at most 10 s), exit 0.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
