#!/usr/bin/env bash
# Two smtpscope builds and tcpdump, back to back, several rounds: the way
# to compare builds on a machine whose speed drifts between runs (a
# figure is only comparable with the ones of its own round).
#
#   bench/pair.sh OLD_BIN NEW_BIN FILE [ROUNDS]
#
# Each round runs `tcpdump -r FILE -w /dev/null`, then each build with
# `--format json FILE`, all with stdout to /dev/null, and prints their wall
# seconds, their CPU seconds (user + sys, every thread) and each build's
# speed as a fraction of tcpdump's (tcpdump seconds / build seconds; the
# issue's target for the SMTP path is 0.75). The last line gives the
# medians.
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: bench/pair.sh OLD_BIN NEW_BIN FILE [ROUNDS]" >&2
    exit 2
fi
old=$1 new=$2 file=$3 rounds=${4:-6}
for tool in /usr/bin/time tcpdump; do
    command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install time tcpdump" >&2; exit 2; }
done
[[ -r $file ]] || { echo "cannot read $file" >&2; exit 2; }
t=$(mktemp)

# measure CMD...: "wall cpu" of one run
measure() {
    /usr/bin/time -o "$t" -f "%e %U %S" "$@" >/dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$t"
}

cat -- "$file" >/dev/null
rows=$(mktemp)
trap 'rm -f -- "$t" "$rows"' EXIT
printf '%-5s %-15s %-15s %-15s %s\n' round "tcpdump w/cpu" "old w/cpu" "new w/cpu" "old new (of tcpdump speed)"
for r in $(seq "$rounds"); do
    read -r tw tc < <(measure tcpdump -r "$file" -w /dev/null)
    read -r ow oc < <(measure "$old" --format json "$file")
    read -r nw nc < <(measure "$new" --format json "$file")
    ro=$(awk -v t="$tw" -v w="$ow" 'BEGIN { printf "%.2f", t / w }')
    rn=$(awk -v t="$tw" -v w="$nw" 'BEGIN { printf "%.2f", t / w }')
    printf '%-5s %-15s %-15s %-15s %s %s\n' "$r" "$tw/$tc" "$ow/$oc" "$nw/$nc" "$ro" "$rn"
    echo "$ro $rn $oc $nc" >>"$rows"
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf 'median: old %s, new %s of tcpdump speed; CPU old %s s, new %s s\n' \
    "$(cut -d' ' -f1 "$rows" | median)" "$(cut -d' ' -f2 "$rows" | median)" \
    "$(cut -d' ' -f3 "$rows" | median)" "$(cut -d' ' -f4 "$rows" | median)"
