/*
 * Backends end to end: the real gateway, a real Python backend
 * (test_backend.py), the C client library (probe) and the Python one
 * (py_front.py) as front-ends.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bk.h"

#define POLICY(n) (snprintf(policy_buf, sizeof(policy_buf), "%s/policies/%s", \
	bk_srcdir, n), policy_buf)

static char policy_buf[1024];
static struct bk_result r;
static const char *probe[] = { PROBE_BIN, NULL };

TestSuite(backend, .timeout = 60);

static void
run_probe(const char *policy, const char *audit, const char *script)
{
	bk_run(policy, audit, script, probe, 30, &r);
	cr_assert_eq(r.status, 0, "status %d\nout: %s\nerr: %s", r.status, r.out,
	    r.err);
}

Test(backend, invoke_reaches_the_backend_with_the_verified_caller)
{
	const char *audit = bk_path("caller.log");

	run_probe(POLICY("backend.json"), audit, "invoke b:whoami {\"x\":1}\n"
	    "invoke b:echo {\"a\":[1,2]}\n");
	cr_assert(strstr(r.out, "{\"client\":\"main\",\"pid\":") == r.out, "%s",
	    r.out);
	cr_assert_not_null(strstr(r.out, "\n{\"a\":[1,2]}\n"), "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:whoami\"",
	    "\"decision\":\"allow\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"backend-start\"",
	    "\"restarts\":0", NULL), 1);
	/* stopped with SIGTERM once the front-end is done */
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"exit\"", "\"client\":\"tb\"",
	    "\"status\":143", NULL), 1);
}

/* The gateway keeps finished backend requests and their body buffers for
 * the next ones: a short request after a long one is recorded as itself,
 * with nothing of the long one behind it. */
Test(backend, each_request_is_recorded_as_sent_when_buffers_are_reused)
{
	const char *audit = bk_path("reuse.log");
	char script[4096], big[2048];

	memset(big, 'L', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(script, sizeof(script), "invoke b:logged {\"s\":\"%s\"}\n"
	    "invoke b:logged {\"s\":\"ab\"}\n"
	    "invoke b:logged {}\n"
	    "invoke b:logged {\"s\":\"%.100s\"}\n", big, big);
	run_probe(POLICY("backend.json"), audit, script);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:logged\"",
	    "\"decision\":\"allow\"", NULL), 4);
	cr_assert_eq(audit_lines_count(audit, "\"payload\":\"{\\\"s\\\":\\\"ab\\\"}\"",
	    NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"payload\":\"{}\"", NULL), 1);
	snprintf(script, sizeof(script), "\"payload\":\"{\\\"s\\\":\\\"%.100s\\\"}\"",
	    big);
	cr_assert_eq(audit_lines_count(audit, script, NULL), 1);
}

Test(backend, request_schema_is_checked_before_the_backend_sees_it)
{
	const char *audit = bk_path("reqschema.log");

	run_probe(POLICY("backend.json"), audit, "invoke b:echo [1]\n");
	cr_assert_str_eq(r.out, "error: invalid\n");
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"request-schema\"", NULL), 1);
}

Test(backend, a_reply_that_breaks_the_response_schema_never_reaches_the_client)
{
	const char *audit = bk_path("respschema.log");

	run_probe(POLICY("backend.json"), audit, "invoke b:bad {}\n");
	cr_assert_str_eq(r.out, "error: failed\n");
	cr_assert_null(strstr(r.out, "leak"));
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:bad\"",
	    "\"reason\":\"response-schema\"", NULL), 1);
}

Test(backend, a_backend_error_code_is_passed_on)
{
	const char *audit = bk_path("berror.log");

	run_probe(POLICY("backend.json"), audit, "invoke b:fail 1\n");
	cr_assert_str_eq(r.out, "error: denied\n");
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"backend-error\"", NULL), 1);
}

Test(backend, a_slow_backend_gives_a_timeout_and_its_late_reply_is_dropped)
{
	const char *audit = bk_path("timeout.log");

	/* deadline 300 ms; the backend takes 800 ms, then answers late */
	run_probe(POLICY("backend.json"), audit, "invoke b:slow 0.8\n"
	    "sleep 1000\ninvoke b:echo {\"after\":1}\n");
	cr_assert_str_eq(r.out, "error: timeout\n{\"after\":1}\n");
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:slow\"",
	    "\"decision\":\"error\"", "\"reason\":\"deadline\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"tb\"",
	    "\"reason\":\"late-reply\"", NULL), 1);
}

Test(backend, a_crash_fails_the_request_and_the_backend_is_restarted)
{
	const char *audit = bk_path("crash.log");
	long pid1 = 0, pid2 = 0;
	char *second;

	run_probe(POLICY("backend.json"), audit, "invoke b:pid 0\n"
	    "invoke b:crash 0\ninvoke b:echo {}\nsleep 1500\ninvoke b:pid 0\n");
	cr_assert_eq(sscanf(r.out, "%ld\n", &pid1), 1, "%s", r.out);
	cr_assert_not_null(strstr(r.out, "\nerror: unavailable\nerror: unavailable\n"),
	    "%s", r.out);
	second = strstr(r.out, "unavailable\nerror: unavailable\n") +
	    strlen("unavailable\nerror: unavailable\n");
	cr_assert_eq(sscanf(second, "%ld\n", &pid2), 1, "%s", r.out);
	cr_assert_neq(pid1, pid2);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:crash\"",
	    "\"reason\":\"backend-exited\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:echo\"",
	    "\"reason\":\"backend-unavailable\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"exit\"", "\"client\":\"tb\"",
	    "\"status\":3", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"backend-start\"",
	    "\"restarts\":1", NULL), 1);
}

Test(backend, a_backend_that_keeps_crashing_is_given_up)
{
	const char *audit = bk_path("giveup.log");
	char script[1024] = "";

	/* restart max 3, backoff 50 ms doubling: 4 crashes exhaust it */
	/* more attempts than crashes: a restart that is slow under load makes
	 * an attempt "unavailable" instead of a crash */
	for (int i = 0; i < 10; i++)
		strcat(script, "invoke b:crash 0\nsleep 700\n");
	strcat(script, "invoke b:echo {}\n");
	run_probe(POLICY("backend.json"), audit, script);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"backend-given-up\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"backend-start\"", NULL), 4);
	cr_assert(strstr(r.out, "error: unavailable\n") != NULL);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:echo\"",
	    "\"reason\":\"backend-unavailable\"", NULL), 1);
}

Test(backend, the_channel_inflight_limit_applies_to_pending_invokes)
{
	const char *audit = bk_path("inflight.log");
	const char *argv[] = { "python3", SRC_DIR "/py_front.py", "inflight", NULL };

	bk_run(POLICY("backend.json"), audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert_str_eq(r.out, "0.1 0.1 limited\ndone\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"inflight\"", NULL), 1);
}

/* "once" holds while the one use is pending: invokes sent back to back
 * are not each decided before the first one's answer. */
Test(backend, once_holds_for_invokes_sent_before_the_first_answer)
{
	const char *audit = bk_path("once.log");
	const char *argv[] = { "python3", SRC_DIR "/py_front.py", "once", NULL };

	bk_run(POLICY("backend.json"), audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert_str_eq(r.out, "0.2 denied denied\nerror: denied\ndone\n", "%s",
	    r.out);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:once\"",
	    "\"decision\":\"allow\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:once\"",
	    "\"reason\":\"uses-exhausted\"", NULL), 3);
}

/* A client that sends faster than the backend reads: what does not fit
 * the gateway's queue toward the backend is refused and recorded; the
 * backend, which every client shares, is not ended for it (its queue
 * filling used to end it, and after restart.max the gateway gave it up). */
Test(backend, sends_faster_than_the_backend_do_not_end_it)
{
	const char *audit = bk_path("outrun.log");
	enum { N = 300, PAD = 60000 };
	size_t line = PAD + 64, off = 0;
	char *script = malloc(N * line + 128);
	int refused;

	cr_assert_not_null(script);
	for (int i = 0; i < N; i++) {
		off += (size_t)sprintf(script + off, "send b:note {\"p\":\"");
		memset(script + off, 'x', PAD);
		off += PAD;
		off += (size_t)sprintf(script + off, "\"}\n");
	}
	sprintf(script + off, "invoke b:echo {\"after\":\"flood\"}\n");
	run_probe(POLICY("backend.json"), audit, script);
	free(script);
	cr_assert_not_null(strstr(r.out, "\n{\"after\":\"flood\"}\n"), "%.300s",
	    r.out + (strlen(r.out) > 300 ? strlen(r.out) - 300 : 0));
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"output-queue-full\"",
	    NULL), 0);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"backend-start\"", NULL), 1);
	/* the flood did outrun it (else this test proves nothing) */
	refused = audit_lines_count(audit, "\"reason\":\"backend-queue-full\"", NULL);
	cr_assert_gt(refused, 0);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:note\"", NULL), N);
}

Test(backend, the_global_inflight_limit_applies_to_pending_invokes)
{
	const char *audit = bk_path("inflight-global.log");
	const char *argv[] = { "python3", SRC_DIR "/py_front.py",
	    "inflight-global", NULL };

	bk_run(POLICY("backend.json"), audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert_str_eq(r.out, "0.05 0.05 0.05 0.05 0.05 0.05 0.05 0.05 "
	    "limited limited\ndone\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"inflight\"", NULL), 2);
}

/* Hundreds of invokes pending on one backend at once, answered newest
 * first, a third never (two deadlines, inserted interleaved), one twice and
 * one id never sent; then later requests pending in the same buckets as
 * the long deadlines when those expire: each answer reaches its own
 * request, every short deadline expires before any long one, and the two
 * stray answers are dropped as late replies (pending_peer.c says who does
 * what). */
Test(backend, many_pending_invokes_are_matched_and_expired_in_order)
{
	const char *audit = bk_path("pending.log");
	const char *policy = bk_path("pending.json");
	const char *argv[] = { PENDING_PEER_BIN, "front", "600", NULL };
	char text[2048];

	snprintf(text, sizeof(text), "{\"capgate\": 1, "
	    "\"limits\": {\"inflight\": 4096},"
	    "\"backends\": {\"pp\": {\"exec\": [\"%s\", \"backend\", \"600\"]}},"
	    "\"channels\": {"
	    "\"p:short\": {\"kind\": \"invoke\", \"to\": \"pp\", "
	    "\"deadline_ms\": 400, \"inflight\": 4096},"
	    "\"p:long\": {\"kind\": \"invoke\", \"to\": \"pp\", "
	    "\"deadline_ms\": 2500, \"inflight\": 4096},"
	    "\"p:hold\": {\"kind\": \"invoke\", \"to\": \"pp\", "
	    "\"deadline_ms\": 20000, \"inflight\": 4096},"
	    "\"p:go\": {\"kind\": \"invoke\", \"to\": \"pp\"}}}",
	    PENDING_PEER_BIN);
	bk_write_file(policy, text);
	bk_run(policy, audit, NULL, argv, 60, &r);
	cr_assert_eq(r.status, 0, "status %d\nout: %s\nerr: %s", r.status, r.out,
	    r.err);
	cr_assert_str_eq(r.out, "ok 600\n", "%s", r.out);
	/* 600 requests: 400 answered, 100 + 100 expired; then 1200, 900 held
	 * and the go, all answered */
	cr_assert_eq(audit_lines_count(audit, "\"decision\":\"allow\"", NULL),
	    2501);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"p:short\"",
	    "\"reason\":\"deadline\"", NULL), 100);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"p:long\"",
	    "\"reason\":\"deadline\"", NULL), 100);
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"late-reply\"", NULL), 2);
}

Test(backend, sends_reach_the_backend)
{
	const char *audit = bk_path("send.log");

	run_probe(POLICY("backend.json"), audit, "send b:note {\"k\":1}\n"
	    "invoke b:echo {}\n");
	cr_assert_str_eq(r.out, "sent\n{}\n");
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:note\"",
	    "\"kind\":\"send\"", "\"decision\":\"allow\"", NULL), 1);
}

Test(backend, events_reach_subscribers_only_and_stop_on_unsubscribe)
{
	const char *audit = bk_path("events.log");

	run_probe(POLICY("backend.json"), audit,
	    "invoke b:emit {\"channel\":\"b:tick\",\"payload\":{\"n\":1}}\n"
	    "sub b:tick\n"
	    "invoke b:emit {\"channel\":\"b:tick\",\"payload\":{\"n\":2}}\n"
	    "unsub b:tick\n"
	    "invoke b:emit {\"channel\":\"b:tick\",\"payload\":{\"n\":3}}\n"
	    "poll 200\n");
	cr_assert_str_eq(r.out, "true\nok\nevent b:tick {\"n\":2}\ntrue\nok\n"
	    "true\npolled 0\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"kind\":\"subscribe\"",
	    "\"decision\":\"allow\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"tb\"", "\"kind\":\"event\"",
	    "delivered 1, dropped 0", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"tb\"", "\"kind\":\"event\"",
	    "delivered 0, dropped 0", NULL), 2);
}

Test(backend, an_event_that_breaks_its_schema_is_not_delivered)
{
	const char *audit = bk_path("evschema.log");

	run_probe(POLICY("backend.json"), audit, "sub b:tick\n"
	    "invoke b:emit {\"channel\":\"b:tick\",\"payload\":{\"n\":\"one\"}}\n"
	    "invoke b:emit {\"channel\":\"b:tick\",\"payload\":[1]}\n"
	    "invoke b:emit {\"channel\":\"b:nowhere\",\"payload\":{\"n\":1}}\n"
	    "invoke b:emit {\"channel\":\"b:echo\",\"payload\":{\"n\":1}}\n"
	    "poll 200\n");
	cr_assert_str_eq(r.out, "ok\ntrue\ntrue\ntrue\ntrue\npolled 0\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"tb\"",
	    "\"reason\":\"event-schema\"", "\"pointer\":\"/n\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"tb\"",
	    "\"reason\":\"event-schema\"", NULL), 2);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"tb\"",
	    "\"channel\":\"b:nowhere\"", "\"reason\":\"not-found\"", NULL), 1);
	/* a backend cannot push on a channel that is not its event channel */
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"tb\"",
	    "\"channel\":\"b:echo\"", "\"reason\":\"not-event-source\"", NULL), 1);
}

Test(backend, subscribing_to_a_channel_not_granted_is_denied_and_audited)
{
	const char *audit = bk_path("subdeny.log");

	run_probe(POLICY("events.json"), audit, "sub b:other\nsub b:emit\n"
	    "sub b:missing\n"
	    "invoke b:emit {\"channel\":\"b:other\",\"payload\":{\"n\":1}}\n"
	    "poll 200\n");
	cr_assert_str_eq(r.out, "ok\nok\nok\ntrue\npolled 0\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:other\"",
	    "\"kind\":\"subscribe\"", "\"reason\":\"not-granted\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:emit\"",
	    "\"kind\":\"subscribe\"", "\"reason\":\"not-subscribable\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:missing\"",
	    "\"kind\":\"subscribe\"", "\"reason\":\"not-found\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"tb\"",
	    "\"channel\":\"b:other\"", "delivered 0, dropped 0", NULL), 1);
}

Test(backend, events_to_a_client_that_stops_reading_are_bounded)
{
	const char *audit = bk_path("evflood.log");
	/* The client stays 8 s: the Python backend MACs 6 MB of events in
	 * pure Python (SipHash, ~0.35 ms per 2 KB frame), which on a loaded
	 * machine takes seconds; every event must be decided while the client
	 * is still there. */
	const char *argv[] = { "python3", SRC_DIR "/py_front.py", "flood-no-read",
	    "3000", "8", NULL };
	int dropped;

	bk_run(POLICY("backend.json"), audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert_str_eq(r.out, "still alive\ndone\n");
	/* 3000 events of 2 KB do not fit the socket and a 4 MiB queue: the
	 * surplus is dropped and recorded, the client is not killed */
	dropped = audit_lines_count(audit, "\"reason\":\"queue-full-dropped\"", NULL);
	cr_assert_gt(dropped, 0);
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"delivered\"", NULL) +
	    dropped, 3000);
}

Test(backend, the_python_client_library_under_capgate_run)
{
	const char *audit = bk_path("python.log");
	const char *argv[] = { "python3", SRC_DIR "/py_front.py", "basic", NULL };

	bk_run(POLICY("backend.json"), audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert(strstr(r.out, "{\"a\":[1,\"é\"]}\n{\"client\":\"main\","
	    "\"pid\":") == r.out, "%s", r.out);
	cr_assert_not_null(strstr(r.out, "}\nerror: invalid\nerror: denied\n"
	    "true\ntrue\nevents [{\"n\":7}]\nblob 1000 1 1000 BLOB\n"
	    "{\"size\":18,\"head\":\"UPLOAD\",\"said\":18}\ndone\n"), "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:note\"",
	    "\"decision\":\"allow\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:tick\"",
	    "\"kind\":\"unsubscribe\"", NULL), 1);
}

Test(backend, a_backend_can_have_a_sandbox_of_its_own)
{
	const char *audit = bk_path("sandboxed.log");
	char dir[600];
	int pid = 0;

	snprintf(dir, sizeof(dir), "%s/sandboxed-%d", bk_tmpdir(), (int)getpid());
	cr_assert_eq(mkdir(dir, 0755), 0);
	run_probe(bk_policy("sandboxed.json", dir), audit,
	    "invoke b:peek \"/etc/passwd\"\ninvoke b:pid 0\ninvoke b:crash 0\n"
	    "sleep 1500\ninvoke b:echo {\"again\":1}\n");
	/* the sandboxed backend sees no /etc/passwd and has a small pid in
	 * a pid namespace of its own (its sandbox's init is pid 1); it is
	 * restarted in its sandbox after a crash */
	cr_assert_eq(sscanf(r.out, "false\n%d\n", &pid), 1, "%s", r.out);
	cr_assert(pid > 1 && pid < 10, "pid %d", pid);
	cr_assert_not_null(strstr(r.out, "\nerror: unavailable\n{\"again\":1}\n"),
	    "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"backend-start\"",
	    "\"landlock\":true", NULL), 2);
	run_probe(POLICY("backend.json"), bk_path("unsandboxed.log"),
	    "invoke b:peek \"/etc/passwd\"\n");
	cr_assert_str_eq(r.out, "true\n");
}

Test(backend, bulk_data_from_a_backend_travels_as_a_declared_fd)
{
	const char *audit = bk_path("blob.log");

	run_probe(POLICY("backend.json"), audit,
	    "invoke b:blob 104857600\ninvoke b:blob-undeclared 10\n"
	    "invoke b:echo {}\n");
	cr_assert_str_eq(r.out, "{\"size\":104857600,\"fd\":0}\n"
	    "fd: mode=rw size=104857600 write=ok head=BLOB............\n"
	    "error: failed\n{}\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:blob-undeclared\"",
	    "\"reason\":\"undeclared-fds\"", NULL), 1);
}

Test(backend, a_reply_that_is_not_json_fails_and_the_late_second_is_dropped)
{
	const char *audit = bk_path("badjson.log");

	run_probe(POLICY("backend.json"), audit, "invoke b:badjson 0\n"
	    "invoke b:echo {}\n");
	cr_assert_str_eq(r.out, "error: failed\n{}\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:badjson\"",
	    "\"reason\":\"backend-bad-json\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"late-reply\"", NULL), 1);
}

Test(backend, a_backend_frame_out_of_sequence_ends_the_backend)
{
	const char *audit = bk_path("skipseq.log");

	run_probe(POLICY("backend.json"), audit, "invoke b:skipseq 0\n"
	    "sleep 1500\ninvoke b:echo {}\n");
	cr_assert_str_eq(r.out, "error: unavailable\n{}\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"decision\"",
	    "\"client\":\"tb\"", "\"reason\":\"frame-bad-seq\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"backend-start\"",
	    "\"restarts\":1", NULL), 1);
}

Test(backend, answers_for_a_client_that_is_gone_are_recorded_not_delivered)
{
	const char *audit = bk_path("gone.log");
	const char *argv[] = { "python3", SRC_DIR "/py_front.py", "die-pending",
	    NULL };

	bk_run(POLICY("backend.json"), audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	/* the run waits for the backend's answers (or their deadline) only
	 * while the client lives; each request still gets one record */
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"decision\"",
	    "\"channel\":\"b:slow\"", NULL), 3);
}

Test(backend, a_backend_that_cannot_be_started_stops_the_run_clearly)
{
	const char *audit = bk_path("nobackend.log");
	char path[600];

	snprintf(path, sizeof(path), "%s/nobackend-%d.json", bk_tmpdir(),
	    (int)getpid());
	bk_write_file(path, "{\"capgate\":1,\"backends\":{\"gone\":{\"exec\":"
	    "[\"/nonexistent/backend\"]}},\"channels\":{\"c\":{\"kind\":"
	    "\"invoke\",\"to\":\"gone\"}}}");
	bk_run(path, audit, "invoke c 1\n", probe, 30, &r);
	cr_assert_eq(r.status, 127, "status %d: %s", r.status, r.err);
	cr_assert_not_null(strstr(r.err, "backend gone"), "%s", r.err);
	cr_assert_not_null(strstr(r.err, "/nonexistent/backend"), "%s", r.err);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"backend-failed\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"spawn\"", NULL), 0);
}

Test(backend, bulk_data_to_a_backend_travels_as_a_sealed_memfd_only)
{
	const char *audit = bk_path("upload.log");

	run_probe(POLICY("backend.json"), audit,
	    "upload b:upload 10485760 sealed\n"
	    "upload b:upload 10 unsealed\n"
	    "upload b:upload 10 pipe\n"
	    "upload b:upload-undeclared 10 sealed\n"
	    "upload b:echo 10 sealed\n"
	    "invoke b:echo {}\n");
	cr_assert_str_eq(r.out,
	    "{\"size\":10485760,\"head\":\"UPLOAD\",\"said\":10485760}\n"
	    "error: denied\nerror: denied\nerror: denied\nerror: denied\n{}\n",
	    "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"unsealed-fd\"", NULL), 2);
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"undeclared-fds\"", NULL), 2);
}

Test(backend, fds_on_a_built_in_channel_are_refused)
{
	const char *audit = bk_path("fdsbuiltin.log");

	run_probe(POLICY("backend.json"), audit, "upload b:builtin 10 sealed\n"
	    "invoke b:builtin 1\n");
	cr_assert_str_eq(r.out, "error: denied\n1\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"undeclared-fds\"", NULL), 1);
}

Test(backend, a_backend_that_never_says_hello_is_killed_and_restarted)
{
	const char *audit = bk_path("nohello.log");
	char path[600];

	snprintf(path, sizeof(path), "%s/nohello-%d.json", bk_tmpdir(),
	    (int)getpid());
	bk_write_file(path, "{\"capgate\":1,\"limits\":{\"handshake_ms\":300},"
	    "\"backends\":{\"mute\":{\"exec\":[\"sleep\",\"30\"],"
	    "\"restart\":{\"max\":1,\"backoff_ms\":10}}},"
	    "\"channels\":{\"c\":{\"kind\":\"invoke\",\"to\":\"mute\"}}}");
	bk_run(path, audit, "invoke c 1\nsleep 1000\ninvoke c 2\n", probe, 30, &r);
	cr_assert_eq(r.status, 0, "status %d: %s %s", r.status, r.out, r.err);
	cr_assert_str_eq(r.out, "error: unavailable\nerror: unavailable\n");
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"mute\"",
	    "\"reason\":\"handshake-timeout\"", NULL), 2);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"backend-given-up\"", NULL), 1);
	/* the run did not wait for the mute backend's 30 s */
	cr_assert_lt(r.seconds, 10.0);
}
