#!/bin/bash
# Re-make the proxy captures: SMTP to the private Postfix through a SOCKS proxy
# (socks*.pcap) or an HTTP CONNECT proxy (http-connect-smtp.pcap, and
# http-connect-407-smtp.pcap through a proxy that wants Basic authentication).
# Needs root, what record.sh needs (postfix sasl2-bin swaks tcpdump tshark openssl), and
# the Debian packages microsocks, dante-server, tinyproxy, proxychains4 and curl.
# Usage: sudo [ONLY=CASE[,CASE...]] ./record-proxies.sh [OUTDIR]
#   OUTDIR defaults to captures/, i.e. ..
#   CASE is socks5, socks5-auth, socks4, http-connect or http-connect-407; without ONLY
#   all five are recorded (e.g. ONLY=http-connect-407 leaves the other .pcap files alone).
#
# swaks 20201014.0 has no SOCKS or HTTP proxy client: its --proxy* options speak the
# HAProxy PROXY protocol to the SMTP server.  So swaks runs under proxychains4
# (proxychains-ng, an LD_PRELOAD connect() hook), which does the SOCKS handshake or the
# HTTP CONNECT request on swaks' socket.  proxychains-ng cannot answer a 407 (it only
# sends credentials up front), so http-connect-407 uses curl's own SMTP client and HTTP
# proxy tunnel instead: with --proxy-anyauth curl first sends CONNECT without
# credentials, learns the scheme from tinyproxy's 407, and sends CONNECT again with
# Proxy-Authorization: Basic.
# Each proxy listens on 127.0.0.1 (SOCKS :1080, HTTP :8888), one at a time; only the
# client<->proxy leg (tcp port 1080 / 8888) is captured.  Starts the private Postfix
# (setup-postfix.sh) unless RUNNING=1 says it is already up on 127.0.0.1:2525, and stops
# what it started by PID.  Only 127.0.0.1 is ever contacted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "${1:-$HERE/..}" && pwd)
export SCRATCH=${SCRATCH:-/tmp/smtpscope-rec}
mkdir -p "$SCRATCH"
cd "$HERE"
# shellcheck source=common.sh
. "$HERE/common.sh"

# ONLY=CASE[,CASE...] limits the run to the named cases (default: all of them).
ONLY=${ONLY:-}
case_wanted() {
  [ -z "$ONLY" ] && return 0
  case ",$ONLY," in *",$1,"*) return 0 ;; esac
  return 1
}
for c in ${ONLY//,/ }; do
  case $c in socks5|socks5-auth|socks4|http-connect|http-connect-407) ;;
    *) echo "unknown case in ONLY: $c" >&2; exit 2 ;; esac
done

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

# start_proxy NAME PORT CMD...: run a proxy in the foreground of a background job and
# wait until it listens on 127.0.0.1:PORT.
start_proxy() {
  local name=$1 port=$2; shift 2
  if ss -Hltn "sport = :$port" | grep -q .; then
    echo "something already listens on port $port" >&2; exit 1
  fi
  "$@" > "$SCRATCH/$name.log" 2>&1 &
  PROXY_PID=$!
  for _ in $(seq 50); do
    ss -Hltn "sport = :$port" | grep -q . && return 0
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
pc_conf proxychains-http.conf        'http 127.0.0.1 8888'

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

# tinyproxy: HTTP proxy on 127.0.0.1:8888, loopback clients only, no upstream, CONNECT
# allowed to port 2525 only (ConnectPort; with no ConnectPort line tinyproxy 1.11.1
# would allow every port).  It runs in the foreground (-d), as root (no User line), and
# the script stops it by PID; in the foreground it writes no PidFile.
cat > "$SCRATCH/tinyproxy.conf" <<EOF
Port 8888
Listen 127.0.0.1
Timeout 600
Allow 127.0.0.1
ConnectPort 2525
LogFile "$SCRATCH/tinyproxy.log"
LogLevel Info
EOF

# The same tinyproxy, but it wants HTTP Basic authentication (proxyuser / proxypass):
# a CONNECT without a valid Proxy-Authorization gets 407 Proxy Authentication Required.
sed -e "s#tinyproxy.log#tinyproxy-auth.log#" "$SCRATCH/tinyproxy.conf" \
  > "$SCRATCH/tinyproxy-auth.conf"
echo 'BasicAuth proxyuser proxypass' >> "$SCRATCH/tinyproxy-auth.conf"

DATE='Date: Thu, 01 Jan 2026 12:00:00 +0000'
PF=(--server 127.0.0.1:2525 --ehlo client.example.test --from sender@client.test
    --to alice@example.test --header "$DATE")

# proxied FILE PORT PROXYCHAINS_CONF MSGID SUBJECT: swaks to Postfix through the proxy
# listening on PORT, captured on that port only.
proxied() {
  capture "$1" "tcp port $2" proxychains4 -q -f "$SCRATCH/$3" \
    swaks "${PF[@]}" --header "Message-Id: <$4@client.test>" --header "Subject: $5"
}

# 1. microsocks, no authentication (method 00)
if case_wanted socks5; then
  start_proxy microsocks 1080 microsocks -i 127.0.0.1 -p 1080
  proxied socks5-smtp.pcap 1080 proxychains-socks5.conf socks5-1 'through a SOCKS5 proxy'
  stop_proxy
fi

# 2. microsocks with RFC 1929 username/password (method 02)
if case_wanted socks5-auth; then
  start_proxy microsocks-auth 1080 microsocks -i 127.0.0.1 -p 1080 -u proxyuser -P proxypass
  proxied socks5-auth-smtp.pcap 1080 proxychains-socks5-auth.conf socks5-auth-1 'through an authenticating SOCKS5 proxy'
  stop_proxy
fi

# 3. Dante, SOCKS4 (Dante 1.4.2 has no SOCKS4a: a 0.0.0.x request is taken as plain
#    SOCKS4 to 0.0.0.x, and the host name after the user id as early payload)
if case_wanted socks4; then
  start_proxy danted 1080 danted -f "$SCRATCH/danted.conf" -p "$SCRATCH/danted.pid"
  proxied socks4-smtp.pcap 1080 proxychains-socks4.conf socks4-1 'through a SOCKS4 proxy'
  stop_proxy
fi

# 4. tinyproxy, HTTP CONNECT (proxychains-ng sends `CONNECT 127.0.0.1:2525 HTTP/1.0`)
if case_wanted http-connect; then
  start_proxy tinyproxy-console 8888 tinyproxy -d -c "$SCRATCH/tinyproxy.conf"
  proxied http-connect-smtp.pcap 8888 proxychains-http.conf http-connect-1 'through an HTTP CONNECT proxy'
  stop_proxy
fi

# 5. tinyproxy with BasicAuth, HTTP CONNECT answered 407 first: curl (not swaks, see
#    above) sends `CONNECT 127.0.0.1:2525 HTTP/1.1` without credentials, gets the 407,
#    then sends the CONNECT again with `Proxy-Authorization: Basic ...`, gets 200 and
#    runs SMTP in the tunnel.  curl's EHLO name is the URL path; the message file has
#    CRLF line ends and curl adds the final `.` line itself.
if case_wanted http-connect-407; then
  printf '%s\r\n' "$DATE" 'From: sender@client.test' 'To: alice@example.test' \
    'Message-Id: <http-connect-407-1@client.test>' \
    'Subject: through an HTTP proxy after 407' '' \
    'Hello Alice, this message went through an HTTP CONNECT proxy' \
    'that first answered 407 Proxy Authentication Required.' \
    > "$SCRATCH/http-connect-407.eml"
  start_proxy tinyproxy-auth-console 8888 tinyproxy -d -c "$SCRATCH/tinyproxy-auth.conf"
  capture http-connect-407-smtp.pcap 'tcp port 8888' \
    curl -sS -v --proxytunnel -x http://127.0.0.1:8888 \
      --proxy-user proxyuser:proxypass --proxy-anyauth \
      --mail-from sender@client.test --mail-rcpt alice@example.test \
      -T "$SCRATCH/http-connect-407.eml" smtp://127.0.0.1:2525/client.example.test
  stop_proxy
fi

echo "done; proxy logs: $SCRATCH/microsocks*.log $SCRATCH/danted.log $SCRATCH/tinyproxy*.log,"
echo "client logs: $SCRATCH/client-socks*.log $SCRATCH/client-http-connect*.log"
