#!/usr/bin/env bash
# Instructions executed by smtpscope builds on one capture, counted by
# callgrind: within about 0.2 % from run to run of the same build and input
# (thread hand-offs vary a little), whatever else the machine is doing, so
# a change of a few per cent shows where timed runs (bench/pair.sh) only
# show noise.
#
#   bench/instructions.sh FILE BIN [BIN...]
#
# Runs each build with `--format json FILE` under valgrind's callgrind and
# prints its total instruction count and the count outside SHA-256.
# valgrind does not emulate the SHA extensions, so under it sha2 falls back
# to its portable code, which then dominates the total; the count without
# it is the one to compare. Use a small capture (60 MB takes about ten
# seconds a build): `cargo run --release --example synth -- --bytes 64M
# --seed 2 small.pcap`.
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: bench/instructions.sh FILE BIN [BIN...]" >&2
    exit 2
fi
file=$1
shift
for tool in valgrind callgrind_annotate; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install valgrind" >&2; exit 2; }
done
[[ -r $file ]] || { echo "cannot read $file" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f -- "$out"' EXIT

printf '%-50s %16s %16s\n' build instructions "without SHA-256"
for bin in "$@"; do
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" --format json "$file" \
        >/dev/null 2>/dev/null || { echo "failed: $bin" >&2; exit 1; }
    callgrind_annotate "$out" 2>/dev/null | awk -v bin="$bin" '
        # Only the per-function summary counts: the annotated sources
        # after it repeat names in call lines and inlined code.
        /-- (Auto|User)-annotated source/ { done = 1 }
        /PROGRAM TOTALS/ { gsub(",", "", $1); total = $1 }
        !done && /sha2::sha256::/ && !/=>/ { gsub(",", "", $1); sha += $1 }
        END { printf "%-50s %16d %16d\n", bin, total, total - sha }'
done
