/*
 * The policy sections this branch adds: "backends", routes ("to": a
 * backend, "client:NAME"), "exec" for clients, fs scopes. Every error
 * names file:line:column and what was expected.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bk.h"
#include "gateway/handlers.h"
#include "policy/policy.h"

static struct cg_error err;

static struct cg_policy *
load(const char *text)
{
	static int n;
	char path[600];

	snprintf(path, sizeof(path), "%s/pol-%d-%d.json", bk_tmpdir(),
	    (int)getpid(), n++);
	bk_write_file(path, text);
	return policy_load(path, handler_check, &err);
}

static void
fails_at(const char *text, int line, int column, const char *msg)
{
	struct cg_policy *p = load(text);

	cr_assert_null(p, "loaded: %s", text);
	cr_assert_eq(err.line, line, "line %d (want %d): %s", err.line, line,
	    err.msg);
	cr_assert_eq(err.column, column, "column %d (want %d): %s", err.column,
	    column, err.msg);
	cr_assert_not_null(strstr(err.msg, msg), "%s", err.msg);
}

TestSuite(policy_backends);

Test(policy_backends, a_backend_route_and_an_event_source_resolve)
{
	struct cg_policy *p = load("{\"capgate\":1,\n"
	    "\"backends\":{\"b\":{\"exec\":[\"python3\",\"x.py\"],\"cwd\":\"sub\","
	    "\"env\":{\"A\":\"1\"},\"restart\":{\"max\":2,\"backoff_ms\":10}}},\n"
	    "\"channels\":{\"c\":{\"kind\":\"invoke\",\"to\":\"b\"},\n"
	    "\"e\":{\"kind\":\"event\",\"from\":\"b\"}}}");
	int c;

	cr_assert_not_null(p, "%s", err.msg);
	cr_assert_eq(p->nbackends, 1);
	cr_assert_eq(p->backends[0].restart_max, 2);
	cr_assert_eq(p->backends[0].backoff_ms, 10);
	cr_assert(p->backends[0].cwd[0] == '/', "%s", p->backends[0].cwd);
	cr_assert_not_null(strstr(p->backends[0].cwd, "/sub"));
	c = policy_channel_index(p, "c", 1);
	cr_assert_eq(p->channels[c].route, CG_ROUTE_BACKEND);
	cr_assert_eq(p->channels[c].target, 0);
	policy_free(p);
}

Test(policy_backends, a_route_to_nothing_is_an_error)
{
	fails_at("{\"capgate\":1,\n\"channels\":{\"c\":{\"kind\":\"invoke\",\n"
	    "  \"to\":\"nobody\"}}}", 3, 8, "backend declared in \"backends\"");
}

Test(policy_backends, a_backend_needs_exec)
{
	fails_at("{\"capgate\":1,\n\"backends\":{\"b\":{\"exec\":[]}}}", 2, 25,
	    "expected \"exec\"");
	fails_at("{\"capgate\":1,\n\"backends\":{\"b\":{\"exce\":[\"x\"]}}}", 2, 25,
	    "unknown key \"exce\"");
	fails_at("{\"capgate\":1,\n\"backends\":{\"a:b\":{\"exec\":[\"x\"]}}}", 2, 19,
	    "invalid backend name");
}

Test(policy_backends, events_come_from_backends_only)
{
	fails_at("{\"capgate\":1,\n\"channels\":{\"e\":{\"kind\":\"event\","
	    "\"from\":\"builtin:echo\"}}}", 2, 40, "events come from a backend");
}

Test(policy_backends, client_routes_name_a_client_and_are_sends)
{
	struct cg_policy *p;

	fails_at("{\"capgate\":1,\"clients\":{\"a\":{\"grants\":[\"c\"]}},\n"
	    "\"channels\":{\"c\":{\"kind\":\"send\",\"to\":\"client:zz\"}}}", 2, 37,
	    "names no client");
	fails_at("{\"capgate\":1,\"clients\":{\"a\":{\"grants\":[\"c\"]}},\n"
	    "\"channels\":{\"c\":{\"kind\":\"invoke\",\"to\":\"client:a\"}}}", 2, 39,
	    "must be of kind \"send\"");
	p = load("{\"capgate\":1,\"clients\":{\"a\":{\"grants\":[\"c\"]},"
	    "\"b\":{\"grants\":[\"c\"],\"exec\":[\"/bin/true\"]}},"
	    "\"channels\":{\"c\":{\"kind\":\"send\",\"to\":\"client:b\"}}}");
	cr_assert_not_null(p, "%s", err.msg);
	cr_assert_eq(p->channels[0].route, CG_ROUTE_CLIENT);
	cr_assert_eq(p->channels[0].target, 1);
	cr_assert_eq(json_array_size(p->clients[1].exec), 1);
	policy_free(p);
}

Test(policy_backends, fs_channels_need_a_scope_with_a_root)
{
	fails_at("{\"capgate\":1,\n\"channels\":{\"f\":{\"kind\":\"invoke\","
	    "\"to\":\"builtin:fs.read\"}}}", 2, 39, "needs \"scope\"");
	fails_at("{\"capgate\":1,\n\"channels\":{\"f\":{\"kind\":\"invoke\","
	    "\"to\":\"builtin:fs.read\",\"scope\":{\"root\":\"d\",\"wirte\":true}}}}",
	    2, 39, "unknown scope key \"wirte\"");
	fails_at("{\"capgate\":1,\n\"channels\":{\"f\":{\"kind\":\"send\","
	    "\"to\":\"builtin:fs.read\",\"scope\":{\"root\":\"d\"}}}}",
	    2, 37, "does not serve send channels");
}
