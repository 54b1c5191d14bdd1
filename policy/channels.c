/*
 * The "channels" section: what exists, its kind, handler, schemas and
 * limits. Schemas are compiled in definitions.c, phases resolved in
 * phases.c, grants expanded in grants.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/frame.h"
#include "policy/policy_internal.h"
#include "policy/schema.h"

#define POLICY_CHANNELS_MAX 100000

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
	/* %lu alone would take " 5/s", "+5/s" and "-18446744073709551615/s"
	 * (which wraps to 1): the count must start with a digit */
	if (!json_is_string(v) || !isdigit((unsigned char)json_string_value(v)[0]) ||
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

/* "burst": the bucket size, i.e. how many calls may come back to back
 * after a quiet spell. Without it the bucket holds one period's worth. */
static int
parse_burst(struct pol_ctx *c, json_t *ch, const char *at,
    struct cg_channel *out)
{
	uint32_t burst = 0;
	char bat[520];

	if (json_object_get(ch, "burst") == NULL)
		return 0;
	snprintf(bat, sizeof(bat), "%s/burst", at);
	if (pol_get_uint(c, ch, at, "burst", 1, 10000000, &burst) != 0)
		return -1;
	if (json_object_get(ch, "rate") == NULL)
		return pol_fail(c, bat, "\"burst\" needs a \"rate\" (the bucket's "
		    "refill rate)");
	out->rate.burst = (double)burst;
	out->has_burst = true;
	return 0;
}

/* Keys that belong to another kind are errors, not no-ops: "request" on an
 * event channel would otherwise leave its payload unchecked. */
static int
check_kind_keys(struct pol_ctx *c, json_t *obj, const char *at,
    enum cg_channel_kind kind)
{
	static const char *const not_event[] = { "to", "request", "response",
	    "inflight", "deadline_ms", NULL };
	static const char *const not_invoke[] = { "from", "payload", NULL };
	/* in-flight counts invokes awaiting their reply: a send has none */
	static const char *const not_send[] = { "from", "payload", "inflight",
	    NULL };
	const char *const *bad = kind == CG_CHAN_EVENT ? not_event :
	    kind == CG_CHAN_SEND ? not_send : not_invoke;
	char kat[600];

	for (size_t i = 0; bad[i] != NULL; i++) {
		if (json_object_get(obj, bad[i]) == NULL)
			continue;
		snprintf(kat, sizeof(kat), "%s/%s", at, bad[i]);
		return pol_fail(c, kat, "\"%s\" is not a key of %s channels%s",
		    bad[i], policy_kind_name(kind), kind == CG_CHAN_EVENT ?
		    " (an event has \"from\" and \"payload\")" :
		    strcmp(bad[i], "inflight") == 0 ? " (a send has no reply "
		    "to wait for)" :
		    " (\"from\" and \"payload\" are for event channels)");
	}
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
	struct cg_error herr;
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
	/* Not a declared backend: the caller's hook has the last word (the
	 * gateway's knows only built-ins; a checker may accept anything). */
	if (ch->target < 0 && (c->check == NULL ||
	    c->check(ch->handler, ch, &herr) != 0))
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
	ch->has_max_bytes = json_object_get(obj, "max_bytes") != NULL;
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
	    check_kind_keys(c, obj, at, ch->kind) != 0 ||
	    pol_get_string(c, obj, at, "description", NULL) != 0 ||
	    parse_rate(c, obj, at, &ch->rate) != 0 ||
	    parse_burst(c, obj, at, ch) != 0 ||
	    pol_get_uint(c, obj, at, "max_bytes", CG_FRAME_HEADER_LEN + 1,
	    c->p->limits.frame_max, &ch->max_bytes) != 0 ||
	    pol_get_uint(c, obj, at, "inflight", 1, 4096, &ch->max_inflight) != 0 ||
	    pol_get_uint(c, obj, at, "deadline_ms", 1, 3600000, &ch->deadline_ms) != 0 ||
	    pol_get_uint(c, obj, at, "fds", 0, CG_FRAME_MAX_FDS, &ch->max_fds) != 0 ||
	    pol_get_uint(c, obj, at, "uses", 1, UINT32_MAX, &ch->uses) != 0 ||
	    pol_get_bool(c, obj, at, "once", &once) != 0 ||
	    parse_channel_audit(c, obj, at, &ch->audit) != 0)
		return -1;
	if (json_object_get(obj, "once") != NULL &&
	    json_object_get(obj, "uses") != NULL) {
		char oat[600];
		snprintf(oat, sizeof(oat), "%s/once", at);
		return pol_fail(c, oat, "\"once\" and \"uses\" both say how often "
		    "the channel may be used: keep one");
	}
	if (once)
		ch->uses = 1;
	if (ch->max_bytes < CG_FRAME_HEADER_LEN + strlen(name)) {
		char mat[600];
		snprintf(mat, sizeof(mat), "%s/max_bytes", at);
		return pol_fail(c, mat, "\"max_bytes\" is less than the %d-byte "
		    "header plus the channel name (%zu bytes): no frame could "
		    "ever fit", CG_FRAME_HEADER_LEN, CG_FRAME_HEADER_LEN +
		    strlen(name));
	}
	to = json_string_value(json_object_get(obj,
	    ch->kind == CG_CHAN_EVENT ? "from" : "to"));
	if (to == NULL || to[0] == '\0') {
		char tat[520];
		snprintf(tat, sizeof(tat), "%s%s", at, json_object_get(obj,
		    ch->kind == CG_CHAN_EVENT ? "from" : "to") == NULL ? "" :
		    ch->kind == CG_CHAN_EVENT ? "/from" : "/to");
		return pol_fail(c, tat, "expected \"%s\": a handler such as "
		    "\"builtin:echo\" or a backend name",
		    ch->kind == CG_CHAN_EVENT ? "from" : "to");
	}
	if ((ch->handler = strdup(to)) == NULL)
		return pol_fail(c, at, "out of memory");
	if (parse_scope(c, obj, at, ch) != 0 ||
	    pol_compile_schema(c, obj, at, name, ch->kind == CG_CHAN_EVENT ?
	    "payload" : "request", &ch->request) != 0 ||
	    pol_compile_schema(c, obj, at, name, "response", &ch->response) != 0)
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
		if (parse_channel(c, name, v, &c->p->channels[n - 1]) != 0 &&
		    pol_next(c) != 0)
			return -1;
	}
	return 0;
}

