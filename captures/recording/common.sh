# Sourced by the record*.sh scripts.
#
# capture FILE FILTER CLIENT...
#   tcpdump (on lo, or $TCPDUMP_IF) writes $OUT/FILE with the BPF FILTER, from 1 s
#   before CLIENT runs to 1 s after it exits; logs go to $SCRATCH. Returns the
#   client's exit status, showing the end of its log when it failed.
capture() {
  local file=$1 filter=$2; shift 2
  echo "=== $file: $*"
  # shellcheck disable=SC2086
  tcpdump ${TCPDUMP_IF:--i lo} --immediate-mode -Z root -w "$OUT/$file" "$filter" \
    2> "$SCRATCH/tcpdump-$file.log" &
  local tpid=$!
  sleep 1
  local rc=0
  "$@" > "$SCRATCH/client-$file.log" 2>&1 || rc=$?
  sleep 1
  kill -INT "$tpid"; wait "$tpid" || true
  tail -n 2 "$SCRATCH/tcpdump-$file.log"
  [ "$rc" = 0 ] || { tail -n 5 "$SCRATCH/client-$file.log"; return "$rc"; }
}

# start_postfix: the private Postfix of setup-postfix.sh, unless RUNNING=1 says it is
# already up; sets PF_PID (empty when it was already running).
start_postfix() {
  PF_PID=
  if [ "${RUNNING:-0}" != 1 ]; then
    ./setup-postfix.sh
    PF_PID=$(tr -d ' ' < "$SCRATCH/queue/pid/master.pid")
  fi
}
