/*
 * The "channels" and "clients" sections: what exists, and who may use it.
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/frame.h"
#include "policy/policy_internal.h"
#include "policy/schema.h"

#define POLICY_CHANNELS_MAX 100000
#define POLICY_CLIENTS_MAX 1024

static int
parse_kind(struct pol_ctx *c, json_t *ch, const char *at,
    enum cg_channel_kind *out)
{
	const char *s = json_string_value(json_object_get(ch, "kind"));
	char kat[520];

	snprintf(kat, sizeof(kat), "%s/kind", at);
	if (s == NULL)
		return pol_fail(c, json_object_get(ch, "kind") ? kat : at,
		    "expected \"kind\": \"invoke\", \"send\" or \"event\"");
	if (strcmp(s, "invoke") == 0)
		*out = CG_CHAN_INVOKE;
	else if (strcmp(s, "send") == 0)
		*out = CG_CHAN_SEND;
	else if (strcmp(s, "event") == 0)
		*out = CG_CHAN_EVENT;
	else
		return pol_fail(c, kat, "unknown kind \"%s\" (expected \"invoke\", "
		    "\"send\" or \"event\")", s);
	return 0;
}

/* "20/s", "100/min", "5/h": a token bucket refill rate. */
static int
parse_rate(struct pol_ctx *c, json_t *ch, const char *at,
    struct cg_rate *out)
{
	json_t *v = json_object_get(ch, "rate");
	char rat[520], unit[8] = "";
	unsigned long n = 0;
	int used = 0;
	double per;

	if (v == NULL)
		return 0;
	snprintf(rat, sizeof(rat), "%s/rate", at);
	if (!json_is_string(v) ||
	    sscanf(json_string_value(v), "%lu/%7[a-z]%n", &n, unit, &used) != 2 ||
	    json_string_value(v)[used] != '\0' || n == 0 || n > 10000000)
		return pol_fail(c, rat, "expected a rate such as \"20/s\", "
		    "\"100/min\" or \"5/h\"");
	if (strcmp(unit, "s") == 0)
		per = 1;
	else if (strcmp(unit, "min") == 0 || strcmp(unit, "m") == 0)
		per = 60;
	else if (strcmp(unit, "h") == 0)
		per = 3600;
	else
		return pol_fail(c, rat, "unknown rate unit \"%s\" (expected s, min or h)",
		    unit);
	out->per_sec = (double)n / per;
	out->burst = (double)n;
	return 0;
}

static int
compile_schema(struct pol_ctx *c, json_t *ch, const char *at,
    const char *key, struct cg_schema **out)
{
	struct cg_schema_options opts = { 0 };
	json_t *s = json_object_get(ch, key);
	struct cg_error serr;
	char sat[520];

	if (s == NULL)
		return 0;
	snprintf(sat, sizeof(sat), "%s/%s", at, key);
	opts.root = c->p->doc;
	opts.pointer = sat;
	opts.assert_format = true;
	cg_error_clear(&serr);
	*out = schema_compile(s, &opts, &serr);
	if (*out == NULL)
		return pol_fail(c, serr.pointer[0] ? serr.pointer : sat,
		    "schema does not compile: %s", serr.msg);
	return 0;
}

/* A scope's "root" is relative to the policy file, like every other path
 * in it; the handler that uses the scope checks the rest of it. */
static int
parse_scope(struct pol_ctx *c, json_t *obj, const char *at,
    struct cg_channel *ch)
{
	json_t *scope = json_object_get(obj, "scope");
	const char *root;
	char sat[600];

	if (scope == NULL)
		return 0;
	snprintf(sat, sizeof(sat), "%s/scope", at);
	if (!json_is_object(scope))
		return pol_fail(c, sat, "\"scope\" must be an object");
	ch->scope = json_incref(scope);
	if (json_object_get(scope, "root") == NULL)
		return 0;
	root = json_string_value(json_object_get(scope, "root"));
	if (root == NULL || root[0] == '\0') {
		snprintf(sat, sizeof(sat), "%s/scope/root", at);
		return pol_fail(c, sat, "\"root\" must be a directory path");
	}
	if (root[0] == '/')
		ch->scope_root = strdup(root);
	else if (asprintf(&ch->scope_root, "%s/%s", c->p->dir, root) < 0)
		ch->scope_root = NULL;
	if (ch->scope_root == NULL)
		return pol_fail(c, sat, "out of memory");
	return 0;
}

/*
 * "to" (or an event's "from") picks the route: "builtin:NAME" is checked by
 * the gateway's handler table, "client:NAME" once the clients are known,
 * anything else must name a declared backend.
 */
static int
parse_route(struct pol_ctx *c, const char *at, struct cg_channel *ch)
{
	char tat[600];

	snprintf(tat, sizeof(tat), "%s/%s", at,
	    ch->kind == CG_CHAN_EVENT ? "from" : "to");
	if (strncmp(ch->handler, "builtin:", 8) == 0) {
		ch->route = CG_ROUTE_BUILTIN;
		if (ch->kind == CG_CHAN_EVENT)
			return pol_fail(c, tat, "events come from a backend, not "
			    "from a built-in");
		return 0;
	}
	if (strncmp(ch->handler, "client:", 7) == 0) {
		ch->route = CG_ROUTE_CLIENT;
		if (ch->kind == CG_CHAN_EVENT)
			return pol_fail(c, tat, "events come from a backend, not "
			    "from a client");
		return 0;
	}
	ch->route = CG_ROUTE_BACKEND;
	ch->target = policy_backend_index(c->p, ch->handler);
	if (ch->target < 0)
		return pol_fail(c, tat, "\"%s\" is not \"builtin:NAME\", "
		    "\"client:NAME\" or a backend declared in \"backends\"",
		    ch->handler);
	return 0;
}

/* "audit": "digest" (default), "payload", "none" or {"redact": [...]}. */
static int
parse_channel_audit(struct pol_ctx *c, json_t *ch, const char *at,
    struct cg_audit_channel *out)
{
	json_t *v = json_object_get(ch, "audit");
	struct cg_error sub;
	char aat[800];

	if (v == NULL)
		return 0;
	cg_error_clear(&sub);
	if (audit_channel_parse(v, out, &sub) == 0)
		return 0;
	snprintf(aat, sizeof(aat), "%s/audit%s", at, sub.pointer);
	return pol_fail(c, aat, "%s", sub.msg);
}

static int
parse_channel(struct pol_ctx *c, const char *name, json_t *obj,
    struct cg_channel *ch)
{
	static const char *const keys[] = { "kind", "to", "from", "request",
	    "response", "payload", "max_bytes", "rate", "burst", "inflight",
	    "deadline_ms", "uses", "once", "after", "until", "audit", "fds",
	    "scope", "description", NULL };
	char at[512];
	const char *to;
	bool once = false;

	pol_pointer(at, sizeof(at), "/channels", name);
	ch->after = ch->until = -1;
	ch->max_bytes = c->p->limits.frame_max;
	ch->deadline_ms = 5000;
	ch->config = (json_t *)obj;
	if (!json_is_object(obj))
		return pol_fail(c, at, "a channel must be an object");
	if (!frame_channel_valid(name, strlen(name)))
		return pol_fail(c, at, "invalid channel name \"%s\" (1-%d of "
		    "A-Z a-z 0-9 . _ : / -)", name, CG_CHANNEL_MAX);
	if ((ch->name = strdup(name)) == NULL)
		return pol_fail(c, at, "out of memory");
	if (pol_check_keys(c, obj, at, keys) != 0 ||
	    parse_kind(c, obj, at, &ch->kind) != 0 ||
	    parse_rate(c, obj, at, &ch->rate) != 0 ||
	    pol_get_uint(c, obj, at, "max_bytes", CG_FRAME_HEADER_LEN + 1,
	    c->p->limits.frame_max, &ch->max_bytes) != 0 ||
	    pol_get_uint(c, obj, at, "inflight", 1, 4096, &ch->max_inflight) != 0 ||
	    pol_get_uint(c, obj, at, "deadline_ms", 1, 3600000, &ch->deadline_ms) != 0 ||
	    pol_get_uint(c, obj, at, "fds", 0, CG_FRAME_MAX_FDS, &ch->max_fds) != 0 ||
	    pol_get_uint(c, obj, at, "uses", 1, UINT32_MAX, &ch->uses) != 0 ||
	    pol_get_bool(c, obj, at, "once", &once) != 0 ||
	    parse_channel_audit(c, obj, at, &ch->audit) != 0)
		return -1;
	if (once)
		ch->uses = 1;
	to = json_string_value(json_object_get(obj,
	    ch->kind == CG_CHAN_EVENT ? "from" : "to"));
	if (to == NULL) {
		char tat[520];
		snprintf(tat, sizeof(tat), "%s", at);
		return pol_fail(c, tat, "expected \"%s\": a handler such as "
		    "\"builtin:echo\" or a backend name",
		    ch->kind == CG_CHAN_EVENT ? "from" : "to");
	}
	if ((ch->handler = strdup(to)) == NULL)
		return pol_fail(c, at, "out of memory");
	if (parse_scope(c, obj, at, ch) != 0 ||
	    compile_schema(c, obj, at, ch->kind == CG_CHAN_EVENT ? "payload" :
	    "request", &ch->request) != 0 ||
	    compile_schema(c, obj, at, "response", &ch->response) != 0)
		return -1;
	if (parse_route(c, at, ch) != 0)
		return -1;
	if (ch->route == CG_ROUTE_BUILTIN && c->check != NULL) {
		struct cg_error herr;
		char hat[520];
		cg_error_clear(&herr);
		snprintf(hat, sizeof(hat), "%s/%s", at,
		    ch->kind == CG_CHAN_EVENT ? "from" : "to");
		if (c->check(ch->handler, ch, &herr) != 0)
			return pol_fail(c, herr.pointer[0] ? herr.pointer : hat,
			    "%s", herr.msg);
	}
	return 0;
}

static int
resolve_phase(struct pol_ctx *c, size_t i, const char *key, int *out)
{
	struct cg_channel *ch = &c->p->channels[i];
	json_t *v = json_object_get(ch->config, key);
	char at[512], kat[600];

	if (v == NULL)
		return 0;
	pol_pointer(at, sizeof(at), "/channels", ch->name);
	snprintf(kat, sizeof(kat), "%s/%s", at, key);
	if (!json_is_string(v))
		return pol_fail(c, kat, "\"%s\" must name a channel", key);
	*out = policy_channel_index(c->p, json_string_value(v),
	    strlen(json_string_value(v)));
	if (*out < 0)
		return pol_fail(c, kat, "\"%s\" names no channel in this policy",
		    json_string_value(v));
	if ((size_t)*out == i)
		return pol_fail(c, kat, "a channel cannot depend on itself");
	return 0;
}

int
policy_parse_channels(struct pol_ctx *c, json_t *channels)
{
	const char *name;
	json_t *v;
	size_t n = 0;

	if (channels == NULL)
		return 0;
	if (!json_is_object(channels))
		return pol_fail(c, "/channels", "\"channels\" must be an object");
	if (json_object_size(channels) > POLICY_CHANNELS_MAX)
		return pol_fail(c, "/channels", "more than %d channels",
		    POLICY_CHANNELS_MAX);
	c->p->channels = calloc(json_object_size(channels) + 1,
	    sizeof(*c->p->channels));
	if (c->p->channels == NULL)
		return pol_fail(c, "/channels", "out of memory");
	json_object_foreach(channels, name, v) {
		c->p->nchannels = ++n;
		if (parse_channel(c, name, v, &c->p->channels[n - 1]) != 0)
			return -1;
	}
	return 0;
}

/* Phases need the index; called after it is built. */
int
policy_resolve_phases(struct pol_ctx *c)
{
	for (size_t i = 0; i < c->p->nchannels; i++)
		if (resolve_phase(c, i, "after", &c->p->channels[i].after) != 0 ||
		    resolve_phase(c, i, "until", &c->p->channels[i].until) != 0)
			return -1;
	return 0;
}

/*
 * Expands a client's glob grants into its slot table. A grant that matches
 * no channel is an error when the author wrote it (a typo would otherwise
 * silently grant nothing).
 */
static int
expand_grants(struct pol_ctx *c, struct cg_client_policy *cl, const char *at,
    bool must_match)
{
	struct cg_policy *p = c->p;
	json_t *g;
	size_t gi;

	cl->slot = malloc((p->nchannels + 1) * sizeof(*cl->slot));
	cl->slot_channel = malloc((p->nchannels + 1) * sizeof(*cl->slot_channel));
	if (cl->slot == NULL || cl->slot_channel == NULL)
		return pol_fail(c, at, "out of memory");
	for (size_t i = 0; i < p->nchannels; i++)
		cl->slot[i] = -1;
	json_array_foreach(cl->grants, gi, g) {
		const char *pat = json_string_value(g);
		size_t matched = 0;
		for (size_t i = 0; i < p->nchannels; i++) {
			if (fnmatch(pat, p->channels[i].name, 0) != 0)
				continue;
			matched++;
			if (cl->slot[i] >= 0)
				continue;
			cl->slot[i] = (int32_t)cl->nslots;
			cl->slot_channel[cl->nslots++] = (uint32_t)i;
		}
		if (matched == 0 && must_match) {
			char gat[600];
			snprintf(gat, sizeof(gat), "%s/grants/%zu", at, gi);
			return pol_fail(c, gat, "grant \"%s\" matches no channel", pat);
		}
	}
	return 0;
}

static int
parse_client(struct pol_ctx *c, const char *name, json_t *obj,
    struct cg_client_policy *cl)
{
	static const char *const keys[] = { "grants", "exec", "description",
	    NULL };
	char at[512], xat[600];

	pol_pointer(at, sizeof(at), "/clients", name);
	if (!json_is_object(obj))
		return pol_fail(c, at, "a client must be an object");
	if (name[0] == '\0' || strlen(name) > 63)
		return pol_fail(c, at, "a client name has 1-63 characters");
	if ((cl->name = strdup(name)) == NULL)
		return pol_fail(c, at, "out of memory");
	if (pol_check_keys(c, obj, at, keys) != 0 ||
	    pol_get_string_array(c, obj, at, "grants", &cl->grants) != 0 ||
	    pol_get_string_array(c, obj, at, "exec", &cl->exec) != 0)
		return -1;
	snprintf(xat, sizeof(xat), "%s/exec", at);
	if (cl->exec != NULL && json_array_size(cl->exec) == 0)
		return pol_fail(c, xat, "expected \"exec\": [PROGRAM, ARGS...]");
	if (cl->grants == NULL)
		return pol_fail(c, at, "expected \"grants\": an array of channel "
		    "names or globs");
	return expand_grants(c, cl, at, true);
}

int
policy_parse_clients(struct pol_ctx *c, json_t *clients)
{
	const char *name;
	json_t *v;
	size_t n = 0;

	if (clients == NULL) {
		/* A single-client policy: the client is "main" and is granted
		 * every channel the policy declares. */
		c->p->clients = calloc(1, sizeof(*c->p->clients));
		if (c->p->clients == NULL)
			return pol_fail(c, "", "out of memory");
		c->p->nclients = 1;
		c->p->clients[0].name = strdup("main");
		c->p->clients[0].grants = json_pack("[s]", "*");
		if (c->p->clients[0].name == NULL || c->p->clients[0].grants == NULL)
			return pol_fail(c, "", "out of memory");
		return expand_grants(c, &c->p->clients[0], "", false);
	}
	if (!json_is_object(clients) || json_object_size(clients) == 0)
		return pol_fail(c, "/clients", "\"clients\" must be a non-empty object");
	if (json_object_size(clients) > POLICY_CLIENTS_MAX)
		return pol_fail(c, "/clients", "more than %d clients",
		    POLICY_CLIENTS_MAX);
	c->p->clients = calloc(json_object_size(clients), sizeof(*c->p->clients));
	if (c->p->clients == NULL)
		return pol_fail(c, "/clients", "out of memory");
	json_object_foreach(clients, name, v) {
		c->p->nclients = ++n;
		if (parse_client(c, name, v, &c->p->clients[n - 1]) != 0)
			return -1;
	}
	return 0;
}
