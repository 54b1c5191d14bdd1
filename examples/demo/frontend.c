/*
 * The demo front-end: an untrusted program that talks to the gateway
 * through the client library. It makes the calls its policy grants, then
 * tries what a careless or compromised front-end would: a channel it was
 * not granted, a payload that breaks the channel's schema, and a body that
 * is not JSON at all. It prints what it got and exits 0 if every answer was
 * the one the policy promises.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/capgate.h"

static int failures;

/* Invokes a channel and checks the outcome: expect_code 0 means success. */
static void
call(struct cg_conn *c, const char *what, const char *channel,
    const char *json, int expect_code)
{
	struct cg_reply r;
	int rc = cg_invoke(c, channel, json, &r, 5000);
	int got = rc != 0 ? -1 : r.ok ? 0 : r.code;

	if (rc != 0)
		printf("%-34s %-12s -> transport error: %s\n", what, channel,
		    cg_strerror(rc));
	else if (r.ok)
		printf("%-34s %-12s -> ok %s\n", what, channel, r.data);
	else
		printf("%-34s %-12s -> error \"%s\"\n", what, channel,
		    cg_strerror(r.code));
	if (got != expect_code) {
		printf("  ^ unexpected: wanted %s\n", expect_code ?
		    cg_strerror(expect_code) : "ok");
		failures++;
	}
	cg_reply_free(&r);
}

int
main(void)
{
	const char *greeting = getenv("DEMO_GREETING");
	struct cg_conn *c;
	int rc;

	if ((rc = cg_connect(&c)) != 0) {
		fprintf(stderr, "demo: cannot reach the gateway: %s\n",
		    cg_strerror(rc));
		return 2;
	}
	printf("demo front-end: connected; DEMO_GREETING=%s; HOME=%s\n",
	    greeting ? greeting : "(unset)",
	    getenv("HOME") ? getenv("HOME") : "(unset: not passed by the policy)");

	call(c, "allowed: echo", "demo:echo", "{\"text\":\"hello, gateway\"}", 0);
	call(c, "allowed: clock", "demo:time", NULL, 0);
	if (cg_send(c, "app:log", "\"the demo front-end says hi\"") != 0)
		failures++;
	else
		printf("%-34s %-12s -> sent\n", "allowed: log line", "app:log");

	call(c, "not granted: a channel not in policy", "fs:read", "{\"path\":\"/etc/shadow\"}",
	    CG_E_DENIED);
	call(c, "wrong kind: invoke a send channel", "app:log", "\"x\"", CG_E_DENIED);
	call(c, "schema: text must be a string", "demo:echo", "{\"text\":42}",
	    CG_E_INVALID);
	call(c, "schema: unknown property", "demo:echo",
	    "{\"text\":\"hi\",\"admin\":true}", CG_E_INVALID);
	call(c, "malformed: not JSON", "demo:echo", "{\"text\":", CG_E_INVALID);
	call(c, "malformed: nested too deep", "demo:echo",
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	    CG_E_INVALID);
	call(c, "still fine afterwards: echo", "demo:echo", "{\"text\":\"bye\"}", 0);

	cg_close(c);
	printf("demo front-end: %s\n", failures ? "UNEXPECTED ANSWERS" :
	    "every answer was the one the policy promises");
	return failures ? 1 : 0;
}
