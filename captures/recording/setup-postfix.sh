#!/bin/sh
# Create and start a private Postfix instance under $SCRATCH (default /tmp/smtpscope-rec).
# Listens only on 127.0.0.1:2525, [::1]:2525 and 127.0.0.1:2526 (AUTH offered).
# Stop it with: kill -TERM "$(cat $SCRATCH/queue/pid/master.pid)"
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SCRATCH=${SCRATCH:-/tmp/smtpscope-rec}
CONF=$SCRATCH/postfix-conf
mkdir -p "$CONF/sasl" "$SCRATCH/queue" "$SCRATCH/data" "$SCRATCH/vmail"
chown postfix "$SCRATCH/data"
chown 65534:65534 "$SCRATCH/vmail"
for f in main.cf master.cf; do
  sed "s#@SCRATCH@#$SCRATCH#g" "$HERE/postfix/$f.in" > "$CONF/$f"
done
sed "s#@SCRATCH@#$SCRATCH#g" "$HERE/postfix/smtpd.conf" > "$CONF/sasl/smtpd.conf"
cp "$HERE/postfix/vmailbox" "$CONF/vmailbox"
if [ ! -f "$CONF/cert.pem" ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=mx.example.test" \
    -keyout "$CONF/key.pem" -out "$CONF/cert.pem" 2>/dev/null
  chmod 600 "$CONF/key.pem"
fi
# SASL user for the tour: alice / wonderland (realm example.test is not used: -u '')
echo wonderland | saslpasswd2 -p -c -f "$SCRATCH/sasldb2" -u mx.example.test alice
chown postfix "$SCRATCH/sasldb2"; chmod 600 "$SCRATCH/sasldb2"
script -qec "postfix -c $CONF check" /dev/null
script -qec "postfix -c $CONF start" /dev/null
sleep 2
echo "postfix master pid: $(cat "$SCRATCH/queue/pid/master.pid" | tr -d ' ')"
