/*
 * Faults, end to end with the real binaries: a client killed in the middle
 * of its traffic, the audit log's disk filling up, SIGTERM under traffic,
 * and SIGHUP with a good and with a broken policy.
 *
 * Not here yet: a backend killed mid-reply and a backend that never
 * answers (backends are being added on another branch).
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

TestSuite(faults, .timeout = 90);

static char policy[600];

static const char *
pol(const char *name)
{
	snprintf(policy, sizeof(policy), "%s/%s", fault_policy_dir, name);
	return policy;
}

/* Allow decisions for a channel in a log. */
static int
allowed(const char *audit, const char *channel)
{
	char ch[160];

	snprintf(ch, sizeof(ch), "\"channel\":\"%s\"", channel);
	return audit_lines_count(audit, "\"ev\":\"decision\"", ch,
	    "\"decision\":\"allow\"", NULL);
}

Test(faults, client_killed_mid_flood_is_reaped_and_the_log_stays_clean)
{
	const char *audit = e2e_audit_path("killed");
	const char *key = fault_keygen("killed");
	const char *argv[] = { fault_peer, "flood", "echo", "\"x\"", NULL };
	char keyp[600], pub[600], out[2048];
	struct fault_gw g;
	pid_t child;
	int st;

	snprintf(keyp, sizeof(keyp), "%s.key", key);
	snprintf(pub, sizeof(pub), "%s.pub", key);
	fault_start(&g, NULL, pol("traffic.json"), audit, keyp, argv);
	cr_assert_eq(fault_wait_for(g.out, "ready", 1, 10000), 0, "%s",
	    fault_slurp(g.err));
	fault_say(&g, "go");
	cr_assert_eq(fault_wait_for(g.out, "flooding", 1, 10000), 0);
	usleep(200000);    /* well into the flood: replies are queued */
	child = fault_child(g.pid);
	cr_assert_gt(child, 0);
	cr_assert_eq(kill(child, SIGKILL), 0);
	st = e2e_wait(g.pid, 30);
	fault_close_stdin(&g);
	cr_assert_eq(st, 128 + SIGKILL, "status %d: %s", st, fault_slurp(g.err));
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"exit\"", "\"how\":\"signal\"",
	    NULL), 1);
	cr_assert_gt(allowed(audit, "echo"), 0);
	/* every frame that arrived was decided; the log closed cleanly */
	cr_assert_eq(fault_verify(audit, pub, out, sizeof(out)), 0, "%s", out);
}

Test(faults, sigterm_under_traffic_shuts_down_cleanly_and_loses_nothing)
{
	const char *audit = e2e_audit_path("sigterm");
	const char *key = fault_keygen("sigterm");
	const char *argv[] = { fault_peer, "loop", "echo", "\"x\"", NULL };
	char keyp[600], pub[600], out[2048], last[64] = "";
	struct fault_gw g;
	long n = -1;
	int st;

	snprintf(keyp, sizeof(keyp), "%s.key", key);
	snprintf(pub, sizeof(pub), "%s.pub", key);
	fault_start(&g, NULL, pol("traffic.json"), audit, keyp, argv);
	cr_assert_eq(fault_wait_for(g.out, "ok", 2000, 20000), 0, "%s",
	    fault_slurp(g.err));
	cr_assert_eq(kill(g.pid, SIGTERM), 0);
	st = e2e_wait(g.pid, 30);
	fault_close_stdin(&g);
	/* the client got the signal (its handler prints "term N", exits 0) */
	cr_assert_eq(st, 0, "status %d: %s", st, fault_slurp(g.err));
	const char *o = fault_slurp(g.out);
	const char *t = strstr(o, "term ");
	cr_assert_not_null(t, "%s", o);
	cr_assert_eq(sscanf(t, "term %ld%63s", &n, last), 1);
	/* every answer the client got has its record, and no more */
	cr_assert_eq(fault_count(g.out, "ok"), n);
	cr_assert_eq(allowed(audit, "echo"), n);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"signal\"", "\"signal\":15",
	    NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"stop\"", NULL), 1);
	cr_assert_eq(fault_verify(audit, pub, out, sizeof(out)), 0, "%s", out);
	cr_assert_not_null(strstr(out, "intact"), "%s", out);
}

/*
 * The audit log's file may grow only to a few KiB (RLIMIT_FSIZE on the
 * gateway, through prlimit): once a write fails the gateway fails closed.
 * Every request after that is answered "unavailable", the reason is on
 * stderr, and every "ok" the client saw has its allow record in the log.
 */
Test(faults, audit_disk_full_fails_closed_and_loses_no_acknowledged_record)
{
	const char *audit = e2e_audit_path("diskfull");
	const char *pre[] = { "prlimit", "--fsize=24576:unlimited", "--", NULL };
	const char *argv[] = { fault_peer, "loop", "echo", "\"x\"", "400", NULL };
	struct fault_gw g;
	int st, ok, unavailable;

	unlink(audit);
	fault_start(&g, pre, pol("traffic.json"), audit, NULL, argv);
	st = e2e_wait(g.pid, 60);
	fault_close_stdin(&g);
	cr_assert_eq(st, 0, "status %d: %s", st, fault_slurp(g.err));
	ok = fault_count(g.out, "ok");
	unavailable = fault_count(g.out, "error unavailable");
	cr_assert_eq(ok + unavailable, 400, "%s", fault_slurp(g.out));
	cr_assert_gt(ok, 0);
	cr_assert_gt(unavailable, 0, "the log never filled up");
	/* once unavailable, always unavailable: no "ok" after the first */
	const char *o = fault_slurp(g.out);
	const char *first = strstr(o, "error unavailable");
	cr_assert_null(strstr(first, "\nok\n"), "ok after unavailable");
	cr_assert_not_null(strstr(fault_slurp(g.err), "audit log cannot be written"),
	    "%s", fault_slurp(g.err));
	cr_assert_geq(allowed(audit, "echo"), ok, "acknowledged %d, recorded %d",
	    ok, allowed(audit, "echo"));
}

/* The hash a reload event names, from the last reload record. */
static void
reload_hash(const char *audit, const char *field, char *out, size_t len)
{
	FILE *f = fopen(audit, "r");
	char *line = NULL;
	size_t cap = 0;

	out[0] = '\0';
	cr_assert_not_null(f);
	while (getline(&line, &cap, f) > 0) {
		if (strstr(line, "\"ev\":\"reload\"") == NULL)
			continue;
		json_t *rec = json_loads(line, 0, NULL);
		const char *h = json_string_value(json_object_get(rec, field));
		snprintf(out, len, "%s", h ? h : "");
		json_decref(rec);
	}
	free(line);
	fclose(f);
}

Test(faults, sighup_swaps_the_policy_atomically_and_keeps_state)
{
	const char *audit = e2e_audit_path("reload");
	const char *key = fault_keygen("reload");
	const char *path = fault_policy_copy("reload-a.json", "reload");
	const char *argv[] = { fault_peer, "stdin", NULL };
	char keyp[600], pub[600], out[2048], newhash[80], oldhash[80], pat[200];
	struct fault_gw g;
	int st;

	snprintf(keyp, sizeof(keyp), "%s.key", key);
	snprintf(pub, sizeof(pub), "%s.pub", key);
	fault_start(&g, NULL, path, audit, keyp, argv);
	fault_say(&g, "once 1");
	fault_say(&g, "gone 1");
	fault_say(&g, "stay 1");
	fault_say(&g, "new 1");
	cr_assert_eq(fault_wait_for(g.out, "new ", 1, 10000), 0, "%s",
	    fault_slurp(g.err));
	cr_assert_str_eq(fault_slurp(g.out),
	    "ready\nonce ok\ngone ok\nstay ok\nnew error denied\n");

	fault_write_file(path, fault_slurp(pol("reload-b.json")));
	cr_assert_eq(kill(g.pid, SIGHUP), 0);
	cr_assert_eq(fault_wait_for(audit, "\"ev\":\"reload\"", 1, 10000), 0);
	fault_say(&g, "once 1");    /* its use count survived the reload */
	fault_say(&g, "gone 1");    /* removed: not found */
	fault_say(&g, "stay 1");
	fault_say(&g, "new 1");     /* added */
	fault_close_stdin(&g);
	st = e2e_wait(g.pid, 30);
	cr_assert_eq(st, 0, "status %d: %s", st, fault_slurp(g.err));
	cr_assert_str_eq(fault_slurp(g.out),
	    "ready\nonce ok\ngone ok\nstay ok\nnew error denied\n"
	    "once error denied\ngone error denied\nstay ok\nnew ok\n");

	reload_hash(audit, "policy_hash", newhash, sizeof(newhash));
	reload_hash(audit, "old_policy_hash", oldhash, sizeof(oldhash));
	cr_assert_eq(strlen(newhash), 64);
	cr_assert_str_neq(newhash, oldhash);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"reload\"", "\"ok\":true", NULL), 1);
	/* decisions before the swap carry the old hash, after it the new one */
	snprintf(pat, sizeof(pat), "\"policy\":\"%s\"", oldhash);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"decision\"",
	    "\"channel\":\"gone\"", "\"decision\":\"allow\"", pat, NULL), 1);
	snprintf(pat, sizeof(pat), "\"policy\":\"%s\"", newhash);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"decision\"",
	    "\"channel\":\"gone\"", "\"reason\":\"not-found\"", pat, NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"once\"",
	    "\"reason\":\"uses-exhausted\"", pat, NULL), 1);
	cr_assert_eq(fault_verify(audit, pub, out, sizeof(out)), 0, "%s", out);
}

Test(faults, sighup_with_a_broken_policy_keeps_the_old_one)
{
	const char *audit = e2e_audit_path("badreload");
	const char *path = fault_policy_copy("reload-b.json", "badreload");
	const char *argv[] = { fault_peer, "stdin", NULL };
	char where[700];
	struct fault_gw g;
	int st;

	fault_start(&g, NULL, path, audit, NULL, argv);
	fault_say(&g, "new 1");
	cr_assert_eq(fault_wait_for(g.out, "new ok", 1, 10000), 0, "%s",
	    fault_slurp(g.err));
	fault_write_file(path, fault_slurp(pol("reload-broken.json")));
	cr_assert_eq(kill(g.pid, SIGHUP), 0);
	cr_assert_eq(fault_wait_for(audit, "\"ev\":\"reload\"", 1, 10000), 0);
	fault_say(&g, "new 1");
	fault_say(&g, "once 1");
	fault_close_stdin(&g);
	st = e2e_wait(g.pid, 30);
	cr_assert_eq(st, 0, "status %d: %s", st, fault_slurp(g.err));
	/* the old policy still answers: "new" exists, "once" is still usable */
	cr_assert_str_eq(fault_slurp(g.out), "ready\nnew ok\nnew ok\nonce ok\n");
	snprintf(where, sizeof(where), "%s:5:23: unknown kind", path);
	cr_assert_not_null(strstr(fault_slurp(g.err), where), "%s",
	    fault_slurp(g.err));
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"reload\"", "\"ok\":false",
	    "\"line\":5", "\"column\":23", "unknown kind", NULL), 1);
}

/*
 * SIGHUP again and again while a client invokes without pause: every
 * request gets exactly one answer, every answer is "ok" (the channel is in
 * both policies), and every answer has its allow record.
 */
Test(faults, sighup_under_traffic_loses_and_misanswers_nothing)
{
	const char *audit = e2e_audit_path("hupload");
	const char *path = fault_policy_copy("reload-a.json", "hupload");
	const char *argv[] = { fault_peer, "loop", "stay", "\"x\"", "3000", NULL };
	struct fault_gw g;
	int st, reloads = 0;

	fault_start(&g, NULL, path, audit, NULL, argv);
	cr_assert_eq(fault_wait_for(g.out, "ok", 10, 10000), 0, "%s",
	    fault_slurp(g.err));
	st = -1;
	while (reloads < 20) {
		/* kill(pid, 0) succeeds on a zombie: ask waitpid whether the
		 * gateway is done (a slow build may finish the 3,000 first) */
		int ws;
		if (waitpid(g.pid, &ws, WNOHANG) == g.pid) {
			st = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
			break;
		}
		/* alternate between two policies that both keep "stay" */
		fault_write_file(path, fault_slurp(pol(reloads % 2 ?
		    "reload-a.json" : "reload-b.json")));
		cr_assert_eq(kill(g.pid, SIGHUP), 0);
		reloads++;
		if (fault_wait_for(audit, "\"ev\":\"reload\"", reloads, 10000) != 0) {
			/* only acceptable if the gateway ended meanwhile */
			cr_assert_eq(waitpid(g.pid, &ws, 0), g.pid);
			st = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
			cr_assert_geq(fault_count(g.out, "ok"), 3000,
			    "reload %d was never recorded", reloads);
			break;
		}
	}
	if (st < 0)
		st = e2e_wait(g.pid, 60);
	fault_close_stdin(&g);
	cr_assert_eq(st, 0, "status %d: %s", st, fault_slurp(g.err));
	cr_assert_eq(fault_count(g.out, "ok"), 3000, "%s", fault_slurp(g.out));
	cr_assert_eq(fault_count(g.out, "error"), 0);
	cr_assert_eq(allowed(audit, "stay"), 3000);
	cr_assert_geq(audit_lines_count(audit, "\"ev\":\"reload\"", "\"ok\":true",
	    NULL), 1);
	cr_log_info("%d reloads during 3000 invokes", reloads);
}

/* A policy with the Python test backend (tests/backend/test_backend.py):
 * "b:slow2" sleeps as many seconds as it is given and answers the number;
 * its response schema says what type the answer must have. */
static void
backend_policy(const char *path, const char *response_type, bool with_gone)
{
	char script[600];
	json_t *doc;

	snprintf(script, sizeof(script), "%s/tests/backend/test_backend.py",
	    SOURCE_ROOT);
	doc = json_pack("{s:i,s:{s:{s:[s,s]}},s:{s:{s:s,s:s,s:i,s:{s:s}},"
	    "s:{s:s,s:s}}}", "capgate", 1,
	    "backends", "tb", "exec", "/usr/bin/python3", script,
	    "channels", "b:slow2", "kind", "invoke", "to", "tb", "deadline_ms",
	    5000, "response", "type", response_type,
	    "stay", "kind", "invoke", "to", "builtin:echo");
	if (with_gone)
		json_object_set_new(json_object_get(doc, "channels"), "gone",
		    json_pack("{s:s,s:s}", "kind", "invoke", "to", "builtin:echo"));
	cr_assert_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0);
	json_decref(doc);
}

/* The value of "key" in the first record of the log with "ev":"EV". */
static void
audit_field(const char *audit, const char *ev, const char *key, char *out,
    size_t cap)
{
	json_error_t jerr;
	char line[8192];
	FILE *f = fopen(audit, "r");

	out[0] = '\0';
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *rec = json_loads(line, 0, &jerr);
		const char *v;
		if (rec != NULL && json_is_string(json_object_get(rec, "ev")) &&
		    strcmp(json_string_value(json_object_get(rec, "ev")), ev) == 0 &&
		    (v = json_string_value(json_object_get(rec, key))) != NULL) {
			snprintf(out, cap, "%s", v);
			json_decref(rec);
			break;
		}
		json_decref(rec);
	}
	fclose(f);
	cr_assert(out[0] != '\0', "no %s in a %s record of %s", key, ev, audit);
}

/*
 * An invoke a backend is still working on when SIGHUP arrives finishes
 * under the policy it was decided under: the old response schema accepts
 * the backend's number, which the new one (a string) would refuse, and its
 * record names the old policy; a new request after the reload gets the new
 * schema and its record the new policy.
 */
Test(faults, sighup_while_a_backend_invoke_is_pending)
{
	const char *audit = e2e_audit_path("hupbackend");
	const char *argv[] = { fault_peer, "stdin", NULL };
	char path[600], tmp[620], old_hash[80], new_hash[80];
	char want_old[100], want_new[100];
	struct fault_gw g;
	int st;

	snprintf(path, sizeof(path), "%s/hupbackend-%d.json", e2e_tmpdir(),
	    (int)getpid());
	backend_policy(path, "number", true);
	fault_start(&g, NULL, path, audit, NULL, argv);
	fault_say(&g, "stay 1");
	cr_assert_eq(fault_wait_for(g.out, "stay ok", 1, 15000), 0, "%s",
	    fault_slurp(g.err));
	fault_say(&g, ">b:slow2 1.5");    /* the backend answers in 1.5 s */
	usleep(300000);
	snprintf(tmp, sizeof(tmp), "%s.b", path);
	backend_policy(tmp, "string", false);
	cr_assert_eq(rename(tmp, path), 0);
	cr_assert_eq(kill(g.pid, SIGHUP), 0);
	cr_assert_eq(fault_wait_for(audit, "\"ev\":\"reload\"", 1, 10000), 0);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"reload\"", "\"ok\":true",
	    NULL), 1, "%s", fault_slurp(g.err));
	fault_say(&g, "<");               /* the pending answer */
	fault_say(&g, "b:slow2 0.1");     /* decided under the new policy */
	fault_say(&g, "gone 1");
	fault_close_stdin(&g);
	st = e2e_wait(g.pid, 30);
	cr_assert_eq(st, 0, "status %d: %s", st, fault_slurp(g.err));
	cr_assert_str_eq(fault_slurp(g.out), "ready\nstay ok\nreply 3 ok\n"
	    "b:slow2 error failed\ngone error denied\n");
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:slow2\"",
	    "\"decision\":\"allow\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:slow2\"",
	    "\"reason\":\"response-schema\"", NULL), 1);
	audit_field(audit, "reload", "old_policy_hash", old_hash,
	    sizeof(old_hash));
	audit_field(audit, "reload", "policy_hash", new_hash, sizeof(new_hash));
	cr_assert_str_neq(old_hash, new_hash);
	snprintf(want_old, sizeof(want_old), "\"policy\":\"%s\"", old_hash);
	snprintf(want_new, sizeof(want_new), "\"policy\":\"%s\"", new_hash);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:slow2\"",
	    "\"decision\":\"allow\"", want_old, NULL), 1,
	    "the pending invoke is not recorded under the policy it was "
	    "decided under");
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:slow2\"",
	    "\"reason\":\"response-schema\"", want_new, NULL), 1);
}

Test(faults, sighup_that_changes_the_backends_is_refused)
{
	const char *audit = e2e_audit_path("hupbackends");
	const char *argv[] = { fault_peer, "stdin", NULL };
	char path[600];
	struct fault_gw g;
	int st;

	snprintf(path, sizeof(path), "%s/hupbackends-%d.json", e2e_tmpdir(),
	    (int)getpid());
	backend_policy(path, "number", true);
	fault_start(&g, NULL, path, audit, NULL, argv);
	fault_say(&g, "stay 1");
	cr_assert_eq(fault_wait_for(g.out, "stay ok", 1, 15000), 0, "%s",
	    fault_slurp(g.err));
	fault_write_file(path, fault_slurp(pol("reload-b.json")));   /* no backend */
	cr_assert_eq(kill(g.pid, SIGHUP), 0);
	cr_assert_eq(fault_wait_for(audit, "\"ev\":\"reload\"", 1, 10000), 0);
	fault_say(&g, "b:slow2 0.1");     /* the old policy still routes it */
	fault_say(&g, "gone 1");
	fault_close_stdin(&g);
	st = e2e_wait(g.pid, 30);
	cr_assert_eq(st, 0, "status %d: %s", st, fault_slurp(g.err));
	cr_assert_str_eq(fault_slurp(g.out), "ready\nstay ok\nb:slow2 ok\n"
	    "gone ok\n");
	cr_assert_not_null(strstr(fault_slurp(g.err), "backends changed"), "%s",
	    fault_slurp(g.err));
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"reload\"", "\"ok\":false",
	    "backends changed", NULL), 1);
}

/*
 * A reload while a client that has already exited is still in the
 * gateway's table (a second policy client whose program ended at once),
 * then an event from the backend: the event goes past every client, the
 * closed one included, and must not trip over its dropped grants.
 */
Test(faults, sighup_with_a_closed_client_then_a_backend_event)
{
	const char *audit = e2e_audit_path("hupclosed");
	const char *argv[] = { fault_peer, "stdin", NULL };
	char path[600], script[600];
	struct fault_gw g;
	json_t *doc;
	int st;

	snprintf(script, sizeof(script), "%s/tests/backend/test_backend.py",
	    SOURCE_ROOT);
	snprintf(path, sizeof(path), "%s/hupclosed-%d.json", e2e_tmpdir(),
	    (int)getpid());
	doc = json_pack("{s:i,s:{s:{s:[s,s]}},s:{s:{s:s,s:s},s:{s:s,s:s},"
	    "s:{s:s,s:s}},s:{s:{s:[s,s]},s:{s:[s],s:[s]}}}", "capgate", 1,
	    "backends", "tb", "exec", "/usr/bin/python3", script,
	    "channels", "b:emit", "kind", "invoke", "to", "tb",
	    "b:tick", "kind", "event", "from", "tb",
	    "q:echo", "kind", "invoke", "to", "builtin:echo",
	    "clients", "main", "grants", "b:emit", "b:tick",
	    "quick", "grants", "q:echo", "exec", "/bin/true");
	cr_assert_eq(json_dump_file(doc, path, JSON_INDENT(1)), 0);
	json_decref(doc);
	fault_start(&g, NULL, path, audit, NULL, argv);
	cr_assert_eq(fault_wait_for(audit, "\"ev\":\"exit\"", 1, 15000), 0,
	    "%s", fault_slurp(g.err));    /* quick has come and gone */
	cr_assert_eq(kill(g.pid, SIGHUP), 0);
	cr_assert_eq(fault_wait_for(audit, "\"ev\":\"reload\"", 1, 10000), 0);
	fault_say(&g, "b:emit {\"channel\":\"b:tick\",\"payload\":{\"n\":1}}");
	fault_say(&g, "b:emit {\"channel\":\"b:tick\",\"payload\":{\"n\":2}}");
	fault_close_stdin(&g);
	st = e2e_wait(g.pid, 30);
	cr_assert_eq(st, 0, "status %d: %s", st, fault_slurp(g.err));
	cr_assert_str_eq(fault_slurp(g.out), "ready\nb:emit ok\nb:emit ok\n");
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"reload\"", "\"ok\":true",
	    NULL), 1);
}
