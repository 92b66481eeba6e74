#!/bin/sh
# Certificates for the broker's TLS listener (8883):
#   deploy/mosquitto/make-certs.sh [hostname-or-ip ...]
# writes into $MOSQUITTO_SECRETS/certs/:
#   ca.key, ca.crt          a private certificate authority (10 years). Kept if it already exists, so
#                           gateways that trust ca.crt keep working when the server certificate is renewed.
#   server.key, server.crt  the broker's certificate (825 days), signed by the CA, valid for the names
#                           given plus mosquitto, localhost and 127.0.0.1.
# Give each vendor gateway ca.crt (it is public) and the broker's name; keep ca.key offline if you can.
# With a certificate from a public or trust-wide CA instead, put its files at these paths.
. "$(dirname "$0")/lib.sh"
need openssl OpenSSL

dir=$SECRETS/certs
prepare_secrets
mkdir -p "$dir"

san=DNS:mosquitto,DNS:localhost,IP:127.0.0.1
cn=${1:-mosquitto}
for name in "$@"; do
  case $name in
    *[!0-9.]*) san="$san,DNS:$name" ;;
    *) san="$san,IP:$name" ;;
  esac
done

if [ ! -f "$dir/ca.key" ] || [ ! -f "$dir/ca.crt" ]; then
  openssl req -x509 -newkey rsa:3072 -sha256 -nodes -days 3650 \
    -subj "/CN=Doorstep broker CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null || die "openssl could not create the CA"
fi

openssl req -new -newkey rsa:3072 -sha256 -nodes -subj "/CN=$cn" \
  -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null || die "openssl could not create the server key"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
  "$san" >"$dir/server.ext"
openssl x509 -req -sha256 -days 825 -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
  -CAcreateserial -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null ||
  die "openssl could not sign the server certificate"
rm -f "$dir/server.csr" "$dir/server.ext" "$dir/ca.srl"
chmod 600 "$dir/ca.key" "$dir/server.key"
chmod 644 "$dir/ca.crt" "$dir/server.crt"
printf '%s: %s/server.crt for %s, signed by %s/ca.crt (give ca.crt to the gateways)\n' "$ME" "$dir" "$san" "$dir"
