/*
 * Every per-channel limit of the policy language, end to end: the real
 * capgate binary, a scripted front-end (tests/e2e/hostile.c "calls") that
 * speaks the wire protocol itself, and the audit log. Each test checks
 * three things: what the client saw (only the opaque code), what was
 * decided, and that the audit record names the reason (and, for a schema,
 * the JSON pointer and keyword). Run as the invoking user and, when root,
 * again as nobody (CAPGATE_TEST_UID=65534).
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define CALLS_MAX 120

static struct e2e_result r;
static char policy_path[1024];

static void
check_uid(void)
{
	const char *uid = getenv("CAPGATE_TEST_UID");

	if (uid != NULL && *uid != '\0' && geteuid() != 0) {
		if (getenv("CAPGATE_REQUIRE_ALL") != NULL &&
		    strcmp(getenv("CAPGATE_REQUIRE_ALL"), "1") == 0 &&
		    getenv("CAPGATE_ALLOW_NONROOT") == NULL)
			cr_assert_fail("CAPGATE_TEST_UID needs root to switch uid");
		cr_skip_test("already unprivileged: the setpriv variant needs root "
		    "(this run is the unprivileged one)");
	}
}

TestSuite(limits, .init = check_uid, .timeout = 60);

/*
 * Runs the hostile front-end's "calls" script (NULL-terminated words:
 * invoke CH BODY | send CH BODY | sleep MS) under policy, as client (NULL:
 * the policy's first). The script ends with an invoke of "ping".
 */
static void
run_calls(const char *policy, const char *audit, const char *client, ...)
{
	const char *argv[CALLS_MAX + 3] = { e2e_hostile, "calls" };
	const char *extra[] = { "--client", client, NULL };
	size_t n = 2;
	va_list ap;
	const char *s;

	snprintf(policy_path, sizeof(policy_path), "%s/%s", e2e_policy_dir, policy);
	va_start(ap, client);
	while ((s = va_arg(ap, const char *)) != NULL && n < CALLS_MAX + 2)
		argv[n++] = s;
	va_end(ap);
	argv[n] = NULL;
	e2e_run(policy_path, audit, client ? extra : NULL, argv, 30, &r);
	cr_assert_eq(r.status, 0, "status %d\nout: %s\nerr: %s", r.status, r.out,
	    r.err);
}

/* The client's view never contains the reason. */
static void
assert_opaque(const char *const *secrets)
{
	for (size_t i = 0; secrets[i] != NULL; i++) {
		cr_assert_null(strstr(r.out, secrets[i]), "client saw \"%s\": %s",
		    secrets[i], r.out);
		cr_assert_null(strstr(r.err, secrets[i]), "client saw \"%s\": %s",
		    secrets[i], r.err);
	}
}

#define AUDIT(audit, ...) audit_lines_count(audit, "\"ev\":\"decision\"", \
	__VA_ARGS__, NULL)

Test(limits, request_schema_denial_is_audited_with_its_pointer)
{
	const char *audit = e2e_audit_path("reqschema");
	const char *secrets[] = { "request-schema", "/age", "minimum", NULL };

	run_calls("schemas.json", audit, NULL,
	    "invoke", "user:set", "{\"name\":\"bob\",\"age\":-1}",
	    "invoke", "user:set", "{\"name\":\"bob\",\"tags\":[\"a\",1]}",
	    "invoke", "user:set", "{\"name\":\"bob\",\"admin\":true}",
	    "invoke", "user:set", "[]",
	    "invoke", "user:set", "{\"name\":\"bob\",\"age\":30}", NULL);
	cr_assert_str_eq(r.out, "error invalid\nerror invalid\nerror invalid\n"
	    "error invalid\nok {\"name\":\"bob\",\"age\":30}\nok null\n");
	assert_opaque(secrets);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"user:set\"", "\"decision\":\"deny\"",
	    "\"reason\":\"request-schema\"", "\"pointer\":\"/age\"",
	    "\"detail\":\"minimum\""), 1);
	cr_assert_eq(AUDIT(audit, "\"reason\":\"request-schema\"",
	    "\"pointer\":\"/tags/1\"", "\"detail\":\"type\""), 1);
	cr_assert_eq(AUDIT(audit, "\"reason\":\"request-schema\"",
	    "\"detail\":\"additionalProperties\""), 1);
	/* a failure at the root is recorded with the root pointer "" */
	cr_assert_eq(AUDIT(audit, "\"reason\":\"request-schema\"",
	    "\"pointer\":\"\"", "\"detail\":\"type\""), 1);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"user:set\"",
	    "\"decision\":\"allow\""), 1);
}

Test(limits, ref_to_a_shared_definition_is_enforced)
{
	const char *audit = e2e_audit_path("defref");

	run_calls("schemas.json", audit, NULL,
	    "invoke", "user:set", "{\"name\":\"waytoolongname\"}",
	    "invoke", "user:set", "{\"name\":\"\"}",
	    "invoke", "user:set", "{\"name\":\"okname\"}", NULL);
	cr_assert_str_eq(r.out, "error invalid\nerror invalid\n"
	    "ok {\"name\":\"okname\"}\nok null\n");
	cr_assert_eq(AUDIT(audit, "\"reason\":\"request-schema\"",
	    "\"pointer\":\"/name\"", "\"detail\":\"maxLength\""), 1);
	cr_assert_eq(AUDIT(audit, "\"reason\":\"request-schema\"",
	    "\"pointer\":\"/name\"", "\"detail\":\"minLength\""), 1);
}

Test(limits, response_schema_stops_a_handler_from_leaking)
{
	const char *audit = e2e_audit_path("respschema");
	const char *secrets[] = { "s3cr3t", "response-schema", "/secret", NULL };

	/* builtin:echo returns the request; the response schema is stricter
	 * than the request schema, so the handler "leaks" a member */
	run_calls("schemas.json", audit, NULL,
	    "invoke", "user:get", "{\"name\":\"x\"}",
	    "invoke", "user:get", "{\"name\":\"x\",\"secret\":\"s3cr3t\"}", NULL);
	cr_assert_str_eq(r.out, "ok {\"name\":\"x\"}\nerror failed\nok null\n");
	assert_opaque(secrets);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"user:get\"", "\"decision\":\"error\"",
	    "\"reason\":\"response-schema\"", "\"pointer\":\"/secret\"",
	    "\"detail\":\"additionalProperties\""), 1);
}

Test(limits, send_payload_schema_is_enforced_without_a_reply)
{
	const char *audit = e2e_audit_path("sendschema");

	run_calls("schemas.json", audit, NULL,
	    "send", "app:log", "\"this line is far too long\"",
	    "send", "app:log", "\"short\"", NULL);
	cr_assert_str_eq(r.out, "ok null\n");
	cr_assert_eq(AUDIT(audit, "\"channel\":\"app:log\"", "\"decision\":\"deny\"",
	    "\"reason\":\"request-schema\"", "\"pointer\":\"\"",
	    "\"detail\":\"maxLength\""), 1);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"client-log\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"message\":\"short\"", NULL), 1);
}

Test(limits, rate_burst_lets_exactly_the_burst_through)
{
	const char *audit = e2e_audit_path("burst");

	/* "1/h" refills nothing during the test: exactly "burst" calls pass */
	run_calls("rates.json", audit, NULL,
	    "invoke", "burst3", "1", "invoke", "burst3", "2",
	    "invoke", "burst3", "3", "invoke", "burst3", "4",
	    "invoke", "burst3", "5", "invoke", "burst3", "6", NULL);
	cr_assert_str_eq(r.out, "ok 1\nok 2\nok 3\nerror limited\nerror limited\n"
	    "error limited\nok null\n");
	cr_assert_eq(AUDIT(audit, "\"channel\":\"burst3\"", "\"reason\":\"rate\""), 3);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"burst3\"", "\"decision\":\"allow\""), 3);
}

Test(limits, rate_without_burst_holds_one_period)
{
	const char *audit = e2e_audit_path("noburst");

	run_calls("rates.json", audit, NULL,
	    "invoke", "noburst", "1", "invoke", "noburst", "2",
	    "invoke", "noburst", "3", "invoke", "noburst", "4",
	    "invoke", "noburst", "5", "invoke", "noburst", "6", NULL);
	cr_assert_str_eq(r.out, "ok 1\nok 2\nok 3\nok 4\nerror limited\n"
	    "error limited\nok null\n");
	cr_assert_eq(AUDIT(audit, "\"channel\":\"noburst\"", "\"reason\":\"rate\""), 2);
}

Test(limits, rate_refills_at_its_rate_up_to_the_burst)
{
	const char *audit = e2e_audit_path("refill");

	/* 2/s, burst 2: two at once; after 1200 ms 2.4 tokens have accrued
	 * but the bucket holds 2; after 600 ms more, 1.2 tokens: one call.
	 * A token takes 500 ms, so a machine that stalls the run for up to
	 * 400 ms (a loaded CI host) cannot change what passes. */
	run_calls("rates.json", audit, NULL,
	    "invoke", "refill", "1", "invoke", "refill", "2",
	    "invoke", "refill", "3", "sleep", "1200",
	    "invoke", "refill", "4", "invoke", "refill", "5",
	    "invoke", "refill", "6", "sleep", "600",
	    "invoke", "refill", "7", "invoke", "refill", "8", NULL);
	cr_assert_str_eq(r.out, "ok 1\nok 2\nerror limited\nok 4\nok 5\n"
	    "error limited\nok 7\nerror limited\nok null\n");
	cr_assert_eq(AUDIT(audit, "\"channel\":\"refill\"", "\"reason\":\"rate\""), 3);
}

Test(limits, rate_applies_to_sends)
{
	const char *audit = e2e_audit_path("sendrate");

	run_calls("rates.json", audit, NULL, "send", "log", "\"a\"",
	    "send", "log", "\"b\"", "send", "log", "\"c\"", "send", "log", "\"d\"",
	    NULL);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"log\"", "\"decision\":\"allow\""), 2);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"log\"", "\"reason\":\"rate\""), 2);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"client-log\"", NULL), 2);
}

Test(limits, once_and_uses_count_successes_only)
{
	const char *audit = e2e_audit_path("uses");

	run_calls("uses.json", audit, NULL,
	    /* a failed call does not use up "once" */
	    "invoke", "hello", "\"toolong\"",
	    "invoke", "hello", "\"hi\"", "invoke", "hello", "\"hi\"",
	    "invoke", "thrice", "1", "invoke", "thrice", "2",
	    "invoke", "thrice", "3", "invoke", "thrice", "4", NULL);
	cr_assert_str_eq(r.out, "error invalid\nok \"hi\"\nerror denied\n"
	    "ok 1\nok 2\nok 3\nerror denied\nok null\n");
	cr_assert_eq(AUDIT(audit, "\"channel\":\"hello\"",
	    "\"reason\":\"uses-exhausted\""), 1);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"thrice\"",
	    "\"reason\":\"uses-exhausted\""), 1);
}

Test(limits, uses_apply_to_sends)
{
	const char *audit = e2e_audit_path("senduses");

	run_calls("uses.json", audit, NULL, "send", "note", "\"1\"",
	    "send", "note", "\"2\"", "send", "note", "\"3\"", NULL);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"client-log\"", NULL), 2);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"note\"",
	    "\"reason\":\"uses-exhausted\""), 1);
}

Test(limits, after_and_until_phases)
{
	const char *audit = e2e_audit_path("phases");
	const char *secrets[] = { "phase", NULL };

	run_calls("phases.json", audit, NULL,
	    "invoke", "files:list", "1",          /* not yet */
	    "invoke", "auth:login", "\"wrong\"",  /* fails: opens nothing */
	    "invoke", "files:list", "2",          /* still not yet */
	    "invoke", "auth:login", "\"secret\"",
	    "invoke", "files:list", "3",
	    "invoke", "admin:wipe", "4",          /* needs 2fa as well */
	    "invoke", "auth:2fa", "5",
	    "invoke", "admin:wipe", "6",
	    "invoke", "auth:logout", "7",
	    "invoke", "files:list", "8",          /* over */
	    "invoke", "admin:wipe", "9", NULL);   /* over */
	cr_assert_str_eq(r.out, "error denied\nerror invalid\nerror denied\n"
	    "ok \"secret\"\nok 3\nerror denied\nok 5\nok 6\nok 7\nerror denied\n"
	    "error denied\nok null\n");
	assert_opaque(secrets);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"files:list\"",
	    "\"reason\":\"phase-not-yet\""), 2);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"admin:wipe\"",
	    "\"reason\":\"phase-not-yet\""), 1);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"files:list\"",
	    "\"reason\":\"phase-over\""), 1);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"admin:wipe\"",
	    "\"reason\":\"phase-over\""), 1);
}

Test(limits, until_a_once_channel_closes_setup)
{
	const char *audit = e2e_audit_path("setup");

	run_calls("phases.json", audit, NULL,
	    "invoke", "setup:config", "1", "invoke", "setup:config", "2",
	    "invoke", "setup:done", "3", "invoke", "setup:config", "4",
	    "invoke", "setup:done", "5", NULL);
	cr_assert_str_eq(r.out, "ok 1\nok 2\nok 3\nerror denied\nerror denied\n"
	    "ok null\n");
	cr_assert_eq(AUDIT(audit, "\"channel\":\"setup:config\"",
	    "\"reason\":\"phase-over\""), 1);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"setup:done\"",
	    "\"reason\":\"uses-exhausted\""), 1);
}

/* A JSON string of n bytes in total (quotes included). */
static char *
json_string_of(size_t n)
{
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	memset(s, 'x', n);
	s[0] = s[n - 1] = '"';
	s[n] = '\0';
	return s;
}

Test(limits, per_channel_max_bytes)
{
	const char *audit = e2e_audit_path("maxbytes");
	/* 64-byte header + "small" (5) + body: 131 bytes fit in 200, 200 not */
	char *fits = json_string_of(131), *big = json_string_of(132);
	char *biggest = json_string_of(300);

	run_calls("sizes.json", audit, NULL, "invoke", "small", fits,
	    "invoke", "small", big, "send", "small:send", biggest,
	    "invoke", "any", biggest, NULL);
	cr_assert_eq(strncmp(r.out, "ok \"x", 5), 0, "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\nerror denied\nok \"x"), "%s", r.out);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"small\"", "\"reason\":\"too-big\""), 1);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"small:send\"",
	    "\"reason\":\"too-big\""), 1);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"any\"", "\"decision\":\"allow\""), 1);
	free(fits);
	free(big);
	free(biggest);
}

/* n nested arrays. */
static char *
nested(size_t n)
{
	char *s = malloc(2 * n + 1);

	cr_assert_not_null(s);
	memset(s, '[', n);
	memset(s + n, ']', n);
	s[2 * n] = '\0';
	return s;
}

Test(limits, json_depth_limit_and_ten_thousand_levels)
{
	const char *audit = e2e_audit_path("depth");
	char *ok = nested(16), *deep = nested(17), *deepest = nested(10000);

	/* the policy's limits.json_depth is 16 */
	run_calls("sizes.json", audit, NULL, "invoke", "any", ok,
	    "invoke", "any", deep, "invoke", "any", deepest, NULL);
	cr_assert_eq(strncmp(r.out, "ok [[[[", 7), 0, "%s", r.out);
	cr_assert_not_null(strstr(r.out, "]]]]\nerror invalid\nerror invalid\n"
	    "ok null\n"), "%s", r.out);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"any\"",
	    "\"reason\":\"json-too-deep\""), 2);
	free(ok);
	free(deep);
	free(deepest);
}

Test(limits, unknown_channel_is_not_found)
{
	const char *audit = e2e_audit_path("unknown");
	const char *secrets[] = { "not-found", NULL };

	run_calls("sizes.json", audit, NULL, "invoke", "nope", "1",
	    "send", "nope:send", "1", NULL);
	cr_assert_str_eq(r.out, "error denied\nok null\n");
	assert_opaque(secrets);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"nope\"", "\"decision\":\"deny\"",
	    "\"reason\":\"not-found\""), 1);
	cr_assert_eq(AUDIT(audit, "\"channel\":\"nope:send\"",
	    "\"reason\":\"not-found\""), 1);
}

Test(limits, two_clients_see_only_their_grants)
{
	const char *audit = e2e_audit_path("clients-worker");
	const char *audit2 = e2e_audit_path("clients-ui");
	const char *secrets[] = { "not-granted", NULL };

	run_calls("clients.json", audit, "worker",
	    "invoke", "ui:echo", "1", "invoke", "worker:echo", "2",
	    "invoke", "nope", "3", NULL);
	/* not granted and not found are the same answer */
	cr_assert_str_eq(r.out, "error denied\nok 2\nerror denied\nok null\n");
	assert_opaque(secrets);
	cr_assert_eq(AUDIT(audit, "\"client\":\"worker\"", "\"channel\":\"ui:echo\"",
	    "\"decision\":\"deny\"", "\"reason\":\"not-granted\""), 1);
	cr_assert_eq(AUDIT(audit, "\"client\":\"worker\"",
	    "\"channel\":\"worker:echo\"", "\"decision\":\"allow\""), 1);

	run_calls("clients.json", audit2, "ui",
	    "invoke", "worker:echo", "1", "send", "worker:log", "\"x\"",
	    "invoke", "ui:echo", "2", NULL);
	cr_assert_str_eq(r.out, "error denied\nok 2\nok null\n");
	cr_assert_eq(AUDIT(audit2, "\"client\":\"ui\"", "\"channel\":\"worker:echo\"",
	    "\"reason\":\"not-granted\""), 1);
	cr_assert_eq(AUDIT(audit2, "\"client\":\"ui\"", "\"channel\":\"worker:log\"",
	    "\"reason\":\"not-granted\""), 1);
	cr_assert_eq(audit_lines_count(audit2, "\"ev\":\"client-log\"", NULL), 0);
}
