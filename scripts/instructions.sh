#!/usr/bin/env bash
# Instructions per request (callgrind's Ir) for each `<ALG>/<path>/<stack>` of the
# allocs bench: deterministic where wall-clock medians on a shared 2-core machine
# are not, so it is the number to compare stacks with. Counts only
# inside the bench's measured loop (request construction included, as in every
# stack), after a warm-up.
#
#   scripts/instructions.sh                 # every name (a few minutes)
#   scripts/instructions.sh HS256/valid     # names containing this
#
# Needs valgrind (Debian: apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
filter=${1:-}
requests=${REQUESTS:-200}

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
# ALLOCS_BIN pins an already built binary (to count the build another run used).
bin=${ALLOCS_BIN:-$(cargo bench --no-run -p authgate --bench allocs --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*allocs[^"]*\)".*/\1/p' | tail -1)}
[ -x "$bin" ] || { echo "allocs bench not built" >&2; exit 1; }

names=$(ALLOCS_REQUESTS=1 ALLOCS_WARM_UP=0 "$bin" --bench "$filter" | awk 'NR > 1 && /\// { print $1 }')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-32s %12s\n' benchmark "Ir/request"
for name in $names; do
    ALLOCS_EXACT=1 ALLOCS_REQUESTS=$requests ALLOCS_WARM_UP=50 \
        valgrind --tool=callgrind --collect-atstart=no --toggle-collect='allocs::measured*' \
        --callgrind-out-file="$work/out" "$bin" --bench "$name" >/dev/null 2>&1
    ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$work/out")
    [ -n "$ir" ] || ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$work/out")
    printf '%-32s %12.0f\n' "$name" "$(awk -v a="$ir" -v n="$requests" 'BEGIN { print a / n }')"
done
