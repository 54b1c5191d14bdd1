#!/bin/sh
# End-to-end checks of `capgate schema validate` (through the stand-in main
# schema-validate-test): outputs, exit statuses and error positions.
set -u
BIN=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0
n=0

# expect NAME STATUS STDOUT-FILE STDERR-PATTERN -- command...
expect() {
	name=$1 want_rc=$2 want_out=$3 want_err=$4
	shift 5
	n=$((n + 1))
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	ok=1
	[ "$rc" = "$want_rc" ] || { echo "FAIL $name: exit $rc, want $want_rc"; ok=0; }
	if [ -n "$want_out" ] && ! printf '%s\n' "$want_out" | cmp -s - "$T/out"; then
		echo "FAIL $name: stdout differs:"; cat "$T/out"; echo "--- want:"
		printf '%s\n' "$want_out"; ok=0
	fi
	if [ -n "$want_err" ] && ! grep -q -- "$want_err" "$T/err"; then
		echo "FAIL $name: stderr lacks '$want_err':"; cat "$T/err"; ok=0
	fi
	[ $ok = 1 ] || fails=$((fails + 1))
}

cat >"$T/s.json" <<'J'
{
  "type": "object",
  "properties": {
    "name": { "type": "string", "maxLength": 4 },
    "n": { "type": "integer", "maximum": 9007199254740992 }
  },
  "required": ["name"],
  "additionalProperties": false
}
J
echo '{"name": "abc", "n": 1}' >"$T/good.json"
echo '{"name": "abcde"}' >"$T/long.json"
echo '{"name": "a", "x": 1}' >"$T/extra.json"
printf '{"name":\n  "a",, }\n' >"$T/broken.json"

expect help 0 "" "" -- "$BIN" schema --help
grep -q usage "$T/out" || { echo "FAIL help: no usage text"; fails=$((fails + 1)); }
expect validate-help 0 "" "" -- "$BIN" schema validate --help
expect no-args 2 "" "usage" -- "$BIN" schema
expect no-schema 2 "" "missing SCHEMA" -- "$BIN" schema validate
expect bad-sub 2 "" "unknown subcommand" -- "$BIN" schema check "$T/s.json"
expect bad-option 2 "" "unknown option" -- "$BIN" schema validate --frob "$T/s.json"
expect compiles 0 "$T/s.json: schema compiles" "" -- "$BIN" schema validate "$T/s.json"
expect good 0 "$T/good.json: valid" "" -- "$BIN" schema validate "$T/s.json" "$T/good.json"
expect long 1 "$T/long.json: invalid: /name: string is longer than 4 characters (maxLength)" "" \
	-- "$BIN" schema validate "$T/s.json" "$T/long.json"
expect mixed 1 "$T/good.json: valid
$T/extra.json: invalid: /x: property is not allowed (additionalProperties)
$T/good.json: valid" "" -- "$BIN" schema validate "$T/s.json" "$T/good.json" "$T/extra.json" "$T/good.json"
expect broken-instance 2 "" "broken.json:2:" -- "$BIN" schema validate "$T/s.json" "$T/broken.json"
expect missing-instance 2 "" "nope.json: cannot read" -- "$BIN" schema validate "$T/s.json" "$T/nope.json"
expect missing-schema 2 "" "nope.json: cannot read" -- "$BIN" schema validate "$T/nope.json"

printf '%s\n' '{"name": "ok"}' '{"name": 5}' '' '{"name": "x", "n": 9007199254740993}' '{}' \
	>"$T/lines"
expect stdin 1 'valid
invalid: /name: value has the wrong type (type)
invalid: /n: value is above the maximum (maximum)
invalid: : missing required property "name" (required)' "" \
	-- sh -c "\"$BIN\" schema validate \"$T/s.json\" - <\"$T/lines\""
printf '%s\n' '{"name": "ok"}' '{"name": ' '{"name": "ok"}' >"$T/lines2"
expect stdin-malformed 2 "" "" -- sh -c "\"$BIN\" schema validate \"$T/s.json\" - <\"$T/lines2\""
# the malformed line is named and the following instances still answered
sed -n 1p "$T/out" | grep -qx valid &&
	sed -n 2p "$T/out" | grep -q '^error: -:2:' &&
	sed -n 3p "$T/out" | grep -qx valid ||
	{ echo "FAIL stdin-malformed: got"; cat "$T/out"; fails=$((fails + 1)); }
expect stdin-all-valid 0 'valid
valid' "" -- sh -c "printf '{\"name\":\"a\"}\n{\"name\":\"b\"}\n' | \"$BIN\" schema validate \"$T/s.json\" -"

# schema errors carry SCHEMA:line:col
printf '{\n  "type": "object",\n  "properties": {\n' >"$T/syntax.json"
expect schema-syntax 2 "" "syntax.json:4:" -- "$BIN" schema validate "$T/syntax.json" "$T/good.json"
cat >"$T/bad.json" <<'J'
{
  "properties": {
    "a": { "type": "string" },
    "b": { "minLength": -1 }
  }
}
J
expect schema-compile 2 "" "bad.json:4:25: minLength must be a non-negative integer" \
	-- "$BIN" schema validate "$T/bad.json"
cat >"$T/cycle.json" <<'J'
{
  "definitions": {
    "a": { "$ref": "#/definitions/b" },
    "b": { "$ref": "#/definitions/a" }
  },
  "$ref": "#/definitions/a"
}
J
expect schema-cycle 2 "" "cycle.json:3:20: \$ref cycle" -- "$BIN" schema validate "$T/cycle.json"
cat >"$T/regex.json" <<'J'
{"properties": {"a~b": {"pattern": "(unclosed"}}}
J
expect schema-regex 2 "" "regex.json:1:36: invalid regular expression" \
	-- "$BIN" schema validate "$T/regex.json"

# remote references resolve only from --remote
echo '{"type": "integer"}' >"$T/int.json"
echo '{"items": {"$ref": "http://example.com/int.json"}}' >"$T/r.json"
echo '[1, 2]' >"$T/ints.json"
echo '[1, "2"]' >"$T/mixed.json"
expect remote-missing 2 "" "unresolvable" -- "$BIN" schema validate "$T/r.json" "$T/ints.json"
expect remote 1 "$T/ints.json: valid
$T/mixed.json: invalid: /1: value has the wrong type (type)" "" \
	-- "$BIN" schema validate --remote "http://example.com/int.json=$T/int.json" \
	"$T/r.json" "$T/ints.json" "$T/mixed.json"
expect remote-bad-arg 2 "" "URI=FILE" -- "$BIN" schema validate --remote nothing "$T/r.json"

echo "$((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
