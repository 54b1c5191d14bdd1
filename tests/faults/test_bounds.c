/*
 * Bounds, end to end: each limit a hostile client can push against, pushed
 * past through the real gateway. Bounds already covered elsewhere are not
 * repeated here (docs/HARDENING.md lists every bound and its test):
 * the handshake deadline and the rate limit (tests/e2e), JSON depth to
 * 10,000 levels and per-channel max_bytes (tests/limits), the codec's
 * header and length checks and the body scanner (tests/frame).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

TestSuite(bounds, .timeout = 90);

static char policy[600];

static const char *
pol(const char *name)
{
	snprintf(policy, sizeof(policy), "%s/%s", fault_policy_dir, name);
	return policy;
}

static void
big(const char *size, const char *audit, struct e2e_result *r)
{
	const char *argv[] = { fault_peer, "big", size, NULL };
	struct fault_gw g;

	fault_start(&g, NULL, pol("bounds.json"), audit, NULL, argv);
	fault_close_stdin(&g);
	r->status = e2e_wait(g.pid, 30);
	snprintf(r->out, sizeof(r->out), "%s", fault_slurp(g.out));
}

Test(bounds, a_frame_at_the_policy_cap_passes)
{
	static struct e2e_result r;

	big("4096", e2e_audit_path("cap-ok"), &r);
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.out, "ok 4028\n");
}

Test(bounds, a_frame_over_the_policy_cap_ends_the_client)
{
	static struct e2e_result r;
	const char *audit = e2e_audit_path("cap-over");

	big("4097", audit, &r);
	cr_assert_eq(r.status, 128 + SIGKILL, "status %d: %s", r.status, r.out);
	cr_assert_str_eq(r.out, "");    /* killed before any answer */
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"decision\"",
	    "\"reason\":\"frame-too-big\"", NULL), 1);
}

Test(bounds, a_datagram_over_the_global_cap_is_refused_unread)
{
	static struct e2e_result r;
	const char *audit = e2e_audit_path("cap-global");

	/* 64 KiB + 1000: the kernel truncates it into the gateway's buffer of
	 * CG_FRAME_MAX + 1 bytes and says so (MSG_TRUNC) */
	big("66536", audit, &r);
	cr_assert_eq(r.status, 128 + SIGKILL, "status %d: %s", r.status, r.out);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"decision\"",
	    "\"reason\":\"frame-too-big\"", NULL), 1);
}

/* Runs the stdin peer with the lines given; returns its output. */
static const char *
converse(const char *audit, const char *const *lines)
{
	const char *argv[] = { fault_peer, "stdin", NULL };
	struct fault_gw g;
	int st;

	fault_start(&g, NULL, pol("bounds.json"), audit, NULL, argv);
	for (size_t i = 0; lines[i] != NULL; i++)
		fault_say(&g, lines[i]);
	fault_close_stdin(&g);
	st = e2e_wait(g.pid, 30);
	cr_assert_eq(st, 0, "status %d: %s", st, fault_slurp(g.err));
	return fault_slurp(g.out);
}

Test(bounds, json_member_count_is_bounded)
{
	const char *audit = e2e_audit_path("members");
	char ok[512] = "echo [", over[2048] = "echo [";
	const char *lines[] = { ok, over, NULL };

	/* 60 values fit in 64; 500 do not */
	for (int i = 0; i < 60; i++)
		strcat(ok, i ? ",1" : "1");
	strcat(ok, "]");
	for (int i = 0; i < 500; i++)
		strcat(over, i ? ",1" : "1");
	strcat(over, "]");
	cr_assert_str_eq(converse(audit, lines),
	    "ready\necho ok\necho error invalid\n");
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"json-too-many-values\"",
	    NULL), 1);
}

Test(bounds, string_length_is_bounded_by_the_schema_and_the_frame)
{
	const char *audit = e2e_audit_path("strings");
	static char s100[200], s101[200];
	const char *lines[] = { s100, s101, NULL };

	snprintf(s100, sizeof(s100), "str \"%0100d\"", 0);
	snprintf(s101, sizeof(s101), "str \"%0101d\"", 0);
	cr_assert_str_eq(converse(audit, lines),
	    "ready\nstr ok\nstr error invalid\n");
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"request-schema\"", NULL), 1);
	/* beyond the schema, no string is longer than the frame cap: see
	 * a_frame_over_the_policy_cap_ends_the_client */
}

/*
 * A client that floods invokes and never reads its replies: past
 * queue_bytes (1 MiB here) it is dropped, and the gateway's memory does not
 * grow with the flood. RSS is sampled from /proc/<gateway>/status before
 * the flood and all through it.
 */
Test(bounds, output_queue_is_bounded_and_gateway_memory_does_not_grow)
{
	const char *audit = e2e_audit_path("queue");
	static char body[3100];
	const char *argv[] = { fault_peer, "flood", "echo", body, NULL };
	struct fault_gw g;
	long base, peak = 0, rss;
	int st;

	fault_flat_allocator();
	memset(body, 'y', 3000);
	body[0] = body[2999] = '"';
	fault_start(&g, NULL, pol("bounds.json"), audit, NULL, argv);
	cr_assert_eq(fault_wait_for(g.out, "ready", 1, 10000), 0, "%s",
	    fault_slurp(g.err));
	base = fault_rss_kb(g.pid);
	cr_assert_gt(base, 0);
	fault_say(&g, "go");
	while ((rss = fault_rss_kb(g.pid)) > 0 &&
	    fault_count(audit, "output-queue-full") == 0) {
		if (rss > peak)
			peak = rss;
		usleep(1000);
	}
	st = e2e_wait(g.pid, 30);
	fault_close_stdin(&g);
	cr_assert_eq(st, 128 + SIGKILL, "status %d: %s", st, fault_slurp(g.err));
	cr_assert_eq(audit_lines_count(audit, "\"reason\":\"output-queue-full\"", NULL), 1);
	/* the queue may reach 1 MiB plus one frame, in a buffer that doubles:
	 * 4 MiB of growth is the most the bound allows, with room for the
	 * allocator; an unbounded queue grows by 3 KiB per frame */
	cr_assert_lt(peak - base, 6 * 1024, "RSS %ld KiB -> %ld KiB", base, peak);
	cr_log_info("gateway RSS %ld KiB before, %ld KiB at most during the flood",
	    base, peak);
}
