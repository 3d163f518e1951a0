#!/bin/bash
# Re-make the finding-*.pcap captures (issue 4: a real capture per security finding).
# Needs root and what record.sh needs.  Usage: sudo ./record-findings.sh [OUTDIR] [CASE...]
# Starts the private Postfix and aiosmtpd like record.sh, unless RUNNING=1 says they are
# already up (on 127.0.0.1:2525 and :2587).  Only 127.0.0.1 is ever contacted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "${1:-$HERE/..}" && pwd)
[ $# -gt 0 ] && shift
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
start_postfix
if [ "${RUNNING:-0}" != 1 ]; then
  python3 aiosmtpd_server.py 2587 > "$SCRATCH/aiosmtpd.log" 2>&1 &
  AIO_PID=$!
  sleep 2
fi


DATE='Date: Thu, 01 Jan 2026 12:00:00 +0000'
PF=(--server 127.0.0.1:2525 --ehlo client.example.test --from sender@client.test
    --to alice@example.test --header "$DATE")

# CASE FILE PORT: the python cases in findings.py
CASES=(
  smtp_smuggling       finding-smtp-smuggling.pcap             2525
  bare_line_ending     finding-bare-line-ending.pcap           2525
  nul_byte             finding-nul-byte.pcap                   2525
  pregreet             finding-pregreet.pcap                   2525
  pipelining_violation finding-pipelining-violation.pcap       2587
  starttls_injection   finding-starttls-command-injection.pcap 2525
  vrfy_expn            finding-user-enum-vrfy-expn.pcap        2525
  user_enum_rcpt       finding-user-enum-rcpt.pcap             2525
  unknown_command      finding-unknown-command-http.pcap       2525
  line_too_long        finding-line-too-long.pcap              2525
  bad_command_sequence finding-bad-command-sequence.pcap       2525
  helo_anomaly         finding-helo-anomaly.pcap               2525
  etrn                 finding-etrn-queue-trigger.pcap         2525
  dangerous_verbs      finding-dangerous-verbs.pcap            2525
  envelope_injection   finding-envelope-injection-payload.pcap 2525
  size_mismatch        finding-size-declared-mismatch.pcap     2525
  data_before_354      finding-data-before-354.pcap            2525
  starttls_rejected    finding-starttls-rejected.pcap          2587
  open_relay           finding-open-relay-accepted.pcap        2587
  relay_probe          finding-relay-probe.pcap                2525
  bdat_zero            finding-bdat-framing-anomaly.pcap       2525
  mass_recipients      finding-mass-recipients.pcap            2525
  mime_malformed       finding-mime-malformed.pcap             2525
  too_many_received    finding-too-many-received-headers.pcap  2525
  non_ascii            finding-non-ascii-without-extension.pcap 2525
  tls_fallback         finding-tls-fallback-to-plaintext.pcap  2525
)
want() { [ $# -eq 0 ] || [[ " $* " == *" $case "* ]]; }
for ((i = 0; i < ${#CASES[@]}; i += 3)); do
  case=${CASES[i]}
  want "$@" || continue
  capture "${CASES[i+1]}" "tcp port ${CASES[i+2]}" python3 findings.py "$case"
done

# A plaintext aiosmtpd on 465, only for this capture.
case=implicit_tls_cleartext
if want "$@"; then
  python3 aiosmtpd_server.py 465 > "$SCRATCH/aiosmtpd-465.log" 2>&1 &
  P465=$!
  sleep 2
  rc=0
  capture finding-implicit-tls-port-cleartext.pcap "tcp port 465" python3 findings.py "$case" || rc=$?
  kill -TERM "$P465"; wait "$P465" || true
  [ "$rc" = 0 ]
fi

# An executable behind a document name: 'MZ' + deterministic filler.
case=risky_attachment
if want "$@"; then
  python3 -c 'import sys; sys.stdout.buffer.write(b"MZ\x90\x00" + bytes(range(256)) * 4)' \
    > "$SCRATCH/invoice.pdf.exe"
  capture finding-risky-attachment.pcap "tcp port 2525" \
    swaks "${PF[@]}" --header 'Message-Id: <risky-1@client.test>' --header 'Subject: invoice' \
      --body 'Please see the attached invoice.' \
      --attach-type application/octet-stream --attach-name invoice.pdf.exe \
      --attach "@$SCRATCH/invoice.pdf.exe"
fi
case=from_mismatch
if want "$@"; then
  capture finding-envelope-header-from-mismatch.pcap "tcp port 2525" \
    swaks "${PF[@]}" --header 'From: Chief Executive <ceo@bank.example>' \
      --header 'Message-Id: <from-mismatch-1@client.test>' --header 'Subject: urgent transfer' \
      --body 'Please pay the attached invoice today.'
fi
echo "done; postfix log: $SCRATCH/maillog, client logs: $SCRATCH/client-finding-*.log"
