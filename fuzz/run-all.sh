#!/bin/sh
# Runs every target for ten minutes (or $1 seconds), one after the other, on one
# core. From inside fuzz/, so that libFuzzer's job log (fuzz-0.log) stays here.
cd "$(dirname "$0")" || exit 1
secs="${1:-600}"
for t in authorization_header jwt_token json_strict basic_credential jwk_set; do
  mkdir -p "corpus/$t"
  echo "== $t start $(date -u +%H:%M:%S)"
  cargo +nightly fuzz run --fuzz-dir . "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$secs" -jobs=1 -workers=1 -print_final_stats=1 >"fuzz-$t.log" 2>&1
  echo "== $t exit $? end $(date -u +%H:%M:%S)"
  mv fuzz-0.log "fuzz-$t.job.log" 2>/dev/null
  grep -E '^#[0-9]+[[:space:]]+DONE' "fuzz-$t.job.log" "fuzz-$t.log" 2>/dev/null | tail -n 1
  echo "   corpus: $(ls "corpus/$t" | wc -l) files, $(cat "corpus/$t"/* 2>/dev/null | wc -c) bytes"
done
