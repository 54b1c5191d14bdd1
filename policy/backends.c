/*
 * The "backends" section: trusted processes the gateway starts and routes
 * channels to. Pure like the rest of policy/: this only checks and records
 * what the policy says; gateway/backend.c starts them.
 *
 *   "backends": { "notes": { "exec": ["python3", "backend.py"],
 *                            "cwd": ".", "env": { "K": "V" }, "pass": ["PATH"],
 *                            "restart": { "max": 5, "backoff_ms": 100 },
 *                            "sandbox": { ... } } }
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/frame.h"
#include "policy/policy_internal.h"
#include "sandbox/sandbox.h"

#define POLICY_BACKENDS_MAX 64
#define BACKEND_RESTART_DEFAULT 5
#define BACKEND_BACKOFF_DEFAULT_MS 100

static char *
resolve_dir(const char *dir, const char *path)
{
	char *out;

	if (path[0] == '/')
		return strdup(path);
	if (asprintf(&out, "%s/%s", dir, path) < 0)
		return NULL;
	return out;
}

/* A backend name is what "to" names, so it must not look like the other
 * routes ("builtin:", "client:"). */
static bool
backend_name_valid(const char *name)
{
	size_t len = strlen(name);

	return len > 0 && len < 64 && strchr(name, ':') == NULL &&
	    frame_channel_valid(name, len);
}

static int
parse_restart(struct pol_ctx *c, json_t *obj, const char *at,
    struct cg_backend_policy *b)
{
	static const char *const keys[] = { "max", "backoff_ms", NULL };
	json_t *r = json_object_get(obj, "restart");
	char rat[600];

	b->restart_max = BACKEND_RESTART_DEFAULT;
	b->backoff_ms = BACKEND_BACKOFF_DEFAULT_MS;
	if (r == NULL)
		return 0;
	snprintf(rat, sizeof(rat), "%s/restart", at);
	if (!json_is_object(r))
		return pol_fail(c, rat, "\"restart\" must be an object");
	if (pol_check_keys(c, r, rat, keys) != 0 ||
	    pol_get_uint(c, r, rat, "max", 0, 1000, &b->restart_max) != 0 ||
	    pol_get_uint(c, r, rat, "backoff_ms", 1, 600000, &b->backoff_ms) != 0)
		return -1;
	return 0;
}

static int
parse_env_object(struct pol_ctx *c, json_t *obj, const char *at,
    struct cg_backend_policy *b)
{
	json_t *env = json_object_get(obj, "env"), *v;
	const char *name;
	char eat[600];

	if (env == NULL)
		return 0;
	snprintf(eat, sizeof(eat), "%s/env", at);
	if (!json_is_object(env))
		return pol_fail(c, eat, "\"env\" must be an object of strings");
	json_object_foreach(env, name, v) {
		if (!json_is_string(v) || name[0] == '\0' ||
		    strchr(name, '=') != NULL) {
			char vat[700];
			pol_pointer(vat, sizeof(vat), eat, name);
			return pol_fail(c, vat, "expected NAME: \"value\"");
		}
	}
	b->env = json_incref(env);
	return 0;
}

static int
parse_backend_sandbox(struct pol_ctx *c, json_t *obj, const char *at,
    struct cg_backend_policy *b)
{
	json_t *s = json_object_get(obj, "sandbox");
	struct cg_error sub;
	char sat[900];

	if (s == NULL)
		return 0;
	cg_error_clear(&sub);
	b->sandbox = sandbox_config_parse(s, c->p->dir, &sub);
	if (b->sandbox == NULL) {
		snprintf(sat, sizeof(sat), "%s/sandbox%s", at, sub.pointer);
		return pol_fail(c, sat, "%s", sub.msg);
	}
	return 0;
}

static int
parse_backend(struct pol_ctx *c, const char *name, json_t *obj,
    struct cg_backend_policy *b)
{
	static const char *const keys[] = { "exec", "cwd", "env", "pass",
	    "restart", "sandbox", "description", NULL };
	const char *cwd;
	char at[512], xat[600];

	pol_pointer(at, sizeof(at), "/backends", name);
	if (!json_is_object(obj))
		return pol_fail(c, at, "a backend must be an object");
	if (!backend_name_valid(name))
		return pol_fail(c, at, "invalid backend name \"%s\" (1-63 of "
		    "A-Z a-z 0-9 . _ / -, no ':')", name);
	if ((b->name = strdup(name)) == NULL)
		return pol_fail(c, at, "out of memory");
	if (pol_check_keys(c, obj, at, keys) != 0 ||
	    pol_get_string_array(c, obj, at, "exec", &b->argv) != 0 ||
	    pol_get_string_array(c, obj, at, "pass", &b->pass) != 0 ||
	    parse_env_object(c, obj, at, b) != 0 ||
	    parse_restart(c, obj, at, b) != 0 ||
	    parse_backend_sandbox(c, obj, at, b) != 0)
		return -1;
	snprintf(xat, sizeof(xat), "%s/exec", at);
	if (b->argv == NULL || json_array_size(b->argv) == 0)
		return pol_fail(c, b->argv ? xat : at, "expected \"exec\": "
		    "[PROGRAM, ARGS...]");
	cwd = json_string_value(json_object_get(obj, "cwd"));
	if (json_object_get(obj, "cwd") != NULL && cwd == NULL) {
		snprintf(xat, sizeof(xat), "%s/cwd", at);
		return pol_fail(c, xat, "\"cwd\" must be a directory path");
	}
	b->cwd = resolve_dir(c->p->dir, cwd ? cwd : ".");
	if (b->cwd == NULL)
		return pol_fail(c, at, "out of memory");
	return 0;
}

int
policy_parse_backends(struct pol_ctx *c, json_t *backends)
{
	const char *name;
	json_t *v;
	size_t n = 0;

	if (backends == NULL)
		return 0;
	if (!json_is_object(backends))
		return pol_fail(c, "/backends", "\"backends\" must be an object");
	if (json_object_size(backends) > POLICY_BACKENDS_MAX)
		return pol_fail(c, "/backends", "more than %d backends",
		    POLICY_BACKENDS_MAX);
	c->p->backends = calloc(json_object_size(backends) + 1,
	    sizeof(*c->p->backends));
	if (c->p->backends == NULL)
		return pol_fail(c, "/backends", "out of memory");
	json_object_foreach(backends, name, v) {
		c->p->nbackends = ++n;
		if (parse_backend(c, name, v, &c->p->backends[n - 1]) != 0)
			return -1;
	}
	return 0;
}

int
policy_backend_index(const struct cg_policy *p, const char *name)
{
	for (size_t i = 0; i < p->nbackends; i++)
		if (strcmp(p->backends[i].name, name) == 0)
			return (int)i;
	return -1;
}

void
policy_free_backends(struct cg_policy *p)
{
	for (size_t i = 0; i < p->nbackends; i++) {
		struct cg_backend_policy *b = &p->backends[i];
		free(b->name);
		json_decref(b->argv);
		json_decref(b->env);
		json_decref(b->pass);
		free(b->cwd);
		sandbox_config_free(b->sandbox);
	}
	free(p->backends);
}

/*
 * Client-to-client routes name a client, and clients are parsed after
 * channels; resolved here once both are known. Only "send" channels can go
 * to a client: a client never answers requests.
 */
int
policy_resolve_routes(struct pol_ctx *c)
{
	for (size_t i = 0; i < c->p->nchannels; i++) {
		struct cg_channel *ch = &c->p->channels[i];
		const struct cg_client_policy *cl;
		char at[512], tat[600];

		if (ch->route != CG_ROUTE_CLIENT)
			continue;
		pol_pointer(at, sizeof(at), "/channels", ch->name);
		snprintf(tat, sizeof(tat), "%s/to", at);
		if (ch->kind != CG_CHAN_SEND)
			return pol_fail(c, tat, "a channel to a client must be of "
			    "kind \"send\"");
		cl = policy_client(c->p, ch->handler + strlen("client:"));
		if (cl == NULL)
			return pol_fail(c, tat, "\"%s\" names no client in this policy",
			    ch->handler);
		ch->target = (int)(cl - c->p->clients);
	}
	return 0;
}
