#!/bin/bash
# Re-make the socks*.pcap captures: SMTP to the private Postfix through a SOCKS proxy.
# Needs root, what record.sh needs (postfix sasl2-bin swaks tcpdump tshark openssl), and
# the Debian packages microsocks, dante-server and proxychains4.
# Usage: sudo ./record-socks.sh [OUTDIR]      (OUTDIR defaults to captures/, i.e. ..)
#
# swaks 20201014.0 has no SOCKS client: its --proxy* options speak the HAProxy PROXY
# protocol to the SMTP server.  So swaks runs under proxychains4 (proxychains-ng, an
# LD_PRELOAD connect() hook), which does the SOCKS handshake on swaks' socket.
# Each proxy listens on 127.0.0.1:1080, one at a time; only the client<->proxy leg
# (tcp port 1080) is captured.  Starts the private Postfix (setup-postfix.sh) unless
# RUNNING=1 says it is already up on 127.0.0.1:2525, and stops what it started by PID.
# Only 127.0.0.1 is ever contacted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "${1:-$HERE/..}" && pwd)
export SCRATCH=${SCRATCH:-/tmp/smtpscope-rec}
mkdir -p "$SCRATCH"
cd "$HERE"
# shellcheck source=common.sh
. "$HERE/common.sh"

PF_PID= ; PROXY_PID=
stop_proxy() {
  if [ -n "$PROXY_PID" ]; then
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=
  fi
}
cleanup() {
  stop_proxy
  [ -n "$PF_PID" ] && kill -TERM "$PF_PID" 2>/dev/null || true
  sleep 2
}
trap cleanup EXIT
start_postfix

# start_proxy NAME CMD...: run a proxy in the foreground of a background job and wait
# until it listens on 127.0.0.1:1080.
start_proxy() {
  local name=$1; shift
  if ss -Hltn 'sport = :1080' | grep -q .; then
    echo "something already listens on port 1080" >&2; exit 1
  fi
  "$@" > "$SCRATCH/$name.log" 2>&1 &
  PROXY_PID=$!
  for _ in $(seq 50); do
    ss -Hltn 'sport = :1080' | grep -q . && return 0
    sleep 0.1
  done
  echo "$name did not start, see $SCRATCH/$name.log" >&2; exit 1
}


# proxychains-ng configs: one proxy, no proxy_dns (swaks is given an IP address, so the
# CONNECT carries 127.0.0.1:2525).
pc_conf() {
  printf '%s\n' strict_chain quiet_mode 'tcp_read_time_out 15000' \
    'tcp_connect_time_out 8000' '[ProxyList]' "$2" > "$SCRATCH/$1"
}
pc_conf proxychains-socks5.conf      'socks5 127.0.0.1 1080'
pc_conf proxychains-socks5-auth.conf 'socks5 127.0.0.1 1080 proxyuser proxypass'
pc_conf proxychains-socks4.conf      'socks4 127.0.0.1 1080'

# Dante: SOCKS v4/v5 without authentication, loopback in and out, CONNECT to
# 127.0.0.1:2525 only.
cat > "$SCRATCH/danted.conf" <<EOF
logoutput: $SCRATCH/danted.log
internal: 127.0.0.1 port = 1080
external: 127.0.0.1
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
  from: 127.0.0.1/32 to: 127.0.0.1/32
  log: connect disconnect error
}
socks pass {
  from: 127.0.0.1/32 to: 127.0.0.1/32 port = 2525
  command: connect
  protocol: tcp
  log: connect disconnect error
}
EOF

DATE='Date: Thu, 01 Jan 2026 12:00:00 +0000'
PF=(--server 127.0.0.1:2525 --ehlo client.example.test --from sender@client.test
    --to alice@example.test --header "$DATE")

# 1. microsocks, no authentication (method 00)
start_proxy microsocks microsocks -i 127.0.0.1 -p 1080
capture socks5-smtp.pcap 'tcp port 1080' \
  proxychains4 -q -f "$SCRATCH/proxychains-socks5.conf" \
  swaks "${PF[@]}" --header 'Message-Id: <socks5-1@client.test>' \
    --header 'Subject: through a SOCKS5 proxy'
stop_proxy

# 2. microsocks with RFC 1929 username/password (method 02)
start_proxy microsocks-auth microsocks -i 127.0.0.1 -p 1080 -u proxyuser -P proxypass
capture socks5-auth-smtp.pcap 'tcp port 1080' \
  proxychains4 -q -f "$SCRATCH/proxychains-socks5-auth.conf" \
  swaks "${PF[@]}" --header 'Message-Id: <socks5-auth-1@client.test>' \
    --header 'Subject: through an authenticating SOCKS5 proxy'
stop_proxy

# 3. Dante, SOCKS4 (Dante 1.4.2 has no SOCKS4a: a 0.0.0.x request is taken as plain
#    SOCKS4 to 0.0.0.x, and the host name after the user id as early payload)
start_proxy danted danted -f "$SCRATCH/danted.conf" -p "$SCRATCH/danted.pid"
capture socks4-smtp.pcap 'tcp port 1080' \
  proxychains4 -q -f "$SCRATCH/proxychains-socks4.conf" \
  swaks "${PF[@]}" --header 'Message-Id: <socks4-1@client.test>' \
    --header 'Subject: through a SOCKS4 proxy'
stop_proxy

echo "done; proxy logs: $SCRATCH/microsocks*.log $SCRATCH/danted.log, client logs: $SCRATCH/client-socks*.log"
