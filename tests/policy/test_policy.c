/*
 * The policy loader: every file in invalid/ must fail with the position and
 * message in its .expect file ("LINE:COL: text"); every file in valid/ and
 * the shipped policies/ must load.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gateway/handlers.h"
#include "policy/policy.h"
#include "policy/schema.h"

#ifndef POLICY_TEST_DIR
#error POLICY_TEST_DIR must be defined
#endif

static char *
slurp_line(const char *path)
{
	static char line[512];
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return line;
}

Test(policy, invalid_files_fail_at_their_position)
{
	DIR *d = opendir(POLICY_TEST_DIR "/invalid");
	struct dirent *e;
	int checked = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[1024], expect_path[1024], msg[2048], want[1200];
		struct cg_error err;
		struct cg_policy *p;
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/invalid/%s", POLICY_TEST_DIR, e->d_name);
		snprintf(expect_path, sizeof(expect_path), "%.*s.expect",
		    (int)(strlen(path) - 5), path);
		p = policy_load(path, handler_check, &err);
		cr_expect_null(p, "%s loaded but must fail", e->d_name);
		policy_free(p);
		cg_error_format(&err, msg, sizeof(msg));
		char *exp = slurp_line(expect_path);
		char *colon2 = strchr(strchr(exp, ':') + 1, ':');
		snprintf(want, sizeof(want), "%s:%.*s", path, (int)(colon2 - exp + 1), exp);
		cr_expect(strncmp(msg, want, strlen(want)) == 0,
		    "%s: got \"%s\", want prefix \"%s\"", e->d_name, msg, want);
		cr_expect(strstr(msg, colon2 + 1) != NULL,
		    "%s: got \"%s\", want text \"%s\"", e->d_name, msg, colon2 + 1);
		checked++;
	}
	closedir(d);
	cr_assert_geq(checked, 40, "only %d invalid policies found", checked);
}

static void
load_all_in(const char *dir, int min)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		char path[1024], msg[2048];
		struct cg_error err;
		struct cg_policy *p;
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		p = policy_load(path, handler_check, &err);
		cg_error_format(&err, msg, sizeof(msg));
		cr_expect_not_null(p, "%s must load: %s", path, msg);
		policy_free(p);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, min);
}

Test(policy, valid_and_shipped_policies_load)
{
	load_all_in(POLICY_TEST_DIR "/valid", 1);
	load_all_in(POLICY_SHIPPED_DIR, 1);
}

Test(policy, grants_and_lookup)
{
	struct cg_error err;
	struct cg_policy *p = policy_load(POLICY_TEST_DIR "/valid/two-clients.json",
	    handler_check, &err);
	const struct cg_client_policy *ui, *worker;
	int echo, time_ch, log_ch;

	cr_assert_not_null(p, "%s", err.msg);
	ui = policy_client(p, "ui");
	worker = policy_client(p, "worker");
	cr_assert_not_null(ui);
	cr_assert_not_null(worker);
	cr_assert_null(policy_client(p, "nobody"));
	echo = policy_channel_index(p, "ui:echo", 7);
	time_ch = policy_channel_index(p, "ui:time", 7);
	log_ch = policy_channel_index(p, "worker:log", 10);
	cr_assert(echo >= 0 && time_ch >= 0 && log_ch >= 0);
	cr_assert_eq(policy_channel_index(p, "ui:ech", 6), -1);
	cr_assert_eq(policy_channel_index(p, "ui:echo2", 8), -1);
	/* "ui:*" grants both ui channels and nothing else */
	cr_assert_geq(ui->slot[echo], 0);
	cr_assert_geq(ui->slot[time_ch], 0);
	cr_assert_lt(ui->slot[log_ch], 0);
	cr_assert_lt(worker->slot[echo], 0);
	cr_assert_geq(worker->slot[log_ch], 0);
	cr_assert_eq(p->channels[echo].rate.per_sec, 10.0);
	cr_assert_eq(p->channels[time_ch].uses, 1);
	cr_assert_eq(p->channels[time_ch].after, echo);
	policy_free(p);
}

Test(policy, ten_thousand_channels_load)
{
	char path[] = "/tmp/capgate-policy-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct cg_error err;
	struct cg_policy *p;

	cr_assert_not_null(f);
	fprintf(f, "{\"capgate\":1,\"channels\":{");
	for (int i = 0; i < 10000; i++)
		fprintf(f, "%s\"ch:%d\":{\"kind\":\"invoke\",\"to\":\"builtin:echo\"}",
		    i ? "," : "", i);
	fprintf(f, "}}");
	fclose(f);
	p = policy_load(path, handler_check, &err);
	unlink(path);
	cr_assert_not_null(p, "%s", err.msg);
	cr_assert_eq(p->nchannels, 10000);
	for (int i = 0; i < 10000; i += 997) {
		char name[32];
		snprintf(name, sizeof(name), "ch:%d", i);
		cr_assert_eq(policy_channel_index(p, name, strlen(name)), i);
	}
	cr_assert_eq(p->clients[0].nslots, 10000);
	policy_free(p);
}

/* --- the policy language ------------------------------------------------- */

static struct cg_policy *
load_valid(const char *name)
{
	char path[1024], msg[2048];
	struct cg_error err;
	struct cg_policy *p;

	snprintf(path, sizeof(path), "%s/valid/%s", POLICY_TEST_DIR, name);
	p = policy_load(path, handler_check, &err);
	cg_error_format(&err, msg, sizeof(msg));
	cr_assert_not_null(p, "%s", msg);
	return p;
}

static int
chan(const struct cg_policy *p, const char *name)
{
	int i = policy_channel_index(p, name, strlen(name));

	cr_assert_geq(i, 0, "no channel %s", name);
	return i;
}

Test(policy, burst_and_phase_lists)
{
	struct cg_policy *p = load_valid("phases-and-burst.json");
	const struct cg_channel *login = &p->channels[chan(p, "auth:login")];
	const struct cg_channel *list = &p->channels[chan(p, "files:list")];
	const struct cg_channel *log = &p->channels[chan(p, "app:log")];

	/* "3/min" with "burst": 1: one call, then one every 20 s */
	cr_assert_float_eq(login->rate.per_sec, 3.0 / 60.0, 1e-9);
	cr_assert_eq(login->rate.burst, 1.0);
	/* without "burst" the bucket holds one period's worth */
	cr_assert_eq(log->rate.burst, 10.0);
	cr_assert_eq(list->nafter, 2);
	cr_assert_eq(list->after_all[0], chan(p, "auth:hello"));
	cr_assert_eq(list->after_all[1], chan(p, "auth:login"));
	cr_assert_eq(list->nuntil, 1);
	cr_assert_eq(list->until_any[0], chan(p, "auth:logout"));
	cr_assert_eq(list->after, chan(p, "auth:hello"));
	cr_assert_eq(list->uses, 100);
	cr_assert_eq(p->channels[chan(p, "auth:hello")].uses, 1);
	cr_assert_not_null(login->request, "$ref to a definition compiles");
	policy_free(p);
}

Test(policy, lookup_grant_separates_not_found_from_not_granted)
{
	struct cg_policy *p = load_valid("phases-and-burst.json");
	const struct cg_client_policy *ui = policy_client(p, "ui");
	const struct cg_client_policy *logger = policy_client(p, "logger");
	int32_t slot = 99;

	cr_assert_eq(policy_lookup_grant(p, ui, "files:list", 10, &slot),
	    chan(p, "files:list"));
	cr_assert_geq(slot, 0);
	cr_assert_eq(ui->slot_channel[slot], (uint32_t)chan(p, "files:list"));
	cr_assert_eq(policy_lookup_grant(p, logger, "files:list", 10, &slot), -2);
	cr_assert_eq(policy_lookup_grant(p, ui, "app:log", 7, &slot), -2);
	cr_assert_eq(policy_lookup_grant(p, ui, "files:lis", 9, &slot), -1);
	cr_assert_eq(policy_lookup_grant(p, ui, "files:list2", 11, &slot), -1);
	policy_free(p);
}

/* Writes text to a temporary policy file; the caller unlinks it. */
static void
write_policy(char *path, const char *fmt, ...)
{
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	va_list ap;

	cr_assert_not_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static int
accept_any_handler(const char *handler, const struct cg_channel *ch,
    struct cg_error *err)
{
	(void)handler;
	(void)ch;
	(void)err;
	return 0;
}

Test(policy, phase_on_an_event_channel_is_an_error)
{
	char path[] = "/tmp/capgate-policy-XXXXXX";
	struct cg_error err;
	struct cg_policy *p;

	/* Events come from backends (not built in): accept any handler. */
	write_policy(path, "{\"capgate\":1,\"channels\":{\n"
	    "\"n:changed\":{\"kind\":\"event\",\"from\":\"notes\"},\n"
	    "\"n:list\":{\"kind\":\"invoke\",\"to\":\"notes\",\"after\":\"n:changed\"}}}");
	p = policy_load(path, accept_any_handler, &err);
	unlink(path);
	cr_assert_null(p);
	cr_assert_eq(err.line, 3);
	cr_assert_eq(err.column, 48);
	cr_assert_not_null(strstr(err.msg, "event channel"), "%s", err.msg);
}

static double
elapsed_s(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

Test(policy, pathological_regexes_load_and_validate_promptly, .timeout = 60)
{
	char path[] = "/tmp/capgate-policy-XXXXXX";
	struct cg_error err;
	struct cg_policy *p;
	struct timespec t0;
	char *evil;
	json_t *inst;

	/* Catastrophic-backtracking patterns: compiling them is cheap, and
	 * matching is bounded by the validator's PCRE2 match limits. */
	write_policy(path, "{\"capgate\":1,\"channels\":{"
	    "\"a\":{\"kind\":\"invoke\",\"to\":\"builtin:echo\","
	    "\"request\":{\"type\":\"string\",\"pattern\":\"^(a+)+$\"}},"
	    "\"b\":{\"kind\":\"invoke\",\"to\":\"builtin:echo\","
	    "\"request\":{\"type\":\"string\",\"pattern\":\"^(x+x+)+y$\"}}}}");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = policy_load(path, handler_check, &err);
	unlink(path);
	cr_assert_not_null(p, "%s", err.msg);
	evil = malloc(30001);
	memset(evil, 'a', 30000);
	evil[29999] = '!';
	evil[30000] = '\0';
	inst = json_string(evil);
	cr_assert_neq(schema_validate(p->channels[0].request, inst, &err), 0);
	memset(evil, 'x', 30000);
	json_string_set(inst, evil);
	cr_assert_neq(schema_validate(p->channels[1].request, inst, &err), 0);
	/* bounded work, not speed: a hang ends in the test's timeout */
	printf("load + two pathological matches: %.3f s\n", elapsed_s(&t0));
	json_decref(inst);
	free(evil);
	policy_free(p);
}

/* A chain of n definitions, each a $ref to the next. */
static struct cg_policy *
load_ref_chain(int n, struct cg_error *err, double *secs)
{
	char path[] = "/tmp/capgate-policy-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct timespec t0;
	struct cg_policy *p;

	cr_assert_not_null(f);
	fprintf(f, "{\"capgate\":1,\"definitions\":{\n");
	for (int i = 0; i < n; i++)
		fprintf(f, "\"d%d\":{\"$ref\":\"#/definitions/d%d\"},\n", i, i + 1);
	fprintf(f, "\"d%d\":{\"type\":\"string\"}},\n\"channels\":{\"a\":{"
	    "\"kind\":\"invoke\",\"to\":\"builtin:echo\",\"request\":{\"$ref\":"
	    "\"#/definitions/d0\"}}}}", n);
	fclose(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = policy_load(path, handler_check, err);
	*secs = elapsed_s(&t0);
	unlink(path);
	return p;
}

Test(policy, deep_ref_chains_load_or_fail_promptly, .timeout = 60)
{
	struct cg_error err;
	struct cg_policy *p;
	double secs;

	/* a short chain resolves */
	p = load_ref_chain(20, &err, &secs);
	cr_assert_not_null(p, "%s", err.msg);
	policy_free(p);
	/* a chain past the validator's limit fails, at a position, quickly:
	 * it cannot recurse without bound */
	p = load_ref_chain(5000, &err, &secs);
	cr_assert_null(p);
	cr_assert_gt(err.line, 1, "%d:%d %s", err.line, err.column, err.msg);
	printf("5,000-long $ref chain: %.3f s\n", secs);
}

Test(policy, schema_nested_ten_thousand_levels_fails_promptly)
{
	char path[] = "/tmp/capgate-policy-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct cg_error err;
	struct cg_policy *p;
	struct timespec t0;

	cr_assert_not_null(f);
	fprintf(f, "{\"capgate\":1,\"channels\":{\"a\":{\"kind\":\"invoke\","
	    "\"to\":\"builtin:echo\",\"request\":");
	for (int i = 0; i < 10000; i++)
		fprintf(f, "{\"not\":");
	fprintf(f, "{}");
	for (int i = 0; i < 10000; i++)
		fprintf(f, "}");
	fprintf(f, "}}}");
	fclose(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p = policy_load(path, handler_check, &err);
	unlink(path);
	cr_assert_null(p);
	cr_assert_geq(err.line, 1);
	cr_assert_gt(err.column, 1, "%s", err.msg);
	printf("deep $ref chain rejected in %.3f s\n", elapsed_s(&t0));
}

/* --- warnings ------------------------------------------------------------ */

struct seen {
	char lines[32][600];
	int n;
};

static void
collect(void *ctx, const char *pointer, int line, int column, const char *msg)
{
	struct seen *s = ctx;

	(void)pointer;
	if (s->n < 32)
		snprintf(s->lines[s->n], sizeof(s->lines[0]), "%d:%d: %s", line,
		    column, msg);
	s->n++;
}

static void
check_warnings(const char *name)
{
	char path[1024], expect[1024], want[600];
	struct cg_error err;
	struct seen s = { .n = 0 };
	struct cg_policy *p;
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/warnings/%s.json", POLICY_TEST_DIR, name);
	snprintf(expect, sizeof(expect), "%s/warnings/%s.expect", POLICY_TEST_DIR,
	    name);
	p = policy_load(path, handler_check, &err);
	cr_assert_not_null(p, "%s", err.msg);
	cr_assert_eq(policy_lint(p, collect, &s, &err), s.n);
	f = fopen(expect, "r");
	cr_assert_not_null(f);
	while (fgets(want, sizeof(want), f) != NULL) {
		char *text;
		want[strcspn(want, "\n")] = '\0';
		text = strchr(strchr(want, ':') + 1, ':') + 2;
		cr_assert_lt(n, s.n, "%s: missing warning %s", name, want);
		cr_expect(strncmp(s.lines[n], want, (size_t)(text - want)) == 0 &&
		    strstr(s.lines[n], text) != NULL, "%s: got \"%s\", want \"%s\"",
		    name, s.lines[n], want);
		n++;
	}
	fclose(f);
	cr_assert_eq(n, s.n, "%s: %d warnings, %d expected (first extra: %s)",
	    name, s.n, n, n < s.n ? s.lines[n] : "");
	policy_free(p);
}

Test(policy, warnings_name_their_position)
{
	check_warnings("open-objects");
	check_warnings("clean");
	check_warnings("unknown-keywords");
	check_warnings("ungranted");
	check_warnings("unchecked-formats");
}

static int
valid_as(const struct cg_policy *p, const char *channel, const char *json)
{
	json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
	int rc;

	cr_assert_not_null(v, "bad test JSON %s", json);
	rc = schema_validate(p->channels[chan(p, channel)].request, v, NULL);
	json_decref(v);
	return rc == 0;
}

/* With many definitions each schema is compiled against a view of the
 * document holding only the definitions it reaches: references through
 * several definitions, into a definition and into another channel must
 * resolve exactly as against the whole file. */
Test(policy, references_through_definitions_resolve)
{
	struct cg_policy *p = load_valid("many-definitions.json");

	cr_assert(valid_as(p, "user:set", "{\"name\":\"ann\",\"address\":{\"zip\":\"12345\"}}"));
	cr_assert(!valid_as(p, "user:set", "{\"name\":\"ann\",\"address\":{\"zip\":\"1234\"}}"));
	cr_assert(!valid_as(p, "user:set", "{\"name\":\"ann\",\"address\":{\"city\":\"x\"}}"));
	cr_assert(!valid_as(p, "user:set", "{\"name\":\"annabelle-x\"}"));
	cr_assert(!valid_as(p, "user:set", "{\"address\":{}}"));
	cr_assert(valid_as(p, "user:zip", "\"54321\""));
	cr_assert(!valid_as(p, "user:zip", "\"5432a\""));
	cr_assert(valid_as(p, "user:again", "{\"name\":\"bob\"}"));
	cr_assert(!valid_as(p, "user:again", "{\"name\":\"bob\",\"x\":1}"));
	policy_free(p);
}

/* --- every error at once (capgate policy check) ---------------------------- */

struct reports {
	struct cg_error e[16];
	int n;
};

static void
keep_report(void *ctx, const struct cg_error *err)
{
	struct reports *r = ctx;

	if (r->n < 16)
		r->e[r->n] = *err;
	r->n++;
}

Test(policy, load_all_reports_every_independent_error)
{
	static const int want[][2] = { { 3, 28 }, { 4, 29 }, { 6, 22 },
	    { 10, 40 }, { 12, 66 } };
	struct reports r = { .n = 0 };
	struct cg_error err;
	struct cg_policy *p;

	p = policy_load_all(POLICY_TEST_DIR "/multi/several-errors.json",
	    handler_check, keep_report, &r, &err);
	cr_assert_null(p);
	/* a:two's $ref to the broken definition fails at the definition:
	 * reported once; the client's grant is not checked while a channel
	 * is broken (it could be a consequence) */
	cr_assert_eq(r.n, 5, "%d errors, first: %s", r.n, r.e[0].msg);
	for (int i = 0; i < 5; i++)
		cr_expect(r.e[i].line == want[i][0] && r.e[i].column == want[i][1],
		    "error %d at %d:%d, want %d:%d (%s)", i, r.e[i].line,
		    r.e[i].column, want[i][0], want[i][1], r.e[i].msg);
	cr_assert_not_null(strstr(r.e[3].msg, "builtin:nope"));
	cr_assert_eq(err.line, 3);
	cr_assert_str_eq(err.msg, r.e[0].msg);
}

Test(policy, load_all_agrees_with_load_on_the_first_error)
{
	DIR *d = opendir(POLICY_TEST_DIR "/invalid");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[1024];
		struct cg_error one, all;
		struct reports r = { .n = 0 };
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/invalid/%s", POLICY_TEST_DIR,
		    e->d_name);
		cr_assert_null(policy_load(path, handler_check, &one));
		cr_assert_null(policy_load_all(path, handler_check, keep_report, &r,
		    &all));
		cr_assert_geq(r.n, 1, "%s: nothing reported", e->d_name);
		cr_expect(r.e[0].line == one.line && r.e[0].column == one.column &&
		    strcmp(r.e[0].msg, one.msg) == 0, "%s: first %d:%d %s, load says "
		    "%d:%d %s", e->d_name, r.e[0].line, r.e[0].column, r.e[0].msg,
		    one.line, one.column, one.msg);
		cr_expect(all.line == one.line && strcmp(all.msg, one.msg) == 0);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, 40);
	/* and a valid policy reports nothing */
	{
		struct reports r = { .n = 0 };
		struct cg_error err;
		struct cg_policy *p = policy_load_all(POLICY_TEST_DIR
		    "/valid/phases-and-burst.json", handler_check, keep_report, &r, &err);
		cr_assert_not_null(p, "%s", err.msg);
		cr_assert_eq(r.n, 0);
		policy_free(p);
	}
}

/* --- hostile edits ---------------------------------------------------------- */

/*
 * Random edits of every valid policy (bytes flipped, deleted, duplicated,
 * structural characters inserted) must each either load or fail with a
 * position inside the file, never crash or hang; a deterministic seed
 * keeps failures reproducible. Under ASan (CI) this also catches leaks and
 * overreads on error paths.
 */
static void
mutate(char *buf, size_t *len, size_t cap, unsigned *seed)
{
	static const char tokens[] = "{}[]\",:0-.eE\\ \n*?$/~";
	int edits = 1 + rand_r(seed) % 4;

	for (int k = 0; k < edits && *len > 1; k++) {
		size_t at = (size_t)rand_r(seed) % *len;
		switch (rand_r(seed) % 4) {
		case 0:
			buf[at] = tokens[rand_r(seed) % (sizeof(tokens) - 1)];
			break;
		case 1:
			memmove(buf + at, buf + at + 1, *len - at - 1);
			(*len)--;
			break;
		case 2:
			if (*len + 1 < cap) {
				memmove(buf + at + 1, buf + at, *len - at);
				buf[at] = tokens[rand_r(seed) % (sizeof(tokens) - 1)];
				(*len)++;
			}
			break;
		default:
			buf[at] = (char)(buf[at] ^ (1 << (rand_r(seed) % 7)));
			break;
		}
	}
}

Test(policy, random_edits_load_or_fail_with_a_position, .timeout = 120)
{
	static const char *const files[] = { "two-clients.json",
	    "phases-and-burst.json", "many-definitions.json", "docs-example.json" };
	unsigned seed = 20261121;
	int loaded = 0, failed = 0;

	for (size_t fi = 0; fi < sizeof(files) / sizeof(files[0]); fi++) {
		char path[1024], orig[8192], buf[8300];
		FILE *f;
		size_t olen;

		snprintf(path, sizeof(path), "%s/valid/%s", POLICY_TEST_DIR, files[fi]);
		f = fopen(path, "r");
		cr_assert_not_null(f);
		olen = fread(orig, 1, sizeof(orig), f);
		fclose(f);
		for (int i = 0; i < 400; i++) {
			char tmp[] = "/tmp/capgate-mutant-XXXXXX";
			int fd = mkstemp(tmp);
			size_t len = olen;
			struct cg_error err;
			struct cg_policy *p;
			struct reports r = { .n = 0 };

			memcpy(buf, orig, olen);
			mutate(buf, &len, sizeof(buf), &seed);
			cr_assert_eq(write(fd, buf, len), (ssize_t)len);
			close(fd);
			p = policy_load(tmp, handler_check, &err);
			if (p != NULL) {
				loaded++;
				policy_free(p);
			} else {
				failed++;
				cr_assert_geq(err.line, 1, "%s edit %d: no position: %s",
				    files[fi], i, err.msg);
				cr_assert_geq(err.column, 1);
				cr_assert_neq(err.msg[0], '\0');
			}
			p = policy_load_all(tmp, handler_check, keep_report, &r, &err);
			cr_assert_eq(p == NULL, r.n > 0, "%s edit %d", files[fi], i);
			policy_free(p);
			unlink(tmp);
		}
	}
	/* the edits must exercise both outcomes */
	cr_assert_gt(loaded, 20, "loaded %d", loaded);
	cr_assert_gt(failed, 200, "failed %d", failed);
}

/*
 * The grant rules against a brute-force reference: random channel names
 * and random globs for two clients. When the policy loads, every client's
 * slot table must be exactly "some grant fnmatches the name"; when it is
 * refused, the reason given must be true of the grant it names.
 */
static const char *const rnd_names[] = { "ui:echo", "ui:time", "ui:log",
	"bg:log", "bg:sync", "fs:read", "fs:write", "fs:list", "ui/x", "a.b" };
static const char *const rnd_globs[] = { "ui:*", "bg:*", "fs:*", "*:log",
	"ui:e*", "fs:[rw]*", "?s:*", "ui:echo", "bg:log", "fs:read", "zz:*",
	"*o*", "a.b", "ui/?", "*" };
#define RND_N(a) (sizeof(a) / sizeof((a)[0]))

static bool
glob_matches_any(const char *glob, unsigned used)
{
	for (size_t i = 0; i < RND_N(rnd_names); i++)
		if ((used & (1u << i)) && fnmatch(glob, rnd_names[i], 0) == 0)
			return true;
	return false;
}

static bool
covers(const char *a, const char *b, unsigned used)
{
	/* every used channel that a matches, b matches too */
	for (size_t i = 0; i < RND_N(rnd_names); i++)
		if ((used & (1u << i)) && fnmatch(a, rnd_names[i], 0) == 0 &&
		    fnmatch(b, rnd_names[i], 0) != 0)
			return false;
	return true;
}

Test(policy, grant_tables_match_a_brute_force_reference)
{
	unsigned seed = 4242;
	int loaded = 0, refused = 0;

	for (int round = 0; round < 1000; round++) {
		char path[] = "/tmp/capgate-grants-XXXXXX";
		int fd = mkstemp(path);
		FILE *f = fdopen(fd, "w");
		unsigned used = 0;
		size_t g[2][3], ng[2];
		struct cg_error err;
		struct cg_policy *p;

		while (used == 0)
			used = (unsigned)rand_r(&seed) & ((1u << RND_N(rnd_names)) - 1);
		fprintf(f, "{\"capgate\":1,\"channels\":{");
		for (size_t i = 0, n = 0; i < RND_N(rnd_names); i++)
			if (used & (1u << i))
				fprintf(f, "%s\"%s\":{\"kind\":\"invoke\",\"to\":"
				    "\"builtin:echo\"}", n++ ? "," : "", rnd_names[i]);
		fprintf(f, "},\"clients\":{");
		for (int c = 0; c < 2; c++) {
			ng[c] = 1 + (size_t)rand_r(&seed) % 3;
			fprintf(f, "%s\"c%d\":{\"grants\":[", c ? "," : "", c);
			for (size_t k = 0; k < ng[c]; k++) {
				g[c][k] = (size_t)rand_r(&seed) % RND_N(rnd_globs);
				fprintf(f, "%s\"%s\"", k ? "," : "", rnd_globs[g[c][k]]);
			}
			fprintf(f, "]}");
		}
		fprintf(f, "}}");
		fclose(f);
		p = policy_load(path, handler_check, &err);
		unlink(path);
		if (p == NULL) {
			const char *q = strchr(err.msg, '"');
			char glob[64] = "";
			refused++;
			cr_assert_not_null(q, "%s", err.msg);
			sscanf(q + 1, "%63[^\"]", glob);
			if (strstr(err.msg, "matches no channel"))
				cr_assert(!glob_matches_any(glob, used), "%s", err.msg);
			else if (strstr(err.msg, "every channel"))
				cr_assert_str_eq(glob, "*");
			else if (strstr(err.msg, "listed twice") == NULL) {
				const char *by = strstr(err.msg, "covered by grant \"");
				char other[64] = "";
				cr_assert_not_null(by, "unexpected refusal: %s", err.msg);
				sscanf(by + 18, "%63[^\"]", other);
				cr_assert(covers(glob, other, used), "%s", err.msg);
			}
			continue;
		}
		loaded++;
		/* nothing the rules forbid got through */
		for (int c = 0; c < 2; c++)
			for (size_t a = 0; a < ng[c]; a++) {
				const char *ga = rnd_globs[g[c][a]];
				cr_assert(glob_matches_any(ga, used), "%s", ga);
				cr_assert_str_neq(ga, "*");
				for (size_t b = 0; b < ng[c]; b++)
					cr_assert(a == b || !covers(ga, rnd_globs[g[c][b]],
					    used), "\"%s\" covered by \"%s\" loaded", ga,
					    rnd_globs[g[c][b]]);
			}
		for (int c = 0; c < 2; c++) {
			char name[4];
			snprintf(name, sizeof(name), "c%d", c);
			const struct cg_client_policy *cl = policy_client(p, name);
			for (size_t i = 0; i < RND_N(rnd_names); i++) {
				bool want = false;
				int idx = policy_channel_index(p, rnd_names[i],
				    strlen(rnd_names[i]));
				if (!(used & (1u << i))) {
					cr_assert_eq(idx, -1);
					continue;
				}
				for (size_t k = 0; k < ng[c]; k++)
					want |= fnmatch(rnd_globs[g[c][k]], rnd_names[i], 0) == 0;
				cr_assert_eq(cl->slot[idx] >= 0, want, "%s %s", name,
				    rnd_names[i]);
				if (want)
					cr_assert_eq(cl->slot_channel[cl->slot[idx]],
					    (uint32_t)idx);
			}
		}
		policy_free(p);
	}
	cr_assert_gt(loaded, 30, "loaded %d", loaded);
	cr_assert_gt(refused, 30, "refused %d", refused);
}
