#!/usr/bin/env bash
# Measure this commit into the store. The run's commit and branch come from GITHUB_SHA and
# GITHUB_HEAD_REF / GITHUB_REF_NAME, so even a shallow or merged checkout files it correctly.
#   FRUGAL_STORE    the store (default frugal.db)
#   FRUGAL_MEASURE  the project's measured script, run with python (it calls frugal.measure;
#                   FRUGAL_STORE makes it store every measurement); when unset, the test suite
#                   is measured instead: pytest --frugal-store
set -euo pipefail
store="${FRUGAL_STORE:-frugal.db}"
export FRUGAL_STORE="$store"
if [ -n "${FRUGAL_MEASURE:-}" ]; then
    python "$FRUGAL_MEASURE"
else
    python -m pytest -q --frugal-store "$store"
fi
