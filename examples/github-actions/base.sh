# Sourced by measure.sh and check.sh: the commits to compare, as $head and $base.
# On a pull request the base is the merge base with the target branch (never the previous
# commit of the branch: that would hide a slow drift over several commits), which needs the
# whole history (fetch-depth: 0); on a push, the first parent ("" for a first commit).
head="${GITHUB_SHA:-$(git rev-parse HEAD)}"
if [ -n "${GITHUB_BASE_REF:-}" ]; then
    base="$(git merge-base "origin/$GITHUB_BASE_REF" "$head")"
else
    base="$(git rev-parse --verify --quiet "$head^" || true)"
fi
