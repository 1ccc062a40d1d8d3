#!/usr/bin/env bash
# `npm test`: every test tier except the engine tier (`npm run test:engine`).
#   1. unit: type check + vitest over the Pulumi program (mocks, integrity, graph, config)
#   2. each scripts/test.d/NN-name.sh in order: services, pipeline, loop; each one installs
#      or builds what it needs (cached outside the clone) and fails loudly if it cannot.
# Run one part alone with `bash scripts/test.d/NN-name.sh`.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
failures=()
# Each part's output is also kept, so a failure is repeated at the very end: CI systems often
# show only the tail of a long log, and the failing part may have run minutes before it.
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
run_part() {
  local name="$1"; shift
  local start=$(date +%s)
  printf '\n### %s\n' "$name"
  "$@" 2>&1 | tee "$logs/$name.log"
  if [ "${PIPESTATUS[0]}" -eq 0 ]; then
    passed=$((passed + 1))
    printf '### %s: ok (%ss)\n' "$name" "$(( $(date +%s) - start ))"
  else
    failed=$((failed + 1))
    failures+=("$name")
    printf '### %s: FAILED (%ss)\n' "$name" "$(( $(date +%s) - start ))"
  fi
}

run_part "unit (program)" npm run --silent test:unit
for part in scripts/test.d/*.sh; do
  [ -e "$part" ] || continue
  run_part "$(basename "$part" .sh)" bash "$part"
done

echo
for name in ${failures[@]+"${failures[@]}"}; do
  printf '\n### %s FAILED; its last 100 lines (without colour codes):\n' "$name"
  tail -n 100 "$logs/$name.log" | sed 's/\x1b\[[0-9;]*m//g'
done
[ ${#failures[@]} -eq 0 ] || printf 'failed parts: %s\n' "${failures[*]}"
echo "test parts: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
