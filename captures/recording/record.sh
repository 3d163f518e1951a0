#!/bin/bash
# Re-make every capture in captures/ from real software on loopback.
# Needs root and: postfix sasl2-bin swaks tcpdump tshark openssl (Debian), aiosmtpd (pip).
# Usage: sudo ./record.sh [OUTDIR]      (OUTDIR defaults to captures/, i.e. ..)
# Starts a private Postfix (setup-postfix.sh) and aiosmtpd_server.py, records, then stops
# both by their own PIDs.  Only 127.0.0.1 / ::1 are ever contacted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "${1:-$HERE/..}" && pwd)
export SCRATCH=${SCRATCH:-/tmp/smtpscope-rec}
mkdir -p "$SCRATCH"
cd "$HERE"
# shellcheck source=common.sh
. "$HERE/common.sh"

PF_PID= ; AIO_PID=
cleanup() {
  [ -n "$AIO_PID" ] && kill -TERM "$AIO_PID" 2>/dev/null || true
  [ -n "$PF_PID" ] && kill -TERM "$PF_PID" 2>/dev/null || true
  sleep 2
}
trap cleanup EXIT

./setup-postfix.sh
PF_PID=$(tr -d ' ' < "$SCRATCH/queue/pid/master.pid")
python3 aiosmtpd_server.py 2587 > "$SCRATCH/aiosmtpd.log" 2>&1 &
AIO_PID=$!
sleep 2


DATE='Date: Thu, 01 Jan 2026 12:00:00 +0000'
PF=(--server 127.0.0.1:2525 --ehlo client.example.test --from sender@client.test)

capture postfix-plain-delivery.pcap 'tcp port 2525' \
  swaks "${PF[@]}" --to alice@example.test --header "$DATE" \
    --header 'Message-Id: <plain-1@client.test>' --header 'Subject: plain delivery' \
    --body 'Hello Alice, this is a plain SMTP delivery.'

capture postfix-rset-multi-transaction.pcap 'tcp port 2525' python3 rset_multi.py

capture postfix-rcpt-rejected.pcap 'tcp port 2525' \
  swaks "${PF[@]}" --to alice@example.test,nobody@example.test,bob@example.test,ghost@example.test \
    --header "$DATE" --header 'Message-Id: <rcpt-rejected-1@client.test>' \
    --header 'Subject: some recipients are unknown'

capture postfix-pipelining.pcap 'tcp port 2525' \
  swaks "${PF[@]}" --pipeline --to alice@example.test,bob@example.test,nobody@example.test \
    --header "$DATE" --header 'Message-Id: <pipelining-1@client.test>' \
    --header 'Subject: pipelined'

capture postfix-starttls.pcap 'tcp port 2525' \
  swaks "${PF[@]}" --tls --to alice@example.test --header "$DATE" \
    --header 'Message-Id: <starttls-1@client.test>' --header 'Subject: over TLS'

AIO=(--server 127.0.0.1:2587 --ehlo client.example.test --from alice@example.org --to bob@example.net
     --auth-user alice --auth-password wonderland --header "$DATE")
capture aiosmtpd-auth-plain.pcap 'tcp port 2587' \
  swaks "${AIO[@]}" --auth PLAIN --header 'Message-Id: <auth-plain-1@client.test>' \
    --header 'Subject: AUTH PLAIN'
capture aiosmtpd-auth-login.pcap 'tcp port 2587' \
  swaks "${AIO[@]}" --auth LOGIN --header 'Message-Id: <auth-login-1@client.test>' \
    --header 'Subject: AUTH LOGIN'
capture aiosmtpd-auth-failed.pcap 'tcp port 2587' python3 auth_failed.py

capture postfix-bdat.pcap 'tcp port 2525' python3 bdat.py

capture postfix-utf8-subject.pcap 'tcp port 2525' python3 utf8.py

# deterministic 230000-byte binary attachment -> ~310 KB message
python3 -c 'import random,sys; r=random.Random(2525); sys.stdout.buffer.write(bytes(r.getrandbits(8) for _ in range(230000)))' \
  > "$SCRATCH/report.bin"
capture postfix-attachment.pcap 'tcp port 2525' \
  swaks "${PF[@]}" --to alice@example.test --header "$DATE" \
    --header 'Message-Id: <attachment-1@client.test>' --header 'Subject: report attached' \
    --body 'Hello Alice, the report is attached.' \
    --attach-type application/octet-stream --attach-name report.bin --attach "@$SCRATCH/report.bin"

capture postfix-ipv6.pcap 'tcp port 2525' \
  swaks --server ::1 --port 2525 --ehlo client.example.test --from sender@client.test \
    --to alice@example.test --header "$DATE" \
    --header 'Message-Id: <ipv6-1@client.test>' --header 'Subject: plain delivery over IPv6' \
    --body 'Hello Alice, this is a plain SMTP delivery over IPv6.'

capture tour.pcap 'tcp port 2526' python3 tour.py

TCPDUMP_IF='-i any -y LINUX_SLL2' capture sll2-any-interface.pcap 'tcp port 2525' \
  swaks "${PF[@]}" --to alice@example.test --header "$DATE" \
    --header 'Message-Id: <sll2-1@client.test>' --header 'Subject: captured on any (SLL2)' \
    --body 'Hello Alice, captured with tcpdump -i any -y LINUX_SLL2.'
TCPDUMP_IF='-i any -y LINUX_SLL' capture sll-any-interface.pcap 'tcp port 2525' \
  swaks "${PF[@]}" --to alice@example.test --header "$DATE" \
    --header 'Message-Id: <sll-1@client.test>' --header 'Subject: captured on any (SLL)' \
    --body 'Hello Alice, captured with tcpdump -i any -y LINUX_SLL.'

# format variants of postfix-plain-delivery.pcap
editcap -F pcapng "$OUT/postfix-plain-delivery.pcap" "$OUT/postfix-plain-delivery.pcapng"
editcap -F nsecpcap "$OUT/postfix-plain-delivery.pcap" "$OUT/postfix-plain-delivery-nsec.pcap"
gzip -kf "$OUT/postfix-plain-delivery.pcap"

python3 "$HERE/make_tsv.py" "$OUT"

echo "done; postfix log: $SCRATCH/maillog, client logs: $SCRATCH/client-*.log"
