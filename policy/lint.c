/*
 * Warnings for policy authors (`capgate policy check`): things that load
 * and are enforced exactly as written, but are probably wider than the
 * author meant. An error stops a policy from loading; a warning does not,
 * so a policy never behaves differently under `check` and under `run`
 * (`check --strict` turns warnings into a failing exit status).
 *
 *   - an invoke/send channel without "max_bytes" (frames up to the global
 *     cap reach the parser);
 *   - a channel without a request (or event payload) schema (any JSON value
 *     reaches the handler);
 *   - an object schema without "additionalProperties": false (extra
 *     members the handler does not expect ride along: the mass-assignment
 *     bug);
 *   - a schema keyword that draft-07 does not know ("maxLenght",
 *     "additionalProperty"): JSON Schema ignores it, so the limit the
 *     author wrote is silently not there;
 *   - a "format" capgate does not check (a typo such as "date_time", or
 *     "idn-hostname"), and "contentMediaType" / "contentEncoding": both are
 *     annotations, so any string passes;
 *   - a definition that no "$ref" uses;
 *   - a channel that no client is granted (with a "clients" section): it
 *     can never be used, which is usually a grant with a typo.
 */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "policy/jsonpos.h"
#include "policy/policy.h"
#include "policy/policy_internal.h"
#include "policy/schema_internal.h"

#define LINT_FILE_MAX (16u * 1024u * 1024u)
#define LINT_SCHEMA_DEPTH 64

struct lint {
	const struct cg_policy *p;
	struct cg_jsonpos *pos;
	policy_warn_fn *warn;
	void *ctx;
	int count;
};

static void
lint_warn(struct lint *l, const char *pointer, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
lint_warn(struct lint *l, const char *pointer, const char *fmt, ...)
{
	char msg[512];
	int line = 0, col = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (l->pos != NULL && jsonpos_lookup(l->pos, pointer, &line, &col) < 0)
		line = col = 0;
	l->warn(l->ctx, pointer, line, col, msg);
	l->count++;
}

static bool
is_object_schema(const json_t *s)
{
	const json_t *t = json_object_get(s, "type"), *e;
	size_t i;

	if (json_is_string(t))
		return strcmp(json_string_value(t), "object") == 0;
	if (json_is_array(t)) {
		json_array_foreach(t, i, e)
			if (json_is_string(e) &&
			    strcmp(json_string_value(e), "object") == 0)
				return true;
		return false;
	}
	return json_object_get(s, "properties") != NULL ||
	    json_object_get(s, "patternProperties") != NULL;
}

/* additionalProperties that is absent, true or {} lets anything through;
 * a schema (e.g. {"type": "string"}) still constrains the extras. */
static bool
is_open(const json_t *s)
{
	const json_t *ap = json_object_get(s, "additionalProperties");

	if (ap == NULL || json_is_true(ap))
		return true;
	return json_is_object(ap) && json_object_size(ap) == 0;
}


static bool
known_keyword(const char *k)
{
	static const char *const draft07[] = { "$schema", "$id", "$ref",
	    "$comment", "title", "description", "default", "readOnly",
	    "writeOnly", "examples", "multipleOf", "maximum", "exclusiveMaximum",
	    "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern",
	    "additionalItems", "items", "maxItems", "minItems", "uniqueItems",
	    "contains", "maxProperties", "minProperties", "required",
	    "additionalProperties", "definitions", "properties",
	    "patternProperties", "dependencies", "propertyNames", "const", "enum",
	    "type", "format", "contentMediaType", "contentEncoding", "if", "then",
	    "else", "allOf", "anyOf", "oneOf", "not", NULL };

	for (size_t i = 0; draft07[i] != NULL; i++)
		if (strcmp(draft07[i], k) == 0)
			return true;
	return false;
}

static void
lint_keywords(struct lint *l, const json_t *s, const char *at)
{
	const char *key;
	json_t *v;
	char sub[1024];

	json_object_foreach((json_t *)(uintptr_t)s, key, v) {
		pol_pointer(sub, sizeof(sub), at, key);
		if (strcmp(key, "format") == 0 && json_is_string(v) &&
		    sch_format_lookup(json_string_value(v)) == SCH_F_UNKNOWN)
			lint_warn(l, sub, "format \"%s\" is not checked: any string "
			    "passes", json_string_value(v));
		else if (strcmp(key, "contentMediaType") == 0 ||
		    strcmp(key, "contentEncoding") == 0)
			lint_warn(l, sub, "\"%s\" is an annotation, not checked: any "
			    "string passes", key);
		if (known_keyword(key))
			continue;
		lint_warn(l, sub, "\"%s\" is not a JSON Schema draft-07 keyword: "
		    "it is ignored", key);
	}
}

/* pol_walk_schema visitor: every subschema (not data inside "enum" or
 * "const"); below a "$ref" nothing, its target is checked where it is
 * defined. */
static int
lint_schema(void *ctx, const json_t *s, const char *at)
{
	struct lint *l = ctx;

	lint_keywords(l, s, at);
	if (json_object_get(s, "$ref") == NULL && is_object_schema(s) && is_open(s))
		lint_warn(l, at, "object schema allows members it does not list "
		    "(add \"additionalProperties\": false)");
	return 0;
}

static void
walk_schema(struct lint *l, const json_t *s, const char *at, int depth)
{
	(void)pol_walk_schema(s, at, depth, LINT_SCHEMA_DEPTH, lint_schema, l);
}

static void
lint_channel(struct lint *l, const struct cg_channel *ch)
{
	static const char *const schemas[] = { "request", "response", "payload",
	    NULL };
	const char *want = ch->kind == CG_CHAN_EVENT ? "payload" : "request";
	char at[512], sub[1024];

	pol_pointer(at, sizeof(at), "/channels", ch->name);
	if (ch->kind != CG_CHAN_EVENT && !ch->has_max_bytes)
		lint_warn(l, at, "channel \"%s\" has no \"max_bytes\": it accepts "
		    "frames up to the global cap (%u bytes)", ch->name,
		    (unsigned)l->p->limits.frame_max);
	if (json_object_get(ch->config, want) == NULL)
		lint_warn(l, at, "channel \"%s\" has no \"%s\" schema: any JSON "
		    "value %s", ch->name, want, ch->kind == CG_CHAN_EVENT ?
		    "is pushed to the client" : "reaches its handler");
	for (size_t i = 0; schemas[i] != NULL; i++) {
		pol_pointer(sub, sizeof(sub), at, schemas[i]);
		walk_schema(l, json_object_get(ch->config, schemas[i]), sub, 0);
	}
}

static void
lint_ungranted(struct lint *l)
{
	const struct cg_policy *p = l->p;
	char at[512];

	if (json_object_get(p->doc, "clients") == NULL)
		return;
	for (size_t i = 0; i < p->nchannels; i++) {
		bool granted = false;
		for (size_t k = 0; k < p->nclients && !granted; k++)
			granted = p->clients[k].slot[i] >= 0;
		if (granted)
			continue;
		pol_pointer(at, sizeof(at), "/channels", p->channels[i].name);
		lint_warn(l, at, "channel \"%s\" is granted to no client: it can "
		    "never be used", p->channels[i].name);
	}
}

/* Adds to used the NAME of every "$ref": "#/definitions/NAME..." in v. */
static void
collect_used(const json_t *v, json_t *used, int depth)
{
	const char *key, *ref;
	const json_t *m;
	char name[256];
	size_t i;

	if (depth > 2 * LINT_SCHEMA_DEPTH)
		return;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			collect_used(m, used, depth + 1);
		return;
	}
	if (!json_is_object(v))
		return;
	ref = json_string_value(json_object_get(v, "$ref"));
	if (ref != NULL && strncmp(ref, "#/definitions/", 14) == 0) {
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(ref + 14, "/"),
		    ref + 14);
		json_object_set_new(used, name, json_true());
	}
	json_object_foreach((json_t *)(uintptr_t)v, key, m)
		collect_used(m, used, depth + 1);
}

static void
lint_definitions(struct lint *l)
{
	const json_t *defs = json_object_get(l->p->doc, "definitions");
	json_t *used = json_object(), *v;
	const char *name;
	char at[512];

	collect_used(json_object_get(l->p->doc, "channels"), used, 0);
	collect_used(defs, used, 0);
	json_object_foreach((json_t *)(uintptr_t)defs, name, v) {
		pol_pointer(at, sizeof(at), "/definitions", name);
		walk_schema(l, v, at, 0);
		if (json_object_get(used, name) == NULL)
			lint_warn(l, at, "definition \"%s\" is not used by any "
			    "\"$ref\"", name);
	}
	json_decref(used);
}

/* Positions come from the file as it is now; if it changed since it was
 * loaded they would point at the wrong text, so none are given. */
static struct cg_jsonpos *
index_file(const struct cg_policy *p, struct cg_error *err, int *rc)
{
	unsigned char h[32];
	char hex[65], *text = NULL;
	size_t len = 0;
	struct cg_jsonpos *pos = NULL;

	*rc = 0;
	if (cg_read_file(p->path, LINT_FILE_MAX, &text, &len) != 0) {
		*rc = cg_error_set(err, "cannot read policy %s", p->path);
		return NULL;
	}
	crypto_generichash(h, sizeof(h), (const unsigned char *)text, len,
	    NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	if (strcmp(hex, p->hash) == 0)
		pos = jsonpos_index(text, len);
	free(text);
	return pos;
}

int
policy_lint(const struct cg_policy *p, policy_warn_fn *warn, void *ctx,
    struct cg_error *err)
{
	struct lint l = { p, NULL, warn, ctx, 0 };
	int rc;

	l.pos = index_file(p, err, &rc);
	if (rc != 0)
		return -1;
	lint_definitions(&l);
	for (size_t i = 0; i < p->nchannels; i++)
		lint_channel(&l, &p->channels[i]);
	lint_ungranted(&l);
	jsonpos_free(l.pos);
	return l.count;
}
