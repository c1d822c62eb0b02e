#!/usr/bin/env bash
# End-to-end load over loopback: wrk against the `load_target` example
# (one tokio worker), same run for every route, so the ratios are comparable:
#
#   /noauth                       no auth layer (baseline; loaded with no header,
#                                 and with each token, as the routes below are)
#   /noauth-layered               a layer that does nothing, added as authgate is
#                                 (Router::layer): axum's share of the cost
#   /hs256, /rs256                authgate, token cache off
#   /hs256-cached, /rs256-cached  authgate, default token cache (hits)
#   /hs256-cached-svc, /rs256-cached-svc
#                                 the same around the route's service
#                                 (Router::route_service), without axum's
#                                 per-route layering
#
# Bounded: each route gets DURATION (default 10s) of load, the server exits by
# itself after 5 minutes at most, and only 127.0.0.1 is ever contacted.
#
#   scripts/load.sh                      # 32 connections, 10 s per route
#   DURATION=5s CONNECTIONS=64 scripts/load.sh
#   FEATURES=jwks scripts/load.sh        # build authgate with extra features
#
# Installs wrk with apt-get when it is missing (Debian's package).
set -euo pipefail

cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}

if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk not found; installing it with apt-get" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

# FEATURES: extra authgate features for the build (e.g. FEATURES=jwks).
cargo build --release -q -p authgate --example load_target ${FEATURES:+--features "$FEATURES"}
bin=target/release/examples/load_target

work=$(mktemp -d)
"$bin" --listen 127.0.0.1:0 --exit-after 300 >"$work/out" 2>"$work/err" &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

for _ in $(seq 100); do
    grep -q '^listening on ' "$work/err" && grep -q '^token RS256 ' "$work/out" && break
    sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$work/err")
[ -n "$base" ] || { echo "load_target did not start" >&2; cat "$work/err" >&2; exit 1; }
hs=$(sed -n 's/^token HS256 //p' "$work/out")
rs=$(sed -n 's/^token RS256 //p' "$work/out")

check() { # route token: the route must answer 200 before it is loaded
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' ${2:+-H "Authorization: Bearer $2"} "$base$1")
    [ "$code" = 200 ] || { echo "$1 answered $code, not 200" >&2; exit 1; }
}
check /noauth ""
check /noauth-layered ""
check /hs256 "$hs"
check /rs256 "$rs"
check /hs256-cached "$hs"
check /rs256-cached "$rs"
check /hs256-cached-svc "$hs"
check /rs256-cached-svc "$rs"

echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p')"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, server: 1 tokio worker"
# Each authenticated route is compared with /noauth receiving the same
# Authorization header (as the in-process baseline does): a long header costs
# wrk, the kernel and hyper's parser the same with or without authgate, and the
# two processes share the machine's cores. ROUNDS > 1 repeats the whole set, so
# a noisy machine shows in the spread.
ROUNDS=${ROUNDS:-1}
printf '%-5s %-28s %12s %10s\n' round route req/s ratio
for round in $(seq "$ROUNDS"); do
    declare -A base_rps=()
    for spec in noauth:none noauth:hs256 noauth:rs256 noauth-layered:hs256 hs256:hs256 hs256-cached:hs256 hs256-cached-svc:hs256 rs256:rs256 rs256-cached:rs256 rs256-cached-svc:rs256; do
        route=${spec%%:*}
        token=${spec##*:}
        case $token in
            none) header=() ;;
            hs256) header=(-H "Authorization: Bearer $hs") ;;
            *) header=(-H "Authorization: Bearer $rs") ;;
        esac
        out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "${header[@]}" "$base/$route")
        if echo "$out" | grep -q 'Non-2xx'; then
            echo "$route: non-2xx responses under load" >&2
            echo "$out" >&2
            exit 1
        fi
        rps=$(echo "$out" | sed -n 's/^Requests\/sec: *//p')
        if [ "$route" = noauth ]; then
            base_rps[$token]=$rps
            label="/noauth ($token header)"
            [ "$token" = none ] && label="/noauth (no header)"
            ratio="1.00x"
        else
            label="/$route"
            ratio=$(awk -v a="$rps" -v b="${base_rps[$token]}" 'BEGIN { printf "%.2fx", a / b }')
        fi
        printf '%-5s %-28s %12s %10s\n' "$round" "$label" "$rps" "$ratio"
    done
done
