/*
 * Schemas in the policy: the "definitions" section and the compilation of
 * every channel's request, response and payload schema (JSON Schema
 * draft-07, policy/schema.h), with errors at their position inside the
 * schema and the mistyped "$ref" named.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy_internal.h"
#include "policy/schema.h"
#include "policy/schema_internal.h"

#define SCHEMA_VIEW_DEPTH 256
#define SCHEMA_VIEW_MIN_DEFS 8

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
		if (pol_compile_schema(c, defs, at, NULL, name, &s) != 0 &&
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

/* Keywords whose value is one schema, and keywords whose value holds
 * schemas by name or index ("items" is either). */
static const char *const one_schema[] = { "additionalProperties",
    "additionalItems", "items", "contains", "propertyNames", "not", "if",
    "then", "else", NULL };
static const char *const schemas_by_key[] = { "properties",
    "patternProperties", "definitions", "dependencies", "allOf", "anyOf",
    "oneOf", "items", NULL };

static bool
listed(const char *const *list, const char *seg, size_t n)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strlen(list[i]) == n && memcmp(list[i], seg, n) == 0)
			return true;
	return false;
}

/*
 * In a policy "#" is the policy file, not the schema a "$ref" sits in: the
 * usual recursion idiom "$ref": "#" names the file's root, which compiles
 * as a schema without keywords and accepts anything, and so does any
 * pointer to something that is not a schema ("#/limits",
 * "#/definitions/a/properties", "#/definitions/a/enum"). A local reference
 * must name a schema: a definition or a channel's request, response or
 * payload, then keywords that hold schemas. References by URI or by a
 * plain-name fragment ($id) are resolved by the schema compiler.
 */
static bool
ref_names_schema(const char *ref)
{
	enum { ROOT, DEFINITION, CHANNEL, CHANNEL_KEY, SCHEMA, MEMBER } at = ROOT;
	char *ptr, *seg;
	bool ok;

	if (ref[0] != '#' || (ref[1] != '/' && ref[1] != '\0'))
		return true;
	if ((ptr = sch_percent_decode(ref + 1, strlen(ref + 1))) == NULL)
		return false;
	for (seg = ptr; *seg == '/'; ) {
		size_t n = strcspn(++seg, "/");

		switch (at) {
		case ROOT:
			at = n == 11 && memcmp(seg, "definitions", 11) == 0 ? DEFINITION :
			    n == 8 && memcmp(seg, "channels", 8) == 0 ? CHANNEL : ROOT;
			break;
		case DEFINITION:
		case MEMBER:
			at = SCHEMA;
			break;
		case CHANNEL:
			at = CHANNEL_KEY;
			break;
		case CHANNEL_KEY: {
			static const char *const keys[] = { "request", "response",
			    "payload", NULL };
			at = listed(keys, seg, n) ? SCHEMA : ROOT;
			break;
		}
		case SCHEMA:
			/* "items" followed by an index is its array form */
			if (listed(schemas_by_key, seg, n) && seg[n] == '/' &&
			    (n != 5 || memcmp(seg, "items", 5) != 0 ||
			    strspn(seg + n + 1, "0123456789") > 0))
				at = MEMBER;
			else
				at = listed(one_schema, seg, n) ? SCHEMA : ROOT;
			break;
		}
		if (at == ROOT)
			break;
		seg += n;
	}
	ok = at == SCHEMA;
	free(ptr);
	return ok;
}

static int
walk_members(const json_t *v, const char *at, int depth, int max_depth,
    pol_schema_visit_fn *visit, void *ctx)
{
	char sub[1024];
	const char *key;
	json_t *m;
	size_t i;
	int rc = 0;

	if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			snprintf(sub, sizeof(sub), "%s/%zu", at, i);
			if ((rc = pol_walk_schema(m, sub, depth, max_depth, visit, ctx)) != 0)
				return rc;
		}
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)(uintptr_t)v, key, m) {
			pol_pointer(sub, sizeof(sub), at, key);
			if ((rc = pol_walk_schema(m, sub, depth, max_depth, visit, ctx)) != 0)
				return rc;
		}
	}
	return 0;
}

int
pol_walk_schema(const json_t *s, const char *at, int depth, int max_depth,
    pol_schema_visit_fn *visit, void *ctx)
{
	char sub[1024];
	int rc;

	if (!json_is_object(s) || depth > max_depth)
		return 0;
	if ((rc = visit(ctx, s, at)) != 0)
		return rc;
	/* In draft-07 a "$ref" makes its siblings inert. */
	if (json_object_get(s, "$ref") != NULL)
		return 0;
	for (size_t i = 0; one_schema[i] != NULL; i++) {
		const json_t *v = json_object_get(s, one_schema[i]);

		if (!json_is_object(v))
			continue;
		pol_pointer(sub, sizeof(sub), at, one_schema[i]);
		if ((rc = pol_walk_schema(v, sub, depth + 1, max_depth, visit, ctx)) != 0)
			return rc;
	}
	for (size_t i = 0; schemas_by_key[i] != NULL; i++) {
		const json_t *v = json_object_get(s, schemas_by_key[i]);

		if (v == NULL || (strcmp(schemas_by_key[i], "items") == 0 &&
		    !json_is_array(v)))
			continue;
		pol_pointer(sub, sizeof(sub), at, schemas_by_key[i]);
		if ((rc = walk_members(v, sub, depth + 1, max_depth, visit, ctx)) != 0)
			return rc;
	}
	return 0;
}

/* pol_walk_schema visitor: a local "$ref" names a schema, and no
 * "definitions" block sits inside a schema. */
static int
check_schema_refs(void *ctx, const json_t *s, const char *at)
{
	struct pol_ctx *c = ctx;
	const json_t *ref = json_object_get(s, "$ref");
	char sub[1024];

	if (json_is_string(ref) && !ref_names_schema(json_string_value(ref))) {
		pol_pointer(sub, sizeof(sub), at, "$ref");
		return pol_fail(c, sub, "\"$ref\": \"%s\" does not name a schema: in "
		    "a policy \"#\" is the whole file; refer to \"#/definitions/NAME\"",
		    json_string_value(ref));
	}
	if (json_object_get(s, "definitions") != NULL) {
		pol_pointer(sub, sizeof(sub), at, "definitions");
		return pol_fail(c, sub, "\"definitions\" inside a schema are not what "
		    "\"#/definitions/NAME\" refers to (in a policy \"#\" is the whole "
		    "file): move them to the policy's top-level \"definitions\"");
	}
	return 0;
}

int
pol_compile_schema(struct pol_ctx *c, json_t *ch, const char *at,
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
	if (pol_walk_schema(s, sat, 0, SCHEMA_VIEW_DEPTH, check_schema_refs, c) != 0)
		return -1;
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

