# Shared by add-gateway.sh, add-doorstep.sh and make-certs.sh (sourced, not run).
# MOSQUITTO_SECRETS: where the password file, the ACL and the certificates live
# (default: deploy/mosquitto/secrets, which docker-compose.yml mounts at /mosquitto/secrets).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SECRETS=${MOSQUITTO_SECRETS:-$HERE/secrets}
ME=$(basename "$0")
# The topic shape vendor gateways publish to (config/doorstep.example.yaml).
topic_for() { printf 'doorstep/%s/fobs/+/events' "$1"; }

die() {
  printf '%s: %s\n' "$ME" "$*" >&2
  exit 1
}

need() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is not installed (it comes with $2)"
}

# An id as Doorstep's config allows for schools and users: letters, digits, - and _.
valid_id() {
  case $1 in
    '' | *[!A-Za-z0-9_-]*) return 1 ;;
    *) return 0 ;;
  esac
}

new_password() {
  need openssl OpenSSL
  openssl rand -base64 24 | tr '+/' '-_' | tr -d '=\n'
}

prepare_secrets() {
  umask 077
  mkdir -p "$SECRETS"
  chmod 700 "$SECRETS"
}

# set_password USER PASSWORD: adds the user to the password file, or changes its password.
# The password goes to mosquitto_passwd on standard input, never on a command line.
set_password() {
  need mosquitto_passwd 'Mosquitto (apt-get install mosquitto)'
  prepare_secrets
  if [ -f "$SECRETS/passwd" ]; then create=; else create=-c; fi
  printf '%s\n%s\n' "$2" "$2" | mosquitto_passwd $create "$SECRETS/passwd" "$1" >/dev/null ||
    die "mosquitto_passwd could not write $SECRETS/passwd"
  chmod 600 "$SECRETS/passwd"
}

# add_acl USER LINE...: appends the user's ACL block unless the user already has one.
add_acl() {
  user=$1
  shift
  prepare_secrets
  touch "$SECRETS/acl"
  chmod 600 "$SECRETS/acl"
  if grep -qx "user $user" "$SECRETS/acl"; then
    printf '%s: %s already has ACL lines in %s; left as they are\n' "$ME" "$user" "$SECRETS/acl"
    return 0
  fi
  {
    printf '\nuser %s\n' "$user"
    for line in "$@"; do printf '%s\n' "$line"; done
  } >>"$SECRETS/acl"
}

# write_secret FILE PASSWORD: the password for whoever connects as this user (mode 600).
write_secret() {
  (umask 077 && mkdir -p "$(dirname "$1")" && printf '%s\n' "$2" >"$1")
  chmod 600 "$1"
}

reload_hint() {
  printf 'A running broker reads the password file and ACL again on SIGHUP (docker compose kill -s HUP mosquitto).\n'
}
