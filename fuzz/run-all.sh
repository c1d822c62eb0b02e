#!/bin/sh
# Runs every target for 600 s, one after the other (one core).
cd "$(dirname "$0")/.." || exit 1
for t in authorization_header jwt_token json_strict basic_credential jwk_set; do
  mkdir -p fuzz/corpus/$t
  echo "== $t start $(date -u +%H:%M:%S)"
  cargo +nightly fuzz run "$t" fuzz/corpus/$t fuzz/seeds/$t -- \
    -max_total_time=600 -jobs=1 -workers=1 -print_final_stats=1 > "/tmp/fuzz-$t.log" 2>&1
  echo "== $t rc=$? end $(date -u +%H:%M:%S)"
  echo "   corpus: $(ls fuzz/corpus/$t | wc -l) files, $(cat fuzz/corpus/$t/* 2>/dev/null | wc -c) bytes"
done
