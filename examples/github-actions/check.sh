#!/usr/bin/env bash
# Compare this commit with its base (base.sh) with frugal check, which appends its report to
# $GITHUB_STEP_SUMMARY. On a pull request: the base and head that measure.sh ran in rounds in
# this job, and exit 1 on a regression (a ratio past its threshold whose interval excludes 1).
# On a push: this commit against the first parent's runs in the history, measured by another
# job, on another machine or at another moment: a regression is a warning, not a failure.
#   FRUGAL_STORE     the store (default frugal.db)
#   FRUGAL_PR_STORE  a pull request's store (default frugal-pr.db)
#   FRUGAL_FAIL      thresholds, space-separated (default energy_j:10%)
#   FRUGAL_REPORT    the Markdown report also written here (default report.md)
set -euo pipefail
. "$(dirname "$0")/base.sh"
store="${FRUGAL_STORE:-frugal.db}"
if [ -n "${GITHUB_BASE_REF:-}" ]; then store="${FRUGAL_PR_STORE:-frugal-pr.db}"; fi
# A base that was never measured (a first commit, a cache evicted) cannot be compared:
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
status=0
frugal check "$store" --base "$base" --head "$head" "${fail_args[@]}" --markdown "${FRUGAL_REPORT:-report.md}" \
    || status=$?
if [ "$status" = 1 ] && [ -z "${GITHUB_BASE_REF:-}" ]; then
    echo "::warning::frugal: $head is costlier than its parent $base (see the step summary)"
    exit 0
fi
exit "$status"
