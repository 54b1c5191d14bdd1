/*
 * Sender verification through the real binaries: every way a front-end can
 * lie about a frame is rejected before the frame's JSON is parsed, audited,
 * and (by default) ends the client; with on_violation "deny" the frame is
 * dropped and the legitimate client carries on.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../e2e/harness.h"

static char policy_buf[1024];
static struct e2e_result r;

static const char *
policy(const char *name)
{
	snprintf(policy_buf, sizeof(policy_buf), "%s/%s", e2e_policy_dir, name);
	return policy_buf;
}

static void
check_uid(void)
{
	const char *uid = getenv("CAPGATE_TEST_UID");

	if (uid != NULL && *uid != '\0' && geteuid() != 0) {
		if (getenv("CAPGATE_REQUIRE_ALL") != NULL &&
		    strcmp(getenv("CAPGATE_REQUIRE_ALL"), "1") == 0 &&
		    getenv("CAPGATE_ALLOW_NONROOT") == NULL)
			cr_assert_fail("CAPGATE_TEST_UID needs root to switch uid");
		cr_skip_test("already unprivileged: the setpriv variant needs root");
	}
}

TestSuite(sender, .init = check_uid, .timeout = 60);

struct attack {
	const char *mode;
	const char *reason;
};

static const struct attack attacks[] = {
	{ "bitflip", "frame-bad-mac" },
	{ "badmac", "frame-bad-mac" },
	{ "truncated", "frame-bad-length" },
	{ "skip-seq", "frame-bad-seq" },
	{ "repeat-seq", "frame-bad-seq" },
};

static void
run_attack(const struct attack *a, const char *pol, int want_status)
{
	char name[64];
	const char *audit;
	const char *argv[] = { e2e_hostile, "tamper", a->mode, NULL };

	snprintf(name, sizeof(name), "%s-%s", a->mode, pol);
	audit = e2e_audit_path(name);
	e2e_run(policy(pol), audit, NULL, argv, 20, &r);
	cr_assert_eq(r.status, want_status, "%s under %s: status %d, out %s",
	    a->mode, pol, r.status, r.out);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"decision\"", a->reason, NULL), 1,
	    "%s: no audited %s", a->mode, a->reason);
	/* the tampered body never reached a handler */
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"echo\"",
	    "\"decision\":\"allow\"", NULL), want_status == 0 ?
	    (strcmp(a->mode, "repeat-seq") == 0 ? 2 : 1) : strcmp(a->mode,
	    "repeat-seq") == 0 ? 1 : 0);
}

Test(sender, tampered_frames_end_the_client_by_default)
{
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		run_attack(&attacks[i], "basic.json", 128 + SIGKILL);
}

Test(sender, tampered_frames_are_dropped_and_the_client_carries_on_when_policy_says_deny)
{
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		run_attack(&attacks[i], "lenient.json", 0);
		cr_assert_str_eq(r.out + strlen(r.out) - strlen("ok \"intact\"\n"),
		    "ok \"intact\"\n", "%s: %s", attacks[i].mode, r.out);
	}
}

Test(sender, forked_child_is_refused_and_named_in_the_audit)
{
	const char *audit = e2e_audit_path("fork-kill");
	const char *argv[] = { e2e_hostile, "fork-send", NULL };

	e2e_run(policy("basic.json"), audit, NULL, argv, 20, &r);
	/* default policy: the client that let another process speak ends */
	cr_assert_eq(r.status, 128 + SIGKILL, "status %d out %s", r.status, r.out);
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"forged-sender\"",
	    "is not client pid", NULL), 1);
}

Test(sender, the_key_is_not_in_the_environment_or_argv)
{
	const char *audit = e2e_audit_path("keyenv");
	const char *argv[] = { e2e_hostile, "keyenv", NULL };

	e2e_run(policy("basic.json"), audit, NULL, argv, 20, &r);
	cr_assert_eq(r.status, 0, "%s", r.err);
	/* the key is only in the pipe: 32 bytes, and nowhere else */
	char *hex = strrchr(r.out, '\n');
	cr_assert_not_null(hex);
	char *last = r.out + strlen(r.out);
	while (last > r.out && last[-1] == '\n')
		last--;
	*last = '\0';
	hex = strrchr(r.out, '\n') + 1;
	cr_assert_eq(strlen(hex), 64, "key hex: %s", hex);
	*(hex - 1) = '\0';
	cr_assert_null(strstr(r.out, hex), "key found in the environment");
	FILE *f = fopen(audit, "r");
	char line[8192];
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		cr_assert_null(strstr(line, hex), "key found in the audit log");
	if (f != NULL)
		fclose(f);
}

Test(sender, a_client_that_keeps_forging_is_ended_even_under_deny)
{
	const char *audit = e2e_audit_path("violation-flood");
	const char *argv[] = { e2e_hostile, "garbage-flood", "1000", NULL };

	/* on_violation "deny" tolerates a bad frame, not a flood of them: the
	 * audit log must not grow at socket speed */
	e2e_run(policy("lenient.json"), audit, NULL, argv, 20, &r);
	cr_assert_eq(r.status, 128 + SIGKILL, "status %d out %s", r.status, r.out);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"decision\"",
	    "\"reason\":\"frame-bad-magic\"", NULL), 65);
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"too-many-violations\"",
	    NULL), 1);
}
