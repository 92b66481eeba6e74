#!/bin/sh
# Gives one school's vendor gateway its broker credentials:
#   deploy/mosquitto/add-gateway.sh <school-id>
# creates (or re-keys) the user gateway-<school-id> in the password file and, once, its ACL lines:
# it may publish to doorstep/<school-id>/fobs/<device-id>/events and nothing else (it cannot
# subscribe, not even to its own topics). The password is GATEWAY_PASSWORD when set, otherwise a new
# random one; it is written to $MOSQUITTO_SECRETS/gateway-<school-id>.password (mode 600) for you to
# hand to the vendor, and never printed.
. "$(dirname "$0")/lib.sh"

[ $# -eq 1 ] || die "usage: $ME <school-id>"
school=$1
valid_id "$school" || die "school id \"$school\" may only hold letters, digits, - and _"
user="gateway-$school"
password=${GATEWAY_PASSWORD:-$(new_password)}

set_password "$user" "$password"
add_acl "$user" "topic write $(topic_for "$school")"
write_secret "$SECRETS/$user.password" "$password"
printf '%s: user %s may publish to %s; its password is in %s\n' \
  "$ME" "$user" "$(topic_for "$school")" "$SECRETS/$user.password"
reload_hint
