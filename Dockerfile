# Safe Agent as a LangGraph API server (the in-memory runtime of `langgraph dev`), offline by
# default. Build: docker build -t safe-agent .   Run: docker run -p 2024:2024 safe-agent
# The data folder is a volume; keys made on first use stay in it (mode 0600, folder 0700).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    SAFE_AGENT_HOME=/data \
    LANGGRAPH_CLI_NO_ANALYTICS=1 \
    LANGGRAPH_NO_VERSION_CHECK=true

# An unprivileged user owns the app and the data; nothing runs as root.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin agent \
    && mkdir -p /app /data && chown agent:agent /data && chmod 0700 /data
WORKDIR /app

COPY pyproject.toml README.md LICENSE langgraph.json .env.studio ./
COPY graph/ graph/
COPY nodes/ nodes/
COPY policies/ policies/
COPY stores/ stores/
COPY tools/ tools/
COPY safe_agent/ safe_agent/
RUN pip install '.[server]'

USER agent
VOLUME ["/data"]
EXPOSE 2024

# /health answers 200 when ok or degraded and 503 when down (docs/health.md).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:2024/health', timeout=4).status == 200 else 1)"]

CMD ["langgraph", "dev", "--host", "0.0.0.0", "--port", "2024", "--no-browser", "--no-reload"]
