# The Wingman Orchestrator worker: `npm run worker` (tsx src/worker.ts), with Python 3 and pytest
# for the tests that generated code must pass. Built by docker-compose.yml's `worker` service:
#   docker compose build worker
#   docker build -t wingman-orchestrator .
ARG NODE_IMAGE=node:20-bookworm-slim
FROM ${NODE_IMAGE}

# pytest: the version CI's `pip install 'pytest>=8'` resolves to, pinned for repeatable images.
ARG PYTEST_VERSION=9.2.0

# Python for the instructions' TEST_PROCESS (pytest, python -m py_compile; `bash -n` uses the
# base image's bash), bubblewrap to run them isolated (src/activities/process/sandbox.ts; the
# container needs `security_opt: [seccomp=unconfined, apparmor=unconfined]`, as docker-compose.yml
# sets, for the namespaces it creates) and ca-certificates for TLS to Temporal Cloud and the LLM providers.
# pytest goes into a virtualenv at /opt/python, first on PATH: no --break-system-packages, no
# clash with Debian's own Python packages, and `python`, `python3` and `pytest` all name it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap ca-certificates python3 python3-venv \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/python \
 && /opt/python/bin/pip install --no-cache-dir --disable-pip-version-check "pytest==${PYTEST_VERSION}" \
 && /opt/python/bin/python -m pytest --version
ENV PATH=/opt/python/bin:$PATH

WORKDIR /app

# Dependencies first, so a change to src/ does not reinstall them. Runtime dependencies only:
# tsx runs the TypeScript, and the Temporal SDK's own webpack/swc bundle the workflow code at
# start; the dev dependencies are the test and typecheck tools.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

COPY tsconfig.json ./
COPY src ./src

# /state (WINGMAN_STATE_DIR) is a named volume in compose; a new volume takes this directory's
# mode, so it is writable by whichever uid the container runs as (compose's `user:` follows the
# workspace owner on the host). /app/results holds reports of batches started in the container.
RUN mkdir -p /state /workspace /workers /app/results \
 && chown node:node /state /workspace /app/results \
 && chmod 1777 /state /app/results

# npm's cache and logs in /tmp: any uid can write there, not only `node`'s.
ENV WINGMAN_STATE_DIR=/state \
    WINGMAN_PYTHON=python3 \
    NPM_CONFIG_CACHE=/tmp/.npm \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false

# Not root: generated code and its tests run in this container. `node` is uid 1000.
USER node

CMD ["npm", "run", "worker"]
