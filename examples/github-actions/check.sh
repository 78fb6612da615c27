#!/usr/bin/env bash
# Compare this commit with its base; exit 1 on a significant regression (frugal check).
# On a pull request the base is the merge base with the target branch (never the previous
# commit of the branch: that would hide a slow drift over several commits); on a push, the
# first parent. frugal check appends its report to $GITHUB_STEP_SUMMARY itself.
#   FRUGAL_STORE   the store (default frugal.db)
#   FRUGAL_FAIL    thresholds, space-separated (default energy_j:10%)
#   FRUGAL_REPORT  the Markdown report also written here (default report.md)
set -euo pipefail
store="${FRUGAL_STORE:-frugal.db}"
head="${GITHUB_SHA:-$(git rev-parse HEAD)}"
if [ -n "${GITHUB_BASE_REF:-}" ]; then           # a pull request: needs fetch-depth: 0
    base="$(git merge-base "origin/$GITHUB_BASE_REF" "$head")"
else
    base="$(git rev-parse --verify --quiet "$head^" || true)"
fi
# A base that was never measured (the first run, a cache evicted) cannot be compared:
# say so in the summary rather than fail the job or pass it silently.
if [ -z "$base" ] || ! python - "$store" "$base" <<'PY'
import sys
from frugal.history.commits import resolve
from frugal.store import load_runs
try:
    resolve(sys.argv[2], load_runs(sys.argv[1]))
except ValueError:
    sys.exit(1)
PY
then
    note="frugal: base commit ${base:-(none)} has no run in $store; nothing to compare with."
    echo "::warning::$note"
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then echo "$note" >> "$GITHUB_STEP_SUMMARY"; fi
    exit 0
fi
fail_args=()
for f in ${FRUGAL_FAIL:-energy_j:10%}; do fail_args+=(--fail "$f"); done
exec frugal check "$store" --base "$base" --head "$head" "${fail_args[@]}" \
    --markdown "${FRUGAL_REPORT:-report.md}"
