#!/bin/sh
# Runs the sandbox test binary as an unprivileged user: as root, as nobody
# (CI runs as root, people run capgate as themselves; both must work).
# The binary, the probes and the policies are copied where nobody can
# reach them: the build tree may sit in a private home such as /root.
#   as-nobody.sh TEST_BINARY POLICY_DIR [ARGS...]
bin=$1
policies=$2
shift 2
if [ "$(id -u)" != 0 ]; then
	exec "$bin" "$@"
fi
dir=$(mktemp -d /tmp/capgate-nobody-XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT
bindir=$(dirname "$bin")
cp "$bin" "$bindir/probe" "$bindir/probe-static" "$dir/" || exit 1
cp -r "$policies" "$dir/policies" || exit 1
chmod -R a+rX "$dir"
cd "$dir" || exit 1
CAPGATE_PROBE_DIR=$dir CAPGATE_POLICY_DIR=$dir/policies \
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$dir/$(basename "$bin")" "$@"
