#!/bin/sh
# Gives Doorstep its broker credentials:
#   deploy/mosquitto/add-doorstep.sh [username]        (default username: doorstep)
# creates (or re-keys) the user in the password file and, once, its ACL lines: it may subscribe to
# and read every school's fob events (doorstep/+/fobs/+/events), and publish nothing. The password is
# DOORSTEP_MQTT_PASSWORD when set, otherwise a new random one; it is written (mode 600) to
# DOORSTEP_MQTT_PASSWORD_FILE, by default ./secrets/mqtt-password, which docker-compose.yml mounts
# into the Doorstep container as /run/secrets/doorstep/mqtt-password: reference it from the config as
# password: file:/run/secrets/doorstep/mqtt-password. It is never printed.
. "$(dirname "$0")/lib.sh"

[ $# -le 1 ] || die "usage: $ME [username]"
user=${1:-doorstep}
valid_id "$user" || die "username \"$user\" may only hold letters, digits, - and _"
case $user in gateway-*) die "usernames starting gateway- are for school gateways (add-gateway.sh)" ;; esac
password=${DOORSTEP_MQTT_PASSWORD:-$(new_password)}
file=${DOORSTEP_MQTT_PASSWORD_FILE:-./secrets/mqtt-password}

set_password "$user" "$password"
add_acl "$user" "topic read $(topic_for +)"
write_secret "$file" "$password"
printf '%s: user %s may read %s; its password is in %s\n' "$ME" "$user" "$(topic_for +)" "$file"
reload_hint
