/*
 * Policy loader. The file is parsed once with jansson; every section is
 * checked against a table of known keys (an unknown key is an error, not a
 * silent no-op: a typo in "additionalProperties" must not open a channel),
 * schemas are compiled, names are resolved, and grants are expanded into a
 * per-client slot table so the per-message path is one hash lookup and one
 * array read.
 *
 * Errors are recorded with the JSON pointer of the offending value; once
 * loading stops, the pointer is mapped to line:column in the file text.
 */
#include "policy/policy.h"

#include <errno.h>
#include <fnmatch.h>
#include <libgen.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "gateway/frame.h"
#include "policy/jsonpos.h"
#include "policy/policy_internal.h"
#include "policy/schema.h"
#include "sandbox/sandbox.h"

#define POLICY_FILE_MAX (16u * 1024u * 1024u)
#define POLICY_VERSION 1

int
pol_fail(struct pol_ctx *c, const char *pointer, const char *fmt, ...)
{
	va_list ap;

	if (c->err == NULL)
		return -1;
	cg_error_set_pointer(c->err, pointer);
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static uint64_t name_hash(const char *s, size_t len);

/* Maps err->pointer to line:column in text. */
static void
locate(struct cg_jsonpos **pos, struct cg_error *err, const char *text,
    size_t len)
{
	if (*pos == NULL)
		*pos = jsonpos_index(text, len);
	if (*pos == NULL ||
	    jsonpos_lookup(*pos, err->pointer, &err->line, &err->column) < 0) {
		err->line = 1;
		err->column = 1;
	}
	/* A pointer that filled its buffer was cut: the position found is an
	 * enclosing value's, and the message says so rather than mislead. */
	if (strlen(err->pointer) == sizeof(err->pointer) - 1) {
		size_t n = strlen(err->msg);

		snprintf(err->msg + n, sizeof(err->msg) - n, " (the position is "
		    "that of an enclosing value: the location's JSON pointer is "
		    "longer than %zu bytes)", sizeof(err->pointer) - 1);
	}
}

int
pol_next(struct pol_ctx *c)
{
	uint64_t h;
	bool seen = false;

	if (c->report == NULL || c->err == NULL || c->nerrors >= POL_ERRORS_MAX)
		return -1;
	locate(&c->pos, c->err, c->text, c->len);
	/* A broken definition also breaks every channel that uses it, at the
	 * same place: say it once. */
	h = name_hash(c->err->pointer, strlen(c->err->pointer)) ^
	    name_hash(c->err->msg, strlen(c->err->msg)) * 31u;
	for (unsigned i = 0; i < c->nerrors && !seen; i++)
		seen = c->seen[i] == h;
	if (!seen) {
		if (c->nerrors == 0)
			c->first = *c->err;
		c->seen[c->nerrors++] = h;
		c->report(c->report_ctx, c->err);
	}
	c->err->msg[0] = '\0';
	c->err->pointer[0] = '\0';
	c->err->line = c->err->column = 0;
	return 0;
}

void
pol_pointer(char *out, size_t len, const char *base, const char *token)
{
	size_t n = (size_t)snprintf(out, len, "%s/", base);

	for (const char *s = token; *s != '\0' && n + 3 < len; s++) {
		if (*s == '~' || *s == '/') {
			out[n++] = '~';
			out[n++] = *s == '~' ? '0' : '1';
		} else {
			out[n++] = *s;
		}
	}
	out[n < len ? n : len - 1] = '\0';
}

int
pol_check_keys(struct pol_ctx *c, json_t *obj, const char *pointer,
    const char *const *allowed)
{
	const char *key;
	json_t *v;
	char at[512];

	json_object_foreach(obj, key, v) {
		size_t i;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], key) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		pol_pointer(at, sizeof(at), pointer, key);
		char list[256] = "";
		for (i = 0; allowed[i] != NULL; i++) {
			strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
			strncat(list, allowed[i], sizeof(list) - strlen(list) - 1);
		}
		return pol_fail(c, at, "unknown key \"%s\" (expected one of: %s)",
		    key, list);
	}
	return 0;
}

int
pol_get_uint(struct pol_ctx *c, json_t *obj, const char *pointer,
    const char *key, uint64_t min, uint64_t max, uint32_t *out)
{
	json_t *v = json_object_get(obj, key);
	char at[512];

	if (v == NULL)
		return 0;
	pol_pointer(at, sizeof(at), pointer, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min ||
	    (uint64_t)json_integer_value(v) > max)
		return pol_fail(c, at, "\"%s\" must be an integer from %llu to %llu",
		    key, (unsigned long long)min, (unsigned long long)max);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

int
pol_get_bool(struct pol_ctx *c, json_t *obj, const char *pointer,
    const char *key, bool *out)
{
	json_t *v = json_object_get(obj, key);
	char at[512];

	if (v == NULL)
		return 0;
	pol_pointer(at, sizeof(at), pointer, key);
	if (!json_is_boolean(v))
		return pol_fail(c, at, "\"%s\" must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

int
pol_get_string(struct pol_ctx *c, json_t *obj, const char *pointer,
    const char *key, const char **out)
{
	json_t *v = json_object_get(obj, key);
	char at[512];

	if (v == NULL)
		return 0;
	pol_pointer(at, sizeof(at), pointer, key);
	if (!json_is_string(v))
		return pol_fail(c, at, "\"%s\" must be a string", key);
	if (out != NULL)
		*out = json_string_value(v);
	return 0;
}

int
pol_get_string_array(struct pol_ctx *c, json_t *obj, const char *pointer,
    const char *key, json_t **out)
{
	json_t *v = json_object_get(obj, key), *e;
	char at[512], eat[520];
	size_t i;

	if (v == NULL)
		return 0;
	pol_pointer(at, sizeof(at), pointer, key);
	if (!json_is_array(v))
		return pol_fail(c, at, "\"%s\" must be an array of strings", key);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e)) {
			snprintf(eat, sizeof(eat), "%s/%zu", at, i);
			return pol_fail(c, eat, "expected a string");
		}
	}
	*out = json_incref(v);
	return 0;
}

/* The index maps channel names to indices with open addressing; it is
 * built once at load and never changes, so lookups need no locking. */
static uint64_t
name_hash(const char *s, size_t len)
{
	uint64_t h = 1469598103934665603u;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211u;
	}
	return h;
}

static int
build_index(struct cg_policy *p)
{
	size_t cap = 16;

	while (cap < p->nchannels * 2 + 1)
		cap *= 2;
	p->index = calloc(cap, sizeof(*p->index));
	if (p->index == NULL)
		return -1;
	p->index_cap = cap;
	for (size_t i = 0; i < p->nchannels; i++) {
		const char *n = p->channels[i].name;
		size_t h = name_hash(n, strlen(n)) & (cap - 1);
		while (p->index[h] != 0)
			h = (h + 1) & (cap - 1);
		p->index[h] = (uint32_t)i + 1;
	}
	return 0;
}

int
policy_channel_index(const struct cg_policy *p, const char *name, size_t len)
{
	size_t mask = p->index_cap - 1;
	size_t h;

	if (p->index_cap == 0)
		return -1;
	h = name_hash(name, len) & mask;
	while (p->index[h] != 0) {
		const struct cg_channel *ch = &p->channels[p->index[h] - 1];
		if (strncmp(ch->name, name, len) == 0 && ch->name[len] == '\0')
			return (int)(p->index[h] - 1);
		h = (h + 1) & mask;
	}
	return -1;
}

int
policy_lookup_grant(const struct cg_policy *p,
    const struct cg_client_policy *cl, const char *name, size_t len,
    int32_t *slot)
{
	int idx = policy_channel_index(p, name, len);

	if (idx < 0)
		return -1;
	*slot = cl->slot[idx];
	return *slot < 0 ? -2 : idx;
}

const struct cg_client_policy *
policy_client(const struct cg_policy *p, const char *name)
{
	for (size_t i = 0; i < p->nclients; i++)
		if (strcmp(p->clients[i].name, name) == 0)
			return &p->clients[i];
	return NULL;
}

const char *
policy_kind_name(enum cg_channel_kind kind)
{
	switch (kind) {
	case CG_CHAN_INVOKE:
		return "invoke";
	case CG_CHAN_SEND:
		return "send";
	case CG_CHAN_EVENT:
		return "event";
	}
	return "unknown";
}

static int
parse_env(struct pol_ctx *c, json_t *env)
{
	static const char *const keys[] = { "pass", "set", NULL };
	const char *name;
	json_t *v;
	char at[512];

	if (env == NULL)
		return 0;
	if (!json_is_object(env))
		return pol_fail(c, "/env", "\"env\" must be an object");
	if (pol_check_keys(c, env, "/env", keys) != 0 ||
	    pol_get_string_array(c, env, "/env", "pass", &c->p->env.pass) != 0)
		return -1;
	v = json_object_get(env, "set");
	if (v == NULL)
		return 0;
	if (!json_is_object(v))
		return pol_fail(c, "/env/set", "\"set\" must be an object of strings");
	c->p->env.set = json_incref(v);
	json_object_foreach(c->p->env.set, name, v) {
		pol_pointer(at, sizeof(at), "/env/set", name);
		if (!json_is_string(v))
			return pol_fail(c, at, "expected a string value");
		if (name[0] == '\0' || strchr(name, '=') != NULL)
			return pol_fail(c, at, "invalid variable name");
	}
	return 0;
}

static int
parse_limits(struct pol_ctx *c, json_t *lim)
{
	static const char *const keys[] = { "frame_max", "json_depth",
	    "json_members", "inflight", "queue_bytes", "handshake_ms",
	    "on_violation", NULL };
	struct cg_limits *l = &c->p->limits;
	json_t *v;

	l->frame_max = CG_FRAME_MAX;
	l->json_depth = CG_JSON_DEFAULT_DEPTH;
	l->json_members = CG_JSON_DEFAULT_MEMBERS;
	l->inflight = 64;
	l->queue_bytes = 4u * 1024u * 1024u;
	l->handshake_ms = 5000;
	l->kill_on_violation = true;
	if (lim == NULL)
		return 0;
	if (!json_is_object(lim))
		return pol_fail(c, "/limits", "\"limits\" must be an object");
	if (pol_check_keys(c, lim, "/limits", keys) != 0 ||
	    pol_get_uint(c, lim, "/limits", "frame_max", CG_FRAME_HEADER_LEN + 1,
	    CG_FRAME_MAX, &l->frame_max) != 0 ||
	    pol_get_uint(c, lim, "/limits", "json_depth", 1, 256, &l->json_depth) != 0 ||
	    pol_get_uint(c, lim, "/limits", "json_members", 1, 1u << 20,
	    &l->json_members) != 0 ||
	    pol_get_uint(c, lim, "/limits", "inflight", 1, 4096, &l->inflight) != 0 ||
	    pol_get_uint(c, lim, "/limits", "queue_bytes", 65536, 1u << 30,
	    &l->queue_bytes) != 0 ||
	    pol_get_uint(c, lim, "/limits", "handshake_ms", 10, 600000,
	    &l->handshake_ms) != 0)
		return -1;
	v = json_object_get(lim, "on_violation");
	if (v != NULL) {
		const char *s = json_string_value(v);
		if (s == NULL || (strcmp(s, "kill") != 0 && strcmp(s, "deny") != 0))
			return pol_fail(c, "/limits/on_violation",
			    "\"on_violation\" must be \"kill\" or \"deny\"");
		l->kill_on_violation = strcmp(s, "kill") == 0;
	}
	return 0;
}

static int
parse_section(struct pol_ctx *c, json_t *doc)
{
	static const char *const keys[] = { "capgate", "description", "audit",
	    "sandbox", "env", "limits", "definitions", "channels", "clients",
	    "backends", NULL };
	json_t *v = json_object_get(doc, "capgate");
	struct cg_error sub;

	if (!json_is_object(doc))
		return pol_fail(c, "", "a policy must be a JSON object");
	if (pol_check_keys(c, doc, "", keys) != 0)
		return -1;
	if (v == NULL)
		return pol_fail(c, "", "missing \"capgate\": %d (the policy format version)",
		    POLICY_VERSION);
	if (!json_is_integer(v) || json_integer_value(v) != POLICY_VERSION)
		return pol_fail(c, "/capgate", "unsupported policy version "
		    "(this capgate reads version %d)", POLICY_VERSION);
	if ((pol_get_string(c, doc, "", "description", NULL) != 0 &&
	    pol_next(c) != 0) ||
	    (parse_env(c, json_object_get(doc, "env")) != 0 && pol_next(c) != 0) ||
	    (parse_limits(c, json_object_get(doc, "limits")) != 0 &&
	    pol_next(c) != 0) ||
	    (policy_parse_audit(c, json_object_get(doc, "audit")) != 0 &&
	    pol_next(c) != 0))
		return -1;
	cg_error_clear(&sub);
	c->p->sandbox = sandbox_config_parse(json_object_get(doc, "sandbox"),
	    c->p->dir, &sub);
	if (c->p->sandbox == NULL) {
		char at[300];
		snprintf(at, sizeof(at), "/sandbox%s", sub.pointer);
		if (pol_fail(c, at, "%s", sub.msg) != 0 && pol_next(c) != 0)
			return -1;
	}
	if (policy_parse_backends(c, json_object_get(doc, "backends")) != 0 ||
	    policy_parse_definitions(c, json_object_get(doc, "definitions")) != 0 ||
	    policy_parse_channels(c, json_object_get(doc, "channels")) != 0)
		return -1;
	/* Grants and phases are about the channels as a whole: checking them
	 * with a channel missing would report errors that are not there. */
	if (c->nerrors > 0)
		return -1;
	if (build_index(c->p) != 0)
		return pol_fail(c, "", "out of memory building the channel index");
	if (policy_resolve_phases(c) != 0 ||
	    policy_parse_clients(c, json_object_get(doc, "clients")) != 0)
		return -1;
	if (policy_resolve_routes(c) != 0)
		return -1;
	return c->nerrors > 0 ? -1 : 0;
}

static int
read_policy(struct cg_policy *p, const char *path, char **text, size_t *len,
    struct cg_error *err)
{
	unsigned char h[32];
	char *copy;

	if (cg_read_file(path, POLICY_FILE_MAX, text, len) != 0)
		return cg_error_set(err, "cannot read policy: %s", strerror(errno));
	crypto_generichash(h, sizeof(h), (const unsigned char *)*text, *len,
	    NULL, 0);
	sodium_bin2hex(p->hash, sizeof(p->hash), h, sizeof(h));
	p->path = strdup(path);
	copy = strdup(path);
	/* Absolute, so that paths resolved against it stay right in a backend
	 * started in another directory and in a sandbox's view. */
	p->dir = copy ? realpath(dirname(copy), NULL) : NULL;
	free(copy);
	if (p->path == NULL || p->dir == NULL)
		return cg_error_set(err, "out of memory");
	return 0;
}

/* The error that stopped loading, if it was not reported yet. */
static void
finish_error(struct pol_ctx *c, struct cg_error *err)
{
	/* c->text is set once the file parsed; a syntax error or a read
	 * failure already has its position (or none) */
	if (err->msg[0] != '\0' && c->text != NULL &&
	    (err->pointer[0] != '\0' || err->line == 0))
		locate(&c->pos, err, c->text, c->len);
	if (c->report == NULL)
		return;
	if (err->msg[0] != '\0' && c->nerrors == 0)
		c->report(c->report_ctx, err);
	else if (err->msg[0] != '\0')
		pol_next(c);
	if (c->nerrors > 0)
		*err = c->first;
}

static struct cg_policy *
load(const char *path, struct pol_ctx *c, struct cg_error *err)
{
	struct cg_policy *p = calloc(1, sizeof(*p));
	json_error_t jerr;
	char *text = NULL;
	size_t len = 0;

	c->p = p;
	cg_error_clear(err);
	snprintf(err->file, sizeof(err->file), "%s", path);
	if (p == NULL) {
		cg_error_set(err, "out of memory");
		goto fail;
	}
	if (read_policy(p, path, &text, &len, err) != 0)
		goto fail;
	p->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (p->doc == NULL) {
		err->line = jerr.line > 0 ? jerr.line : 1;
		err->column = jerr.column > 0 ? jerr.column : 1;
		cg_error_set(err, "%s", jerr.text);
		goto fail;
	}
	c->text = text;
	c->len = len;
	if (parse_section(c, p->doc) != 0)
		goto fail;
	jsonpos_free(c->pos);
	free(text);
	return p;
fail:
	finish_error(c, err);
	jsonpos_free(c->pos);
	c->pos = NULL;
	free(text);
	policy_free(p);
	return NULL;
}

struct cg_policy *
policy_load(const char *path, cg_handler_check_fn *check, struct cg_error *err)
{
	struct cg_error local;
	struct pol_ctx c = { .check = check, .err = err ? err : &local };

	return load(path, &c, c.err);
}

struct cg_policy *
policy_load_all(const char *path, cg_handler_check_fn *check,
    policy_error_fn *report, void *ctx, struct cg_error *err)
{
	struct cg_error local;
	struct pol_ctx c = { .check = check, .err = err ? err : &local,
	    .report = report, .report_ctx = ctx };

	return load(path, &c, c.err);
}

void
policy_free(struct cg_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nchannels; i++) {
		struct cg_channel *ch = &p->channels[i];
		free(ch->name);
		free(ch->handler);
		schema_free(ch->request);
		schema_free(ch->response);
		audit_channel_free(&ch->audit);
		json_decref(ch->scope);
		free(ch->scope_root);
		free(ch->after_all);
		free(ch->until_any);
	}
	free(p->channels);
	for (size_t i = 0; i < p->nclients; i++) {
		free(p->clients[i].name);
		json_decref(p->clients[i].grants);
		free(p->clients[i].slot);
		free(p->clients[i].slot_channel);
		json_decref(p->clients[i].exec);
	}
	policy_free_backends(p);
	free(p->clients);
	free(p->index);
	json_decref(p->env.pass);
	json_decref(p->env.set);
	policy_free_audit(p);
	sandbox_config_free(p->sandbox);
	json_decref(p->doc);
	free(p->path);
	free(p->dir);
	free(p);
}
