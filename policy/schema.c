/*
 * Schema compilation: turns a draft-07 schema document into the immutable
 * node graph that schema_validate() walks. This file holds the arena, the
 * one-node-per-schema-object memo and the public entry points; each
 * keyword's value is checked in schema_keywords.c, once, so the validator
 * never meets a malformed schema; references are linked by schema_ref.c.
 */
#include "policy/schema_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- arena --------------------------------------------------------------- */

#define SCH_ARENA_BLOCK 16384

struct sch_arena {
	struct sch_arena *next;
	size_t used, size;
	max_align_t data[];
};

void *
sch_alloc(struct sch_arena **arena, size_t size)
{
	struct sch_arena *a = *arena;
	size_t need = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	char *p;

	if (a == NULL || a->size - a->used < need) {
		size_t bsize = need > SCH_ARENA_BLOCK / 4 ? need : SCH_ARENA_BLOCK;

		/* not zeroed here: each allocation is, when it is made */
		a = malloc(sizeof(*a) + bsize);
		if (a == NULL)
			return NULL;
		a->size = bsize;
		a->used = 0;
		a->next = NULL;
		if (*arena != NULL && need > SCH_ARENA_BLOCK / 4) {
			/* keep filling the current block; chain the big one behind */
			a->next = (*arena)->next;
			(*arena)->next = a;
			a->used = need;
			memset(a->data, 0, need);
			return a->data;
		}
		a->next = *arena;
		*arena = a;
	}
	p = (char *)a->data + a->used;
	a->used += need;
	memset(p, 0, need);
	return p;
}

char *
sch_strndup(struct sch_arena **arena, const char *s, size_t len)
{
	char *p = sch_alloc(arena, len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

void
sch_arena_free(struct sch_arena *arena)
{
	while (arena != NULL) {
		struct sch_arena *next = arena->next;

		free(arena);
		arena = next;
	}
}

/* --- errors -------------------------------------------------------------- */

int
sch_compile_fail(struct sch_compiler *c, const char *location, const char *keyword,
    const char *fmt, ...)
{
	va_list ap;

	if (c->err == NULL)
		return -1;
	if (keyword != NULL) {
		snprintf(c->err->pointer, sizeof(c->err->pointer), "%s/%s",
		    location, keyword);
		snprintf(c->err->keyword, sizeof(c->err->keyword), "%s", keyword);
	} else {
		cg_error_set_pointer(c->err, location);
	}
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof(c->err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

void *
sch_calloc(struct sch_compiler *c, size_t size)
{
	void *p = sch_alloc(&c->schema->arena, size);

	if (p == NULL)
		cg_error_set(c->err, "out of memory compiling schema");
	return p;
}

/* Appends a pointer segment, escaping '~' and '/' (RFC 6901). */
char *
sch_path_join(struct sch_compiler *c, const char *location, const char *key)
{
	size_t llen = strlen(location), klen = strlen(key), extra = 0;
	char *p, *out;

	for (size_t i = 0; i < klen; i++)
		extra += key[i] == '~' || key[i] == '/';
	out = sch_calloc(c, llen + klen + extra + 2);
	if (out == NULL)
		return NULL;
	memcpy(out, location, llen);
	p = out + llen;
	*p++ = '/';
	for (size_t i = 0; i < klen; i++) {
		if (key[i] == '~' || key[i] == '/') {
			*p++ = '~';
			*p++ = key[i] == '~' ? '0' : '1';
		} else {
			*p++ = key[i];
		}
	}
	*p = '\0';
	return out;
}

/* --- memo: each schema object compiles to exactly one node ---------------- */

static size_t
memo_slot(const struct sch_compiler *c, const json_t *json)
{
	uint64_t h = (uint64_t)(uintptr_t)json * 0x9e3779b97f4a7c15ull;
	size_t i = (size_t)(h >> 17) & c->memo_mask;

	while (c->memo_keys[i] != NULL && c->memo_keys[i] != json)
		i = (i + 1) & c->memo_mask;
	return i;
}

static int
memo_grow(struct sch_compiler *c)
{
	const json_t **okeys = c->memo_keys;
	struct sch_node **ovals = c->memo_vals;
	size_t osize = okeys == NULL ? 0 : c->memo_mask + 1;
	size_t nsize = osize == 0 ? 64 : osize * 2;

	c->memo_keys = calloc(nsize, sizeof(*c->memo_keys));
	c->memo_vals = calloc(nsize, sizeof(*c->memo_vals));
	if (c->memo_keys == NULL || c->memo_vals == NULL) {
		free(okeys);
		free(ovals);
		return cg_error_set(c->err, "out of memory compiling schema");
	}
	c->memo_mask = nsize - 1;
	for (size_t i = 0; i < osize; i++) {
		if (okeys[i] != NULL) {
			size_t s = memo_slot(c, okeys[i]);

			c->memo_keys[s] = okeys[i];
			c->memo_vals[s] = ovals[i];
		}
	}
	free(okeys);
	free(ovals);
	return 0;
}

static struct sch_node *
new_node(struct sch_compiler *c, const json_t *json, const char *base,
    const char *location)
{
	struct sch_node *n;
	size_t s;

	if ((c->memo_count + 1) * 2 > (c->memo_keys ? c->memo_mask + 1 : 0) &&
	    memo_grow(c) < 0)
		return NULL;
	if (c->nnodes == c->capnodes) {
		size_t cap = c->capnodes ? c->capnodes * 2 : 32;
		struct sch_node **v = realloc(c->nodes, cap * sizeof(*v));

		if (v == NULL) {
			cg_error_set(c->err, "out of memory compiling schema");
			return NULL;
		}
		c->nodes = v;
		c->capnodes = cap;
	}
	n = sch_calloc(c, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->boolean = -1;
	n->json = json;
	n->base = base;
	n->location = location;
	s = memo_slot(c, json);
	c->memo_keys[s] = json;
	c->memo_vals[s] = n;
	c->memo_count++;
	c->nodes[c->nnodes++] = n;
	return n;
}

/* --- nodes --------------------------------------------------------------- */

/* The base URI a subschema's "$id" establishes for itself and below.
 * In draft-07 "$ref" makes every sibling keyword, "$id" included, ignored. */
const char *
sch_id_base(const json_t *json)
{
	const json_t *id = json_object_get(json, "$id");

	if (!json_is_string(id) || json_is_string(json_object_get(json, "$ref")))
		return NULL;
	return json_string_value(id);
}

static const char *
node_base(struct sch_compiler *c, const json_t *json, const char *base)
{
	const char *id = sch_id_base(json);
	char *r, *copy;

	if (id == NULL || id[0] == '#')
		return base;
	if ((r = sch_uri_resolve(base, id)) == NULL) {
		cg_error_set(c->err, "out of memory compiling schema");
		return NULL;
	}
	if (strchr(r, '#') != NULL)
		*strchr(r, '#') = '\0';
	copy = sch_strndup(&c->schema->arena, r, strlen(r));
	free(r);
	return copy;
}

static int
compile_ref(struct sch_compiler *c, struct sch_node *node, const json_t *ref,
    const char *base, const char *loc)
{
	char *r;

	if (!json_is_string(ref))
		return sch_compile_fail(c, loc, "$ref", "$ref must be a string");
	r = sch_uri_resolve(base, json_string_value(ref));
	if (r == NULL)
		return cg_error_set(c->err, "out of memory compiling schema");
	node->ref_uri = sch_strndup(&c->schema->arena, r, strlen(r));
	free(r);
	return node->ref_uri == NULL ? -1 : 0;
}

struct sch_node *
sch_compile_node(struct sch_compiler *c, const json_t *json, const char *base,
    const char *location)
{
	struct sch_node *node;
	const json_t *ref;
	int rc;

	if (c->memo_keys != NULL &&
	    c->memo_keys[memo_slot(c, json)] == json)
		return c->memo_vals[memo_slot(c, json)];
	if (!json_is_object(json) && !json_is_boolean(json)) {
		sch_compile_fail(c, location, NULL,
		    "a schema must be an object or a boolean");
		return NULL;
	}
	if (c->depth >= SCH_MAX_SCHEMA_DEPTH) {
		sch_compile_fail(c, location, NULL, "schema nested deeper than %d levels",
		    SCH_MAX_SCHEMA_DEPTH);
		return NULL;
	}
	if ((node = new_node(c, json, base, location)) == NULL)
		return NULL;
	if (json_is_boolean(json)) {
		node->boolean = json_is_true(json);
		return node;
	}
	if ((ref = json_object_get(json, "$ref")) != NULL) {
		/* draft-07: all other keywords next to $ref are ignored */
		return compile_ref(c, node, ref, base, location) < 0 ? NULL : node;
	}
	if ((node->base = node_base(c, json, base)) == NULL)
		return NULL;
	c->depth++;
	rc = sch_compile_keywords(c, node, json, node->base, location);
	c->depth--;
	return rc < 0 ? NULL : node;
}

/* --- public API ---------------------------------------------------------- */

static void
compiler_free(struct sch_compiler *c)
{
	/* the strings they point to live in the schema's arena */
	free(c->docs);
	free(c->res);
	free(c->memo_keys);
	free(c->memo_vals);
	free(c->nodes);
}

static int
compile_entry(struct sch_compiler *c, json_t *schema,
    const struct cg_schema_options *opts)
{
	const json_t *root = opts->root != NULL ? opts->root : schema;
	const char *pointer = opts->pointer != NULL ? opts->pointer : "";
	struct sch_target t;
	struct sch_node *node;

	if (sch_compiler_add_doc(c, root, opts->base_uri ? opts->base_uri : "",
	    "") < 0)
		return -1;
	/* The schema's base URI is the one in effect at its place in root. */
	if (pointer[0] != '\0') {
		if (sch_walk_pointer(c, root, c->res[0].base, "", pointer, &t) < 0)
			return -1;
	} else {
		t.base = c->res[0].base;
		t.location = "";
	}
	node = sch_compile_node(c, schema, t.base, t.location == NULL ? "" :
	    t.location);
	if (node == NULL || sch_link_refs(c, 0) < 0 || sch_check_cycles(c) < 0)
		return -1;
	c->schema->root = node->ref != NULL ? node->ref : node;
	return 0;
}

struct cg_schema *
schema_compile(json_t *schema, const struct cg_schema_options *opts,
    struct cg_error *err)
{
	static const struct cg_schema_options defaults = { .assert_format = true };
	struct sch_compiler c = { .err = err };
	struct cg_schema *s;

	if (schema == NULL) {
		cg_error_set(err, "no schema");
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		cg_error_set(err, "out of memory compiling schema");
		return NULL;
	}
	c.schema = s;
	c.opts = opts != NULL ? opts : &defaults;
	if (compile_entry(&c, schema, c.opts) < 0) {
		if (err != NULL && err->msg[0] == '\0')
			cg_error_set(err, "schema does not compile");
		schema_free(s);
		s = NULL;
	}
	compiler_free(&c);
	return s;
}

void
schema_free(struct cg_schema *schema)
{
	if (schema == NULL)
		return;
	for (size_t i = 0; i < schema->nregexes; i++)
		sch_regex_free(schema->regexes[i]);
	for (size_t i = 0; i < schema->nowned; i++)
		json_decref(schema->owned[i]);
	free(schema->regexes);
	free(schema->owned);
	sch_arena_free(schema->arena);
	free(schema);
}
