#!/usr/bin/env bash
# Make the TLS certificates of a failover pair (RFC 8156 §10; `[tls]` in docs/daemon-config.md).
#
#   scripts/make-pair-certs.sh [--pin] DIR PRIMARY_ADDR SECONDARY_ADDR [DAYS]
#
# Default (a small CA): DIR/ca.pem and ca.key, and for each server ROLE.pem and ROLE.key, signed by
# that CA, valid DAYS days (default 825), naming the server's partner-link address as a
# subjectAltName IP address (each server checks that its partner's certificate names
# partner.remote's address), with the extended key usages serverAuth and clientAuth (the
# secondary is the TLS server, the primary the TLS client). Each server's [tls] is then
#   cert = "DIR/ROLE.pem"  key = "DIR/ROLE.key"  ca = "DIR/ca.pem"
# Keep ca.key off both servers (it is needed only to make new certificates).
#
# --pin: no CA; each server gets a self-signed ROLE.pem and ROLE.key, and each pins the other's:
#   cert = "DIR/ROLE.pem"  key = "DIR/ROLE.key"  partner_cert = "DIR/PARTNER.pem"
#
# Needs openssl (Debian: openssl). Keys are EC P-256, PKCS#8, mode 600. Existing files in DIR are
# not overwritten: the script stops instead.
set -euo pipefail

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
pin=0
if [ "${1:-}" = "--pin" ]; then pin=1; shift; fi
[ $# -ge 3 ] && [ $# -le 4 ] || usage
dir=$1 primary=$2 secondary=$3 days=${4:-825}
command -v openssl >/dev/null || { echo "error: openssl is missing (Debian: apt-get install openssl)" >&2; exit 1; }
mkdir -p "$dir"
for f in ca.pem ca.key primary.pem primary.key secondary.pem secondary.key; do
  [ ! -e "$dir/$f" ] || { echo "error: $dir/$f exists; choose an empty directory" >&2; exit 1; }
done
umask 077
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
# The extensions of a server certificate: its address, both key usages, not a CA.
ext() {
  printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n'
  printf 'extendedKeyUsage = serverAuth, clientAuth\nsubjectAltName = IP:%s\n' "$1"
  printf 'subjectKeyIdentifier = hash\n'
}

if [ $pin = 0 ]; then
  key "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -out "$dir/ca.pem" -days $((days + 365)) \
    -subj "/CN=failover pair CA" \
    -addext "basicConstraints = critical, CA:TRUE" \
    -addext "keyUsage = critical, keyCertSign, cRLSign" 2>/dev/null
fi
for pair in "primary $primary" "secondary $secondary"; do
  set -- $pair
  role=$1 addr=$2
  key "$dir/$role.key"
  openssl req -new -key "$dir/$role.key" -out "$dir/$role.csr" -subj "/CN=failover $role $addr"
  ext "$addr" > "$dir/$role.ext"
  if [ $pin = 0 ]; then
    openssl x509 -req -in "$dir/$role.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
      -CAcreateserial -days "$days" -extfile "$dir/$role.ext" -out "$dir/$role.pem" 2>/dev/null
  else
    openssl x509 -req -in "$dir/$role.csr" -key "$dir/$role.key" \
      -days "$days" -extfile "$dir/$role.ext" -out "$dir/$role.pem" 2>/dev/null
  fi
  rm -f "$dir/$role.csr" "$dir/$role.ext"
done
rm -f "$dir/ca.srl"
chmod 644 "$dir"/*.pem

d=$(cd "$dir" && pwd)
for role in primary secondary; do
  partner=$([ $role = primary ] && echo secondary || echo primary)
  echo "# $role.toml"
  echo "[tls]"
  echo "cert = \"$d/$role.pem\""
  echo "key = \"$d/$role.key\""
  if [ $pin = 0 ]; then echo "ca = \"$d/ca.pem\""; else echo "partner_cert = \"$d/$partner.pem\""; fi
  echo
done
