#!/usr/bin/env python3
"""Criterion medians as Markdown tables, one row per `<ALG>/<path>`, one column
per stack (benchmark names are `<ALG>/<path>/<stack>`).

    scripts/bench-table.py [CRITERION_DIR]    # default target/criterion

Reads `<dir>/**/new/benchmark.json` and `estimates.json` (criterion's own
output), so it shows the last run of each benchmark.
"""

import json
import pathlib
import sys

ALGS = ["HS256", "RS256", "ES256", "EdDSA"]
PATHS = ["valid", "missing", "expired", "bad_signature"]


def load(root):
    medians = {}
    for bench in root.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        est = json.loads((bench.parent / "estimates.json").read_text())
        medians[meta["full_id"]] = est["median"]["point_estimate"]
    return medians


def fmt(ns):
    return f"{ns:,.0f}" if ns is not None else "—"


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")
    medians = load(root)
    if not medians:
        sys.exit(f"no criterion results under {root}")
    stacks = []
    for name in sorted(medians):
        stack = name.split("/", 2)[2]
        if stack not in stacks:
            stacks.append(stack)
    order = ["baseline", "baseline-axum07", "floor", "authgate", "authgate-cached"]
    stacks.sort(key=lambda s: (order.index(s) if s in order else len(order), s))
    print("median ns per request (criterion), `<ALG>/<path>` × stack\n")
    print("| ALG/path | " + " | ".join(stacks) + " |")
    print("|---|" + "---:|" * len(stacks))
    algs = ALGS + sorted({n.split("/")[0] for n in medians} - set(ALGS))
    for alg in algs:
        for path in PATHS:
            row = [medians.get(f"{alg}/{path}/{s}") for s in stacks]
            if any(v is not None for v in row):
                print(f"| {alg}/{path} | " + " | ".join(fmt(v) for v in row) + " |")


if __name__ == "__main__":
    main()
