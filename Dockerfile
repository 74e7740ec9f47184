# Stagegraph image: the runtime dependencies (requirements-runtime.lock: no test or lint
# tools), the project, the demo catalog, and GraphiQL's and the explorer's files, so the
# pages at /graphql and /explore need no CDN. One image for `serve` (the default command),
# `worker` and `ingest`.

# GraphiQL and React, exactly as pinned by api/playground/package-lock.json.
FROM node:22-slim AS playground
WORKDIR /playground
COPY api/playground/package.json api/playground/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# Cytoscape.js and its dagre layout for the explorer, exactly as pinned by api/explorer/.
FROM node:22-slim AS explorer
WORKDIR /explorer
COPY api/explorer/package.json api/explorer/package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

FROM python:3.11-slim

RUN apt-get update \
 && apt-get install --yes --no-install-recommends git \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements-runtime.lock ./
RUN pip install --no-cache-dir -r requirements-runtime.lock

COPY pyproject.toml README.md ./
COPY catalog ./catalog
COPY graph ./graph
COPY ingestors ./ingestors
COPY scaffolder ./scaffolder
COPY schema ./schema
COPY api ./api
COPY --from=playground /playground/node_modules ./api/playground/node_modules
COPY --from=explorer /explorer/node_modules ./api/explorer/node_modules
COPY examples ./examples
# Editable, so that the app finds GraphiQL's files in /app/api/playground/node_modules.
RUN pip install --no-cache-dir --no-deps --editable . \
 && useradd --create-home --uid 10001 stagegraph

USER stagegraph
ENV STAGEGRAPH_HOST=0.0.0.0 \
    STAGEGRAPH_PORT=8000 \
    STAGEGRAPH_WORKER_PORT=8001 \
    STAGEGRAPH_DEMO_PATH=/app/examples
EXPOSE 8000 8001
# Fits `serve`; docker-compose.yml gives the worker (its own port) and one-shot commands
# their own.
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('STAGEGRAPH_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["stagegraph"]
CMD ["serve"]
