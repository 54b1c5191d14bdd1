/*
 * Valgrind memcheck over the real capgate binary: every run below must end
 * without a memory error or a definite/indirect leak (valgrind exits 99
 * otherwise), and with the exit status the command promises.
 *
 * What cannot run under valgrind: building the sandbox. Valgrind 3.19
 * (Debian 12) does not implement seccomp(2), landlock_create_ruleset(2) or
 * pidfd_open(2), so libseccomp refuses the notify filter: `capgate run`
 * cannot start a client, and `policy check|show`, which build the filter
 * as a last check, report "seccomp_init failed" after every other check of
 * the file has run (valid policies are therefore checked here for that one
 * error and no other). The event loop's memory is
 * checked instead by the AddressSanitizer/LeakSanitizer build that CI runs
 * every end-to-end, fault, bound and abuse test under (.ci/run).
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

TestSuite(valgrind, .timeout = 300);

static char vg_output[1 << 16];

/* Runs capgate ARGS... under valgrind; returns its exit status. Its
 * output (stdout and stderr) is left in vg_output. */
static int
vg(const char *const *args)
{
	const char *v[64] = { "valgrind", "-q", "--error-exitcode=99",
	    "--leak-check=full", "--show-leak-kinds=definite,indirect",
	    "--errors-for-leak-kinds=definite,indirect", e2e_capgate };
	size_t n = 7;
	char out[512];
	int st;
	pid_t pid;

	snprintf(out, sizeof(out), "%s/vg-%d.out", e2e_tmpdir(), (int)getpid());
	for (size_t i = 0; args[i] != NULL && n < 63; i++)
		v[n++] = args[i];
	v[n] = NULL;
	pid = fork();
	if (pid == 0) {
		if (freopen(out, "w", stdout) == NULL ||
		    freopen(out, "a", stderr) == NULL)
			_exit(125);
		execvp(v[0], (char *const *)(uintptr_t)v);
		_exit(126);
	}
	waitpid(pid, &st, 0);
	st = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	snprintf(vg_output, sizeof(vg_output), "%s", fault_slurp(out));
	cr_assert_neq(st, 99, "valgrind found errors in capgate %s %s:\n%s",
	    args[0], args[1] ? args[1] : "", fault_slurp(out));
	cr_assert_neq(st, 126, "valgrind is not installed");
	return st;
}

static void
setup(void)
{
	if (access("/usr/bin/valgrind", X_OK) != 0) {
		if (getenv("CAPGATE_REQUIRE_ALL") != NULL)
			cr_assert_fail("valgrind is required (scripts/setup)");
		cr_skip_test("valgrind is not installed");
	}
}

/* Every "error:" line of the output is the sandbox's seccomp_init one. */
static bool
only_seccomp_error(void)
{
	int errors = 0, seccomp = 0;

	for (char *l = vg_output; l != NULL && *l != '\0'; ) {
		char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);
		char line[1024];
		snprintf(line, sizeof(line), "%.*s", (int)len, l);
		if (strstr(line, "error:") != NULL) {
			errors++;
			seccomp += strstr(line, "seccomp_init failed") != NULL;
		}
		l = nl ? nl + 1 : NULL;
	}
	return errors > 0 && errors == seccomp;
}

Test(valgrind, policy_check_and_show, .init = setup)
{
	static const char *const valid[] = { "policies/demo.json",
	    "policies/strict.json", "policies/python.json",
	    "tests/policy/valid/two-clients.json", "tests/abuse/abuse.json", NULL };
	static const char *const invalid[] = {
	    "tests/policy/invalid/duplicate-key.json",
	    "tests/policy/invalid/syntax-trailing-comma.json",
	    "tests/policy/invalid/wrong-version.json",
	    "tests/policy/invalid/limits-type.json",
	    "tests/policy/invalid/unknown-handler.json",
	    "tests/faults/policies/reload-broken.json", NULL };
	char path[600];

	for (size_t i = 0; valid[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", SOURCE_ROOT, valid[i]);
		int st = vg((const char *[]){ "policy", "check", path, NULL });
		cr_assert(st == 0 || (st == 1 && only_seccomp_error()), "%s: %s",
		    valid[i], vg_output);
	}
	snprintf(path, sizeof(path), "%s/policies/demo.json", SOURCE_ROOT);
	int st = vg((const char *[]){ "policy", "show", path, NULL });
	cr_assert(st == 0 || (st == 1 && only_seccomp_error()), "%s", vg_output);
	for (size_t i = 0; invalid[i] != NULL; i++) {
		snprintf(path, sizeof(path), "%s/%s", SOURCE_ROOT, invalid[i]);
		cr_assert_eq(vg((const char *[]){ "policy", "check", path, NULL }),
		    1, "%s", invalid[i]);
		/* the file's own error is found, not just the sandbox's */
		cr_assert(!only_seccomp_error(), "%s: %s", invalid[i], vg_output);
	}
}

Test(valgrind, schema_validate, .init = setup)
{
	char schema[600], good[600], bad[600];

	snprintf(schema, sizeof(schema), "%s/schema-%d.json", e2e_tmpdir(), (int)getpid());
	snprintf(good, sizeof(good), "%s/good-%d.json", e2e_tmpdir(), (int)getpid());
	snprintf(bad, sizeof(bad), "%s/bad-%d.json", e2e_tmpdir(), (int)getpid());
	fault_write_file(schema, "{\"type\":\"object\",\"required\":[\"a\"],"
	    "\"properties\":{\"a\":{\"type\":\"string\",\"pattern\":\"^x+$\","
	    "\"format\":\"hostname\"},\"b\":{\"$ref\":\"#/definitions/n\"}},"
	    "\"definitions\":{\"n\":{\"type\":\"integer\",\"minimum\":3}}}");
	fault_write_file(good, "{\"a\":\"xx\",\"b\":4}");
	fault_write_file(bad, "{\"a\":\"yy\",\"b\":1}");
	cr_assert_eq(vg((const char *[]){ "schema", "validate", schema, good, NULL }), 0);
	cr_assert_eq(vg((const char *[]){ "schema", "validate", schema, bad, NULL }), 1);
}

/* A sealed log written by a real (unvalgrinded) run, then verified, shown
 * and summarised under valgrind, intact and damaged. */
Test(valgrind, audit_review_tools, .init = setup)
{
	const char *base = fault_keygen("vg");
	const char *argv[] = { fault_peer, "stdin", NULL };
	char key[600], pub[600], log[600], cut[600], flip[600];
	struct fault_gw g;
	const char *text;
	size_t len;

	snprintf(key, sizeof(key), "%s.key", base);
	snprintf(pub, sizeof(pub), "%s.pub", base);
	snprintf(log, sizeof(log), "%s", e2e_audit_path("vg"));
	fault_start(&g, NULL, fault_policy_copy("reload-a.json", "vg"), log, key,
	    argv);
	fault_say(&g, "stay \"a\"");
	fault_say(&g, "nope 1");
	fault_say(&g, "once 1");
	fault_say(&g, "once 2");
	fault_close_stdin(&g);
	cr_assert_eq(e2e_wait(g.pid, 30), 0, "%s", fault_slurp(g.err));

	cr_assert_eq(vg((const char *[]){ "audit", "verify", log, "--key", pub, NULL }), 0);
	cr_assert_eq(vg((const char *[]){ "audit", "show", log, NULL }), 0);
	cr_assert_eq(vg((const char *[]){ "audit", "stats", log, NULL }), 0);

	text = fault_slurp(log);
	len = strlen(text);
	snprintf(cut, sizeof(cut), "%s.cut", log);
	snprintf(flip, sizeof(flip), "%s.flip", log);
	{
		char *t = strdup(text);
		t[len - 30] = '\0';              /* torn last record */
		fault_write_file(cut, t);
		memcpy(t, text, len + 1);
		char *d = strstr(t, "\"stay\"");
		cr_assert_not_null(d);
		d[1] = 'S';                      /* altered record */
		fault_write_file(flip, t);
		free(t);
	}
	cr_assert_eq(vg((const char *[]){ "audit", "verify", cut, "--key", pub, NULL }), 2);
	cr_assert_eq(vg((const char *[]){ "audit", "verify", flip, "--key", pub, NULL }), 1);
	cr_assert_eq(vg((const char *[]){ "audit", "show", flip, NULL }), 0);
}

Test(valgrind, keygen_and_run_error_paths, .init = setup)
{
	char base[600], bad[600];

	snprintf(base, sizeof(base), "%s/vgkey-%d", e2e_tmpdir(), (int)getpid());
	cr_assert_eq(vg((const char *[]){ "keygen", base, NULL }), 0);
	/* refuses to overwrite */
	cr_assert_neq(vg((const char *[]){ "keygen", base, NULL }), 0);
	snprintf(bad, sizeof(bad), "%s/tests/faults/policies/reload-broken.json",
	    SOURCE_ROOT);
	cr_assert_eq(vg((const char *[]){ "run", "--policy", bad, "--", "/bin/true",
	    NULL }), 2);
	cr_assert_eq(vg((const char *[]){ "run", NULL }), 2);
}
