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
#define POLICY_PHASE_MAX 16
#define SCHEMA_VIEW_DEPTH 256
#define SCHEMA_VIEW_MIN_DEFS 8

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

static int compile_schema(struct pol_ctx *c, json_t *ch, const char *at,
    const char *chan, const char *key, struct cg_schema **out);
static bool has_id(const json_t *v, int depth);

/* The value at an RFC 6901 pointer inside doc, or NULL. */
static json_t *
pointer_get(json_t *doc, const char *pointer)
{
	char tok[256];

	while (doc != NULL && *pointer == '/') {
		size_t n = 0;
		for (pointer++; *pointer != '\0' && *pointer != '/'; pointer++) {
			char ch = *pointer;
			if (ch == '~' && (pointer[1] == '0' || pointer[1] == '1'))
				ch = *++pointer == '0' ? '~' : '/';
			if (n + 1 < sizeof(tok))
				tok[n++] = ch;
		}
		tok[n] = '\0';
		if (json_is_array(doc)) {
			char *end;
			unsigned long i = strtoul(tok, &end, 10);
			doc = *end == '\0' && n > 0 ? json_array_get(doc, i) : NULL;
		} else {
			doc = json_object_get(doc, tok);
		}
	}
	return *pointer == '\0' ? doc : NULL;
}

/*
 * "definitions": schemas shared by channels through
 * "$ref": "#/definitions/NAME". Each is compiled once here, on its own, so
 * that a broken definition is reported at its own position even if no
 * channel uses it yet.
 */
int
policy_parse_definitions(struct pol_ctx *c, json_t *defs)
{
	const char *name;
	json_t *v;
	struct cg_schema *s;

	if (defs == NULL)
		return 0;
	if (!json_is_object(defs))
		return pol_fail(c, "/definitions", "\"definitions\" must be an "
		    "object of schemas");
	c->defs_have_ids = has_id(defs, 0);
	json_object_foreach(defs, name, v) {
		char at[512];
		pol_pointer(at, sizeof(at), "", "definitions");
		s = NULL;
		if (compile_schema(c, defs, at, NULL, name, &s) != 0 &&
		    pol_next(c) != 0)
			return -1;
		schema_free(s);
	}
	return 0;
}

/* Does the document hold "$id" anywhere (a schema may then be reached by
 * URI rather than by "#/definitions/...")? */
static bool
has_id(const json_t *v, int depth)
{
	const char *key;
	json_t *m;
	size_t i;

	if (depth > SCHEMA_VIEW_DEPTH)
		return true;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (has_id(m, depth + 1))
				return true;
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)(uintptr_t)v, key, m)
			if (strcmp(key, "$id") == 0 || has_id(m, depth + 1))
				return true;
	}
	return false;
}

/*
 * Adds to used every definition that v reaches through "$ref":
 * "#/definitions/NAME...", transitively. Returns -1 for any other kind of
 * reference (then the whole document is needed).
 */
static int
collect_refs(const json_t *v, json_t *defs, json_t *used, int depth)
{
	const char *key, *ref;
	json_t *m, *def;
	size_t i;
	char name[256];

	if (depth > SCHEMA_VIEW_DEPTH)
		return -1;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (collect_refs(m, defs, used, depth + 1) != 0)
				return -1;
		return 0;
	}
	if (!json_is_object(v))
		return 0;
	json_object_foreach((json_t *)(uintptr_t)v, key, m) {
		if (strcmp(key, "$ref") != 0) {
			if (collect_refs(m, defs, used, depth + 1) != 0)
				return -1;
			continue;
		}
		ref = json_string_value(m);
		if (ref == NULL || strncmp(ref, "#/definitions/", 14) != 0 ||
		    strcspn(ref + 14, "/~%") >= sizeof(name))
			return -1;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(ref + 14, "/"),
		    ref + 14);
		if (strchr(name, '~') != NULL || strchr(name, '%') != NULL)
			return -1;
		def = json_object_get(defs, name);
		if (def == NULL || json_object_get(used, name) != NULL)
			continue;
		if (json_object_set(used, name, def) != 0 ||
		    collect_refs(def, defs, used, depth + 1) != 0)
			return -1;
	}
	return 0;
}

/*
 * The document a channel's schema is compiled against. Compiling against
 * the whole policy makes the compiler index every definition for every
 * schema: 10,000 channels times 100 definitions is most of a second. When
 * the schema's references are all "#/definitions/NAME" and no "$id" is in
 * play, a view with the same paths -- the definitions it reaches and the
 * schema itself at /channels/NAME/KEY -- resolves every reference and
 * every error pointer exactly as the whole document would.
 */
static json_t *
schema_root(struct pol_ctx *c, const char *chan, const char *key,
    json_t *schema)
{
	json_t *defs = json_object_get(c->p->doc, "definitions");
	json_t *used, *view;

	/* With a handful of definitions indexing them costs less than
	 * building the view. */
	if (chan == NULL || json_object_size(defs) <= SCHEMA_VIEW_MIN_DEFS ||
	    c->defs_have_ids || has_id(schema, 0))
		return json_incref(c->p->doc);
	used = json_object();
	view = json_pack("{s:o,s:{s:{s:O}}}", "definitions", used, "channels",
	    chan, key, schema);
	if (view == NULL || collect_refs(schema, defs, used, 0) != 0) {
		json_decref(view);
		return json_incref(c->p->doc);
	}
	return view;
}

static int
compile_schema(struct pol_ctx *c, json_t *ch, const char *at,
    const char *chan, const char *key, struct cg_schema **out)
{
	struct cg_schema_options opts = { 0 };
	json_t *s = json_object_get(ch, key);
	struct cg_error serr;
	char sat[520];

	if (s == NULL)
		return 0;
	pol_pointer(sat, sizeof(sat), at, key);
	if (!json_is_object(s) && !json_is_boolean(s))
		return pol_fail(c, sat, "a schema must be an object or a boolean");
	opts.root = schema_root(c, chan, key, s);
	opts.pointer = sat;
	opts.assert_format = true;
	cg_error_clear(&serr);
	*out = schema_compile(s, &opts, &serr);
	json_decref(opts.root);
	if (*out == NULL) {
		/* Name the reference: "JSON pointer names no value" alone does
		 * not say which $ref the author mistyped. */
		json_t *bad = pointer_get(c->p->doc, serr.pointer);
		const char *ref = json_is_string(bad) ? json_string_value(bad) :
		    json_string_value(json_object_get(bad, "$ref"));
		size_t plen = strlen(serr.pointer);
		if (json_is_string(bad) && (plen < 5 ||
		    strcmp(serr.pointer + plen - 5, "/$ref") != 0))
			ref = NULL;
		return pol_fail(c, serr.pointer[0] ? serr.pointer : sat,
		    "schema does not compile: %s%s%s%s", serr.msg,
		    ref ? " (\"$ref\": \"" : "", ref ? ref : "", ref ? "\")" : "");
	}
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
	    "deadline_ms", "uses", "once", "after", "until", "audit",
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
	if (json_object_get(obj, "scope") != NULL)
		ch->scope = json_incref(json_object_get(obj, "scope"));
	if (compile_schema(c, obj, at, name, ch->kind == CG_CHAN_EVENT ?
	    "payload" : "request", &ch->request) != 0 ||
	    compile_schema(c, obj, at, name, "response", &ch->response) != 0)
		return -1;
	if (c->check != NULL) {
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

/* One entry of "after"/"until": a channel that can succeed. */
static int
phase_target(struct pol_ctx *c, size_t i, json_t *v, const char *at,
    const char *key, int32_t *out)
{
	const struct cg_channel *t;

	if (!json_is_string(v))
		return pol_fail(c, at, "\"%s\" must name a channel, or be a list "
		    "of channel names", key);
	*out = policy_channel_index(c->p, json_string_value(v),
	    json_string_length(v));
	if (*out < 0)
		return pol_fail(c, at, "\"%s\" names no channel in this policy",
		    json_string_value(v));
	if ((size_t)*out == i)
		return pol_fail(c, at, "a channel cannot depend on itself");
	t = &c->p->channels[*out];
	if (t->kind == CG_CHAN_EVENT)
		return pol_fail(c, at, "\"%s\" is an event channel, which a "
		    "client never calls: it can never succeed", t->name);
	return 0;
}

/* "after"/"until": a channel name or a non-empty list of them. */
static int
resolve_phase(struct pol_ctx *c, size_t i, const char *key, int32_t **list,
    uint32_t *n)
{
	struct cg_channel *ch = &c->p->channels[i];
	json_t *v = json_object_get(ch->config, key), *e;
	char at[512], kat[600], eat[620];
	size_t count, k;

	if (v == NULL)
		return 0;
	pol_pointer(at, sizeof(at), "/channels", ch->name);
	snprintf(kat, sizeof(kat), "%s/%s", at, key);
	count = json_is_array(v) ? json_array_size(v) : 1;
	if (count == 0 || count > POLICY_PHASE_MAX)
		return pol_fail(c, kat, "\"%s\" lists 1 to %d channels", key,
		    POLICY_PHASE_MAX);
	if ((*list = calloc(count, sizeof(**list))) == NULL)
		return pol_fail(c, kat, "out of memory");
	*n = (uint32_t)count;
	if (!json_is_array(v))
		return phase_target(c, i, v, kat, key, &(*list)[0]);
	json_array_foreach(v, k, e) {
		snprintf(eat, sizeof(eat), "%s/%zu", kat, k);
		if (phase_target(c, i, e, eat, key, &(*list)[k]) != 0)
			return -1;
		for (size_t j = 0; j < k; j++)
			if ((*list)[j] == (*list)[k])
				return pol_fail(c, eat, "\"%s\" is listed twice",
				    json_string_value(e));
	}
	return 0;
}

/* A channel that is in its own "after" and "until" can never be used. */
static int
check_phase_overlap(struct pol_ctx *c, size_t i)
{
	const struct cg_channel *ch = &c->p->channels[i];
	char at[512], kat[600];

	for (uint32_t a = 0; a < ch->nafter; a++) {
		for (uint32_t u = 0; u < ch->nuntil; u++) {
			if (ch->after_all[a] != ch->until_any[u])
				continue;
			pol_pointer(at, sizeof(at), "/channels", ch->name);
			snprintf(kat, sizeof(kat), "%s/until", at);
			return pol_fail(c, kat, "\"%s\" is in both \"after\" and "
			    "\"until\": the channel could never be used",
			    c->p->channels[ch->after_all[a]].name);
		}
	}
	return 0;
}

/*
 * A cycle of "after" (a after b, b after a) makes every channel on it
 * unusable. Iterative depth-first search with colours: 0 unseen, 1 on the
 * current path, 2 done; the path is an explicit stack, so a long chain of
 * 100000 channels cannot overflow the C stack.
 */
static int
check_after_cycles(struct pol_ctx *c)
{
	struct cg_policy *p = c->p;
	unsigned char *colour = calloc(p->nchannels + 1, 1);
	uint32_t *stack = malloc((p->nchannels + 1) * sizeof(*stack));
	uint32_t *next = calloc(p->nchannels + 1, sizeof(*next));
	int rc = 0;

	if (colour == NULL || stack == NULL || next == NULL)
		rc = pol_fail(c, "/channels", "out of memory");
	for (size_t root = 0; rc == 0 && root < p->nchannels; root++) {
		size_t depth = 0;
		if (colour[root] != 0)
			continue;
		stack[depth++] = (uint32_t)root;
		colour[root] = 1;
		while (depth > 0 && rc == 0) {
			uint32_t v = stack[depth - 1];
			const struct cg_channel *ch = &p->channels[v];
			if (next[v] == ch->nafter) {
				colour[v] = 2;
				depth--;
				continue;
			}
			uint32_t w = (uint32_t)ch->after_all[next[v]++];
			if (colour[w] == 1) {
				char at[512], kat[600];
				pol_pointer(at, sizeof(at), "/channels", ch->name);
				snprintf(kat, sizeof(kat), "%s/after", at);
				rc = pol_fail(c, kat, "\"after\" makes a cycle through "
				    "\"%s\": no channel on it can ever be used",
				    p->channels[w].name);
			} else if (colour[w] == 0) {
				colour[w] = 1;
				stack[depth++] = w;
			}
		}
	}
	free(colour);
	free(stack);
	free(next);
	return rc;
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

/* Phases need the index; called after it is built. */
int
policy_resolve_phases(struct pol_ctx *c)
{
	for (size_t i = 0; i < c->p->nchannels; i++) {
		struct cg_channel *ch = &c->p->channels[i];
		if ((resolve_phase(c, i, "after", &ch->after_all, &ch->nafter) != 0 ||
		    resolve_phase(c, i, "until", &ch->until_any, &ch->nuntil) != 0 ||
		    check_phase_overlap(c, i) != 0) && pol_next(c) != 0)
			return -1;
		ch->after = ch->nafter > 0 ? ch->after_all[0] : -1;
		ch->until = ch->nuntil > 0 ? ch->until_any[0] : -1;
	}
	/* a channel that failed above may hold unresolved entries */
	return c->nerrors > 0 ? -1 : check_after_cycles(c);
}

