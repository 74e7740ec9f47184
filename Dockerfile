# Stagegraph API image: the locked dependencies, the project, and the demo catalog.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install --yes --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY pyproject.toml README.md ./
COPY catalog ./catalog
COPY graph ./graph
COPY ingestors ./ingestors
COPY schema ./schema
COPY api ./api
COPY examples ./examples
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
 && useradd --create-home --uid 10001 stagegraph

USER stagegraph
ENV STAGEGRAPH_HOST=0.0.0.0 \
    STAGEGRAPH_PORT=8000 \
    STAGEGRAPH_DEMO_PATH=/app/examples
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz').status == 200 else 1)"
ENTRYPOINT ["stagegraph"]
CMD ["serve"]
