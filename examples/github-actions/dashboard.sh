#!/usr/bin/env bash
# Write the dashboard of the whole store (trends across commits, changes found) for the artifact.
#   FRUGAL_STORE      the store (default frugal.db)
#   FRUGAL_DASHBOARD  the HTML file (default dashboard.html)
set -euo pipefail
exec frugal dashboard "${FRUGAL_STORE:-frugal.db}" -o "${FRUGAL_DASHBOARD:-dashboard.html}" --force
