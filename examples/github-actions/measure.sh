#!/usr/bin/env bash
# Measure. On a push: this commit, into the store (the history). On a pull request: its base
# and its head in this one job, so that both see the same runner: `frugal compare --rev`
# checks each out in a temporary worktree and runs the measured command in each, in rounds
# (base and head once each per round, $FRUGAL_RUNS rounds), into a store of its own that
# check.sh reads; the history store gets a copy for the dashboard (it is saved from main only).
# The run's commit and branch come from GITHUB_SHA and GITHUB_HEAD_REF / GITHUB_REF_NAME on a
# push, and from each revision under compare --rev.
#   FRUGAL_STORE       the store (default frugal.db)
#   FRUGAL_PR_STORE    a pull request's store (default frugal-pr.db)
#   FRUGAL_MEASURE     the project's measured script, run with python (it calls frugal.measure,
#                      and FRUGAL_STORE makes it store every measurement); when unset, the test
#                      suite is measured instead: pytest --frugal (FRUGAL_STORE: each test stored;
#                      compare's warm-up runs are not, FRUGAL_STORE is unset for them)
#   FRUGAL_RUNS        rounds on a pull request (default 30; fewer rounds miss more and alarm
#                      more often on a noisy runner, see benchmarks/README.md)
#   FRUGAL_PYTHONPATH  where the project's code is, relative to a checkout (default ".";
#                      "src" for a src layout): each revision then imports its own code
set -euo pipefail
store="${FRUGAL_STORE:-frugal.db}"
if [ -n "${GITHUB_BASE_REF:-}" ]; then target="${FRUGAL_PR_STORE:-frugal-pr.db}"; else target="$store"; fi
if [ -n "${GITHUB_BASE_REF:-}" ]; then rm -f "$target"; fi   # a pull request's store: its own rounds only
export FRUGAL_STORE="$(realpath "$target")"                   # absolute: the command may run in a worktree
if [ -n "${FRUGAL_MEASURE:-}" ]; then
    command=(python "$FRUGAL_MEASURE")
else
    command=(python -m pytest -q --frugal)                     # with FRUGAL_STORE: every test stored
fi
if [ -z "${GITHUB_BASE_REF:-}" ]; then                        # a push: this commit into the history
    exec "${command[@]}"
fi
. "$(dirname "$0")/base.sh"
PYTHONPATH="${FRUGAL_PYTHONPATH:-.}${PYTHONPATH:+:$PYTHONPATH}" \
    frugal compare --rev "$base" --rev "$head" --runs "${FRUGAL_RUNS:-30}" --store "$target" -- "${command[@]}"
frugal merge "$store" "$target"                               # the dashboard shows them too
