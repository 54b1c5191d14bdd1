/*
 * Several clients launched together, client-to-client channels, and the
 * Node.js client library under `capgate run`.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bk.h"

static struct bk_result r;
static const char *probe[] = { PROBE_BIN, NULL };

TestSuite(clients, .timeout = 60);

Test(clients, two_clients_talk_through_a_client_to_client_channel)
{
	const char *audit = bk_path("c2c.log");
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/c2c-%d", bk_tmpdir(), (int)getpid());
	cr_assert_eq(mkdir(dir, 0755), 0);
	bk_run(bk_policy("c2c.json", dir), audit,
	    "sub chat:to-main\nsub chat:to-side\nsleep 1500\n"
	    "send chat:to-side {\"text\":\"hi\"}\npoll 1500\n"
	    "send chat:to-side {\"bad\":1}\n"
	    "send chat:to-main {\"text\":\"to myself\"}\n"
	    "send chat:to-side {\"text\":\"bye\"}\nsleep 1500\n"
	    "send chat:to-side {\"text\":\"anyone?\"}\n",
	    probe, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert_str_eq(r.out, "ok\nok\nsent\n"
	    "event chat:to-main {\"echo\":\"hi\",\"me\":\"side\"}\npolled 1\n"
	    "sent\nsent\nsent\nsent\n", "%s", r.out);
	/* each client started with its own identity */
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"spawn\"", "\"client\":\"main\"",
	    NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"spawn\"", "\"client\":\"side\"",
	    NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"side\"",
	    "\"channel\":\"chat:to-main\"", "\"decision\":\"allow\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"main\"",
	    "\"channel\":\"chat:to-side\"", "\"decision\":\"allow\"", NULL), 2);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"main\"",
	    "\"reason\":\"request-schema\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"main\"",
	    "\"reason\":\"wrong-direction\"", NULL), 1);
	/* main cannot listen in on the side's inbound channel */
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"main\"",
	    "\"channel\":\"chat:to-side\"", "\"reason\":\"not-subscribable\"",
	    NULL), 1);
	/* after "bye" the side client has exited: nobody to deliver to */
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"main\"",
	    "\"reason\":\"target-not-running\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"exit\"", "\"client\":\"side\"",
	    "\"status\":0", NULL), 1);
}

Test(clients, a_message_to_a_client_that_did_not_subscribe_is_not_delivered)
{
	const char *audit = bk_path("c2c-nosub.log");
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/c2c-nosub-%d", bk_tmpdir(), (int)getpid());
	cr_assert_eq(mkdir(dir, 0755), 0);
	/* main never subscribes to chat:to-main: the side's echo is refused */
	bk_run(bk_policy("c2c.json", dir), audit, "sleep 1500\n"
	    "send chat:to-side {\"text\":\"hi\"}\npoll 1500\n"
	    "send chat:to-side {\"text\":\"bye\"}\nsleep 200\n", probe, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert_str_eq(r.out, "sent\npolled 0\nsent\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"client\":\"side\"",
	    "\"reason\":\"target-not-subscribed\"", NULL), 1);
}

Test(clients, the_other_clients_stop_when_the_command_line_client_exits)
{
	const char *audit = bk_path("c2c-stop.log");
	char dir[600];

	snprintf(dir, sizeof(dir), "%s/c2c-stop-%d", bk_tmpdir(), (int)getpid());
	cr_assert_eq(mkdir(dir, 0755), 0);
	bk_run(bk_policy("c2c.json", dir), audit, "invoke echo 1\n", probe, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert_lt(r.seconds, 10.0);
	/* it got SIGTERM from the gateway, passed on by its sandbox's init:
	 * shell-style 128 + 15 */
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"exit\"", "\"client\":\"side\"",
	    "\"status\":143", NULL), 1);
}

Test(clients, the_node_client_library_under_capgate_run)
{
	const char *audit = bk_path("node.log");
	char policy[700];
	const char *argv[] = { "node", SRC_DIR "/node_front.js", NULL };

	if (access("/usr/bin/node", X_OK) != 0 && access("/usr/local/bin/node",
	    X_OK) != 0) {
		cr_assert_null(getenv("CAPGATE_REQUIRE_ALL"), "node is required");
		cr_skip_test("node is not installed");
	}
	snprintf(policy, sizeof(policy), "%s/policies/backend.json", SRC_DIR);
	bk_run(policy, audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
	cr_assert_str_eq(r.out, "{\"a\":[1,\"é\"]}\n"
	    "error: invalid\nerror: denied\ntrue\ntrue\n"
	    "events [{\"n\":7}]\n0.05\n"
	    "transport: the reply carried file descriptors, which Node's standard "
	    "library cannot receive\n{\"after\":\"fds\"}\ndone\n", "%s", r.out);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:note\"",
	    "\"decision\":\"allow\"", NULL), 1);
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"b:tick\"",
	    "\"kind\":\"unsubscribe\"", "\"decision\":\"allow\"", NULL), 1);
}

Test(clients, a_client_that_cannot_start_aborts_the_run_and_stops_the_others)
{
	const char *audit = bk_path("c2c-abort.log");
	const char *argv[] = { "/bin/sleep", "30", NULL };
	char path[600];

	snprintf(path, sizeof(path), "%s/abort-%d.json", bk_tmpdir(), (int)getpid());
	bk_write_file(path, "{\"capgate\":1,\"clients\":{\"main\":{\"grants\":"
	    "[\"e\"]},\"other\":{\"grants\":[\"e\"],\"exec\":"
	    "[\"/nonexistent/x\"]}},\"channels\":{\"e\":{\"kind\":\"invoke\","
	    "\"to\":\"builtin:echo\"}}}");
	bk_run(path, audit, NULL, argv, 30, &r);
	cr_assert_eq(r.status, 127, "status %d: %s", r.status, r.err);
	cr_assert_lt(r.seconds, 10.0, "the command-line client was left running");
	cr_assert_eq(audit_lines_count(audit, "\"ev\":\"exit\"", "\"client\":\"main\"",
	    "\"status\":137", NULL), 1);
}
