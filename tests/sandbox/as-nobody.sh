#!/bin/sh
# Runs a test as an unprivileged user: as root, drop to nobody first (CI
# runs as root, people run capgate as themselves; both must work).
if [ "$(id -u)" = 0 ]; then
	exec setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
fi
exec "$@"
