/*
 * `capgate policy check` and `capgate policy show` as a policy author uses
 * them: the real binary, its exit status and what it prints.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef CAPGATE_BIN
#error CAPGATE_BIN must be defined
#endif

static char out[1 << 16];

/* Runs capgate with args (a shell word list), stdout and stderr together. */
static int
capgate(const char *args)
{
	char cmd[4096];
	size_t n = 0;
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' %s 2>&1", POLICY_TEST_DIR,
	    CAPGATE_BIN, args);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int
count(const char *needle)
{
	int n = 0;

	for (const char *s = out; (s = strstr(s, needle)) != NULL; s++)
		n++;
	return n;
}

Test(policy_cli, check_reports_an_error_at_its_position_and_fails)
{
	cr_assert_eq(capgate("policy check invalid/grant-twice.json"), 1, "%s", out);
	cr_assert_str_eq(out, "invalid/grant-twice.json:7:57: error: grant "
	    "\"ui:echo\" is listed twice (also at index 0)\n");
}

Test(policy_cli, check_goes_on_after_a_bad_file)
{
	cr_assert_eq(capgate("policy check invalid/phase-cycle.json "
	    "warnings/clean.json invalid/ref-missing-definition.json"), 1, "%s", out);
	cr_assert_not_null(strstr(out, "invalid/phase-cycle.json:5:61: error: "));
	cr_assert_not_null(strstr(out, "warnings/clean.json: ok (2 channels, "
	    "1 clients, 0 warnings"));
	cr_assert_not_null(strstr(out, "invalid/ref-missing-definition.json:7:60: "
	    "error: schema does not compile"));
}

Test(policy_cli, warnings_exit_zero_unless_strict)
{
	cr_assert_eq(capgate("policy check warnings/open-objects.json"), 0, "%s", out);
	cr_assert_eq(count(": warning: "), 6, "%s", out);
	cr_assert_not_null(strstr(out, "warnings/open-objects.json:13:17: warning: "
	    "channel \"geo:ping\" has no \"max_bytes\""), "%s", out);
	cr_assert_eq(capgate("policy check --strict warnings/open-objects.json"), 1);
	cr_assert_eq(capgate("policy check --strict warnings/clean.json"), 0, "%s", out);
	cr_assert_eq(capgate("policy check -q warnings/clean.json"), 0);
	cr_assert_str_eq(out, "");
	cr_assert_eq(capgate("policy check"), 2);
}

/* Column where the cell starting with text begins on the line containing
 * row (which must be unique in out). */
static long
column_of(const char *row, const char *text)
{
	const char *line = strstr(out, row), *cell;

	cr_assert_not_null(line, "no row \"%s\" in\n%s", row, out);
	cell = strstr(line, text);
	cr_assert_not_null(cell);
	return cell - line;
}

Test(policy_cli, show_prints_an_aligned_table_per_client)
{
	cr_assert_eq(capgate("policy show valid/phases-and-burst.json"), 0, "%s", out);
	cr_assert_not_null(strstr(out, "client ui: 4 channels, grants "
	    "[\"auth:*\",\"files:list\"]\n"), "%s", out);
	cr_assert_not_null(strstr(out, "client logger: 1 channel, grants "
	    "[\"app:log\"]\n"), "%s", out);
	/* the logger's table does not list the ui's channels */
	cr_assert_eq(count("auth:login  invoke"), 1, "%s", out);
	cr_assert_not_null(strstr(out, "3/min burst 1"));
	cr_assert_not_null(strstr(out, "after auth:hello,auth:login until auth:logout"));
	/* aligned: each cell starts under its header */
	cr_assert_eq(column_of("  CHANNEL     KIND", "RATE"),
	    column_of("  auth:login ", "3/min"));
	cr_assert_eq(column_of("  CHANNEL     KIND", "PHASE"),
	    column_of("  files:list ", "after "));
	cr_assert_eq(column_of("  CHANNEL     KIND", "USES"),
	    column_of("  files:list ", "100 "));
}

Test(policy_cli, show_json_is_machine_readable)
{
	json_error_t jerr;
	json_t *doc, *ui, *list = NULL, *ch;
	size_t i;

	cr_assert_eq(capgate("policy show --json valid/phases-and-burst.json"), 0);
	doc = json_loads(out, 0, &jerr);
	cr_assert_not_null(doc, "%s: %s", jerr.text, out);
	ui = json_array_get(json_object_get(doc, "clients"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(ui, "client")), "ui");
	cr_assert_eq(json_array_size(json_object_get(ui, "channels")), 4);
	json_array_foreach(json_object_get(ui, "channels"), i, ch)
		if (strcmp(json_string_value(json_object_get(ch, "channel")),
		    "files:list") == 0)
			list = ch;
	cr_assert_not_null(list);
	cr_assert_eq(json_integer_value(json_object_get(list, "uses")), 100);
	cr_assert_eq(json_array_size(json_object_get(list, "after")), 2);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(list,
	    "until"), 0)), "auth:logout");
	cr_assert_eq(json_real_value(json_object_get(json_object_get(list, "rate"),
	    "burst")), 20.0);
	json_decref(doc);
	cr_assert_eq(capgate("policy show invalid/phase-self.json"), 1);
	cr_assert_not_null(strstr(out, "invalid/phase-self.json:4:61: error: "));
	cr_assert_eq(capgate("policy show"), 2);
}

Test(policy_cli, check_reports_every_independent_error)
{
	cr_assert_eq(capgate("policy check multi/several-errors.json"), 1, "%s", out);
	cr_assert_eq(count(": error: "), 5, "%s", out);
	cr_assert_eq(strstr(out, "multi/several-errors.json:3:28: error: invalid "
	    "variable name\n"), out, "%s", out);
	cr_assert_not_null(strstr(out, "multi/several-errors.json:12:66: error: "
	    "expected a rate"), "%s", out);
}
