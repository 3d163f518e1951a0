#!/usr/bin/env bash
# Wall time and peak RSS of smtpscope against tcpdump, tcpflow and tshark on
# one capture, in one run, with a warm page cache. See bench/README.md.
#
#   bench/compare.sh FILE
#
# Environment:
#   SMTPSCOPE_NET_CMD   packet layer only   [target/release/smtpscope --format connections FILE]
#   SMTPSCOPE_SMTP_CMD  full SMTP decode    [target/release/smtpscope --format json FILE]
#       Plain words split on spaces; a word that is exactly FILE becomes the
#       capture's path, and `target/` follows CARGO_TARGET_DIR when it is set.
#   SKIP_TSHARK=1       leave tshark out (it is by far the slowest)
#   SKIP_BUILD=1        do not run `cargo build --release` first
#
# Every command's stdout goes to /dev/null. A command that fails or is not
# installed gets a row that says so; the script still prints the table.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: bench/compare.sh FILE" >&2
    exit 2
fi
file=$1
[[ -r $file ]] || { echo "cannot read $file" >&2; exit 2; }
file=$(realpath -- "$file")

if [[ ! -x /usr/bin/time ]]; then
    echo "GNU time is needed for peak RSS: apt-get install time" >&2
    exit 2
fi

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
target=${CARGO_TARGET_DIR:-target}
net_cmd=${SMTPSCOPE_NET_CMD:-$target/release/smtpscope --format connections FILE}
smtp_cmd=${SMTPSCOPE_SMTP_CMD:-$target/release/smtpscope --format json FILE}

work=$(mktemp -d)
flowdir=
cleanup() {
    rm -rf -- "$work"
    if [[ -n $flowdir ]]; then rm -rf -- "$flowdir"; fi
}
trap cleanup EXIT

size=$(stat -c %s -- "$file")
echo "capture: $file ($(awk -v b="$size" 'BEGIN { printf "%.1f MiB", b / 1048576 }'))" >&2

if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    echo "building: cargo build --release" >&2
    if ! cargo build --release --quiet; then
        echo "warning: cargo build --release failed; the smtpscope rows will fail" >&2
    fi
fi

echo "warming the page cache" >&2
cat -- "$file" >/dev/null

names=()
secs=()
rss=()

# record NAME: append a row from the time file, or 'failed' with the log tail.
record() {
    local name=$1 status=$2 log=$3
    names+=("$name")
    if [[ $status -eq 0 ]]; then
        local e m
        read -r e m <"$work/time"
        secs+=("$e")
        rss+=("$m")
    else
        echo "  $name failed (exit $status):" >&2
        tail -n 3 -- "$log" | sed 's/^/    /' >&2
        secs+=(failed)
        rss+=(failed)
    fi
}

# run NAME WORD... : run the command under GNU time, stdout to /dev/null.
run() {
    local name=$1
    shift
    local log="$work/$name.log"
    echo "running $name: $*" >&2
    local status=0
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$log" || status=$?
    record "$name" "$status" "$log"
}

skip() {
    names+=("$1")
    secs+=("$2")
    rss+=("")
}

# run_words NAME "COMMAND STRING": split on spaces, FILE -> the capture.
run_words() {
    local name=$1 words=() w
    read -r -a words <<<"$2"
    local argv=()
    for w in "${words[@]}"; do
        if [[ $w == FILE ]]; then argv+=("$file"); else argv+=("$w"); fi
    done
    if ! command -v -- "${argv[0]}" >/dev/null; then
        echo "  $name: ${argv[0]} not found (is the CLI built?)" >&2
        skip "$name" failed
        return
    fi
    run "$name" "${argv[@]}"
}

have() {
    if command -v -- "$1" >/dev/null; then
        return 0
    fi
    echo "  $1 is not installed: apt-get install tcpdump tcpflow tshark  (skipping)" >&2
    return 1
}

run_words "smtpscope net" "$net_cmd"
run_words "smtpscope json" "$smtp_cmd"

if have tcpdump; then
    run tcpdump tcpdump -r "$file" -w /dev/null
else
    skip tcpdump "not installed"
fi

if have tcpflow; then
    # Next to the capture, so tcpflow writes to the same disk it reads from.
    flowdir=$(mktemp -d -- "$(dirname -- "$file")/tcpflow.XXXXXX")
    run tcpflow tcpflow -r "$file" -o "$flowdir"
    rm -rf -- "$flowdir"
    flowdir=
else
    skip tcpflow "not installed"
fi

if [[ ${SKIP_TSHARK:-0} == 1 ]]; then
    skip tshark "skipped (SKIP_TSHARK=1)"
elif have tshark; then
    run tshark tshark -r "$file" -Y smtp -T fields -e smtp.req.command -e smtp.response.code
else
    skip tshark "not installed"
fi

is_num() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

echo
echo "| tool | seconds | MB/s | peak RSS MiB |"
echo "|---|---:|---:|---:|"
for i in "${!names[@]}"; do
    s=${secs[$i]}
    if is_num "$s"; then
        mbs=$(awk -v b="$size" -v s="$s" 'BEGIN { if (s > 0) printf "%.0f", b / 1e6 / s; else print "-" }')
        mib=$(awk -v k="${rss[$i]}" 'BEGIN { printf "%.1f", k / 1024 }')
        echo "| ${names[$i]} | $s | $mbs | $mib |"
    else
        echo "| ${names[$i]} | $s | | |"
    fi
done

seconds_of() {
    local i
    for i in "${!names[@]}"; do
        if [[ ${names[$i]} == "$1" ]]; then
            echo "${secs[$i]}"
            return
        fi
    done
}

echo
echo "Time ratios (smtpscope seconds / other seconds; below 1 means smtpscope is faster):"
echo
for pair in "smtpscope net:tcpdump" "smtpscope json:tcpdump" "smtpscope json:tshark" "smtpscope json:tcpflow"; do
    a=${pair%%:*}
    b=${pair#*:}
    sa=$(seconds_of "$a")
    sb=$(seconds_of "$b")
    if is_num "$sa" && is_num "$sb"; then
        awk -v a="$a" -v b="$b" -v x="$sa" -v y="$sb" 'BEGIN {
            if (y > 0 && x > 0) printf "- %s vs %s: %.2f (%.1fx %s)\n", a, b, x / y, (x < y ? y / x : x / y), (x < y ? "faster" : "slower");
            else printf "- %s vs %s: too fast to compare (%ss vs %ss)\n", a, b, x, y }'
    else
        echo "- $a vs $b: n/a ($a: ${sa:-n/a}, $b: ${sb:-n/a})"
    fi
done
