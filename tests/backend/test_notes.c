/*
 * examples/notes end to end: the real front-end does its job, the hostile
 * one gets nothing, both under the example's own policy.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bk.h"

static struct bk_result r;
static char policy[700];

static void
setup(void)
{
	static char notes[600];

	snprintf(policy, sizeof(policy), "%s/policy.json",
	    NOTES_SRC);
	/* the backend stores the notes here, not in the source tree */
	snprintf(notes, sizeof(notes), "%s/notes-%d", bk_tmpdir(), (int)getpid());
	mkdir(notes, 0755);
	setenv("NOTES_DIR", notes, 1);
}

TestSuite(notes, .init = setup, .timeout = 60);

Test(notes, the_front_end_lists_reads_saves_and_deletes)
{
	const char *audit = bk_path("notes-ui.log");
	const char *argv[] = { "python3", "-I",
	    NOTES_SRC "/ui.py", "demo", NULL };

	bk_run(policy, audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert_not_null(strstr(r.out, "> list\nnotes: groceries, todo\n"), "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "groceries: milk, bread\n"));
	cr_assert_not_null(strstr(r.out, "(event: groceries deleted)"));
	cr_assert_not_null(strstr(r.out, "> read groceries\nerror: failed\n"));
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"notes\"",
	    "\"channel\":\"notes:changed\"", "delivered 1", NULL), 4);
}

Test(notes, the_hostile_front_end_gets_nothing)
{
	const char *audit = bk_path("notes-hostile.log");
	const char *argv[] = { "python3", "-I",
	    NOTES_SRC "/hostile.py", NULL };

	bk_run(policy, audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 0, "%d attempts got through:\n%s %s", r.status,
	    r.out, r.err);
	cr_assert_null(strstr(r.out, "GOT THROUGH"), "%s", r.out);
	cr_assert_geq(audit_lines_count(audit, "\"decision\":\"deny\"", NULL), 7);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"fs:read\"",
	    "\"reason\":\"not-found\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"notes:save\"",
	    "\"reason\":\"wrong-kind\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"audit:everything\"",
	    "\"kind\":\"subscribe\"", "\"reason\":\"not-found\"", NULL), 1);
	cr_assert_geq(audit_lines_count(audit, "\"reason\":\"request-schema\"", NULL), 4);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"violation\"", "\"name\":\"socket\"",
	    "\"action\":\"denied\"", NULL), 1);
	cr_assert_not_null(strstr(r.out, "denied (Operation not permitted): a TCP connection"),
	    "%s", r.out);
}

Test(notes, a_forged_frame_ends_the_hostile_front_end)
{
	const char *audit = bk_path("notes-fatal.log");
	const char *argv[] = { "python3", "-I",
	    NOTES_SRC "/hostile.py", "--fatal", NULL };

	bk_run(policy, audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 128 + 9, "status %d: %s %s", r.status, r.out, r.err);
	cr_assert_null(strstr(r.out, "GOT THROUGH"), "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"decision\"",
	    "\"reason\":\"frame-bad-seq\"", NULL), 1);
}

Test(notes, the_example_policy_is_lint_clean)
{
	char cmd[1600];

	snprintf(cmd, sizeof(cmd), "%s policy check --strict -q %s >/dev/null",
	    bk_capgate, policy);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}
