#!/usr/bin/env bash
# How much CPU time the "0.75 times tcpdump" target leaves smtpscope on one
# capture, against what smtpscope spends, from runs on this machine. See
# bench/README.md, section 6.
#
#   bench/budget.sh FILE [ROUNDS]
#
# Measured (medians of ROUNDS runs, default 5, warm page cache):
#   - tcpdump -r FILE -w /dev/null: wall time; the target is wall / 0.75;
#   - smtpscope --format json FILE: wall time and CPU time (user + system);
#   - cat FILE > /dev/null: CPU time of reading the file (any reader pays it);
#   - SHA-256 over the attachments' decoded bytes (their sizes summed from
#     smtpscope's own JSON, so a lower bound: text parts are hashed too), at
#     the rate `openssl speed -evp sha256` measures here (hardware SHA when
#     the CPU has it).
# Printed: the target's CPU budget on all cores (wall target x cores), the
# part of it these two fixed costs take, and smtpscope's CPU time.
#
# Environment: SMTPSCOPE_BIN [target/release/smtpscope]. Nothing is built.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: bench/budget.sh FILE [ROUNDS]" >&2
    exit 2
fi
file=$1
rounds=${2:-5}
[[ -r $file ]] || { echo "cannot read $file" >&2; exit 2; }
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
bin=${SMTPSCOPE_BIN:-$repo/target/release/smtpscope}
for tool in "$bin" tcpdump openssl python3 /usr/bin/time; do
    command -v -- "$tool" >/dev/null || {
        echo "$tool not found (build with cargo build --release; apt-get install tcpdump openssl python3 time)" >&2
        exit 2
    }
done

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# times CMD...: ROUNDS lines "wall cpu", stdout of CMD to /dev/null
times() {
    local i
    for ((i = 0; i < rounds; i++)); do
        /usr/bin/time -f '%e %U %S' -o "$work/t" "$@" >/dev/null 2>/dev/null
        awk '{ printf "%.3f %.3f\n", $1, $2 + $3 }' "$work/t"
    done
}

cat -- "$file" >/dev/null
echo "measuring on $(nproc) cores, $rounds rounds each" >&2
times tcpdump -r "$file" -w /dev/null >"$work/tcpdump"
times "$bin" --format json "$file" >"$work/smtpscope"
times cat -- "$file" >"$work/cat"

"$bin" --format json "$file" 2>/dev/null >"$work/json"
attachment_bytes=$(python3 - "$work/json" <<'EOF'
import json, sys
total = 0
for line in open(sys.argv[1]):
    o = json.loads(line)
    for t in o.get("transactions") or []:
        for a in ((t.get("message") or {}).get("attachments") or []):
            total += a.get("size") or 0
print(total)
EOF
)
# bytes per second of SHA-256 on 16 KiB blocks
sha_rate=$(openssl speed -evp sha256 -bytes 16384 -seconds 2 2>/dev/null |
    awk '/^sha256/ { v = $NF; sub(/k$/, "", v); print v * 1000 }')

tcpdump_wall=$(cut -d' ' -f1 "$work/tcpdump" | median)
ours_wall=$(cut -d' ' -f1 "$work/smtpscope" | median)
ours_cpu=$(cut -d' ' -f2 "$work/smtpscope" | median)
read_cpu=$(cut -d' ' -f2 "$work/cat" | median)

awk -v tw="$tcpdump_wall" -v ow="$ours_wall" -v oc="$ours_cpu" -v rc="$read_cpu" \
    -v ab="$attachment_bytes" -v sr="$sha_rate" -v cores="$(nproc)" 'BEGIN {
    target = tw / 0.75
    budget = target * cores
    sha = ab / sr
    printf "tcpdump -r -w /dev/null       %7.3f s wall\n", tw
    printf "target (tcpdump / 0.75)       %7.3f s wall = %.3f CPU-s on %d cores at best\n", target, budget, cores
    printf "smtpscope --format json       %7.3f s wall, %.3f CPU-s (%.2f times tcpdump speed)\n", ow, oc, tw / ow
    printf "fixed: reading the file       %7.3f CPU-s (cat)\n", rc
    printf "fixed: SHA-256 of attachments %7.3f CPU-s (%.1f MB at %.0f MB/s, openssl)\n", sha, ab / 1e6, sr / 1e6
    printf "left for everything else      %7.3f CPU-s; smtpscope spends %.3f on it (%.2f times)\n", budget - rc - sha, oc - rc - sha, (oc - rc - sha) / (budget - rc - sha)
}'
