#!/usr/bin/env bash
# Page-load benchmark of the UI against a Streamlit baseline (see page-load.ts). Not part of npm test.
set -euo pipefail
cd "$(dirname "$0")/../../.."
STREAMLIT_VENV="$(bash tools/python/venv.sh ui-bench-streamlit)"
export STREAMLIT_VENV
npm run --silent build -w services/ui
cd services/ui && exec npx vitest run --config bench/vitest.config.mts --reporter=default
