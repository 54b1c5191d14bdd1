/*
 * References: RFC 3986 URI resolution, the index of schema resources
 * ("$id" and location-independent "#name" identifiers), JSON pointer
 * walking, and linking every "$ref" to its compiled target. Remote
 * documents come only from the caller's local map: nothing here opens a
 * file or a socket, so a policy cannot make the gateway fetch anything.
 *
 * Linking also rejects reference loops that would recurse forever on one
 * instance location ({"$ref": "#"} at the root, a -> b -> a, or an allOf
 * that comes back to itself): such a schema cannot be evaluated, and
 * refusing it at load time keeps validation free of cycle checks.
 */
#include "policy/schema_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- RFC 3986 ------------------------------------------------------------ */

struct uri_parts {
	const char *scheme, *auth, *path, *query, *frag;
	size_t scheme_len, auth_len, path_len, query_len, frag_len;
	bool has_scheme, has_auth, has_query, has_frag;
};

static void
uri_parse(const char *s, struct uri_parts *u)
{
	size_t i = 0, n = strlen(s);

	memset(u, 0, sizeof(*u));
	if (isalpha((unsigned char)s[0])) {
		for (i = 1; i < n && (isalnum((unsigned char)s[i]) ||
		    s[i] == '+' || s[i] == '-' || s[i] == '.'); i++)
			;
		if (i < n && s[i] == ':') {
			u->has_scheme = true;
			u->scheme = s;
			u->scheme_len = i;
			s += i + 1;
			n -= i + 1;
		}
	}
	if (n >= 2 && s[0] == '/' && s[1] == '/') {
		u->has_auth = true;
		u->auth = s + 2;
		u->auth_len = strcspn(s + 2, "/?#");
		s += 2 + u->auth_len;
	}
	u->path = s;
	u->path_len = strcspn(s, "?#");
	s += u->path_len;
	if (*s == '?') {
		u->has_query = true;
		u->query = s + 1;
		u->query_len = strcspn(s + 1, "#");
		s += 1 + u->query_len;
	}
	if (*s == '#') {
		u->has_frag = true;
		u->frag = s + 1;
		u->frag_len = strlen(s + 1);
	}
}

/* RFC 3986 section 5.2.4, in place. */
static void
remove_dot_segments(char *path)
{
	char *in = path, *out = path;

	while (*in != '\0') {
		if (strncmp(in, "../", 3) == 0) {
			in += 3;
		} else if (strncmp(in, "./", 2) == 0 || strncmp(in, "/./", 3) == 0) {
			in += 2;
		} else if (strcmp(in, "/.") == 0) {
			in[1] = '\0';
		} else if (strncmp(in, "/../", 4) == 0 || strcmp(in, "/..") == 0) {
			in += 3;
			if (*in == '\0')
				*--in = '/';
			else
				in[0] = '/';
			while (out > path && *--out != '/')
				;
		} else if (strcmp(in, ".") == 0 || strcmp(in, "..") == 0) {
			break;
		} else {
			do
				*out++ = *in++;
			while (*in != '\0' && *in != '/');
		}
	}
	*out = '\0';
}

static char *
append(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

char *
sch_uri_resolve(const char *base, const char *ref)
{
	struct uri_parts b, r;
	size_t cap = (base ? strlen(base) : 0) + strlen(ref) + 8;
	char *out = malloc(cap), *p = out, *path = malloc(cap), *pp = path;
	const struct uri_parts *auth, *query;

	if (out == NULL || path == NULL) {
		free(out);
		free(path);
		return NULL;
	}
	uri_parse(base ? base : "", &b);
	uri_parse(ref, &r);
	auth = r.has_scheme || r.has_auth ? &r : &b;
	query = &r;
	if (r.has_scheme || r.has_auth || r.path_len > 0) {
		if (!r.has_scheme && !r.has_auth && r.path[0] != '/') {
			/* merge with the base path (section 5.2.3) */
			if (b.has_auth && b.path_len == 0) {
				*pp++ = '/';
			} else {
				const char *slash = NULL;

				for (size_t i = 0; i < b.path_len; i++)
					if (b.path[i] == '/')
						slash = b.path + i;
				if (slash != NULL)
					pp = append(pp, b.path, (size_t)(slash - b.path) + 1);
			}
		}
		pp = append(pp, r.path, r.path_len);
		*pp = '\0';
		remove_dot_segments(path);
	} else {
		pp = append(pp, b.path, b.path_len);
		*pp = '\0';
		if (!r.has_query)
			query = &b;
	}
	if (r.has_scheme)
		p = append(append(p, r.scheme, r.scheme_len), ":", 1);
	else if (b.has_scheme)
		p = append(append(p, b.scheme, b.scheme_len), ":", 1);
	if (auth->has_auth)
		p = append(append(p, "//", 2), auth->auth, auth->auth_len);
	p = append(p, path, strlen(path));
	if (query->has_query)
		p = append(append(p, "?", 1), query->query, query->query_len);
	if (r.has_frag)
		p = append(append(p, "#", 1), r.frag, r.frag_len);
	*p = '\0';
	free(path);
	return out;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *
sch_percent_decode(const char *s, size_t len)
{
	char *out = malloc(len + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			*p++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = '\0';
	return out;
}

/* --- the resource index -------------------------------------------------- */

static char *
c_strdup(struct sch_compiler *c, const char *s)
{
	char *p = sch_strndup(&c->schema->arena, s, strlen(s));

	if (p == NULL)
		cg_error_set(c->err, "out of memory compiling schema");
	return p;
}

static int
add_resource(struct sch_compiler *c, const char *uri, const json_t *json,
    const char *base, const char *location, size_t doc)
{
	struct sch_resource *r;

	if (c->nres == c->capres) {
		size_t cap = c->capres ? c->capres * 2 : 16;

		r = realloc(c->res, cap * sizeof(*r));
		if (r == NULL)
			return cg_error_set(c->err, "out of memory compiling schema");
		c->res = r;
		c->capres = cap;
	}
	r = &c->res[c->nres];
	r->json = json;
	r->doc = doc;
	if ((r->uri = c_strdup(c, uri)) == NULL ||
	    (r->base = c_strdup(c, base)) == NULL ||
	    (r->location = c_strdup(c, location)) == NULL)
		return -1;
	c->nres++;
	return 0;
}

/* Registers json's "$id", if any; *base becomes the base below it (arena). */
static int
register_id(struct sch_compiler *c, const json_t *json, const char **base,
    const char *location, size_t doc)
{
	const char *id = sch_id_base(json);
	char *abs, *hash;
	int rc = 0;

	if (id == NULL)
		return 0;
	if ((abs = sch_uri_resolve(*base, id)) == NULL)
		return cg_error_set(c->err, "out of memory compiling schema");
	hash = strchr(abs, '#');
	if (hash != NULL && hash[1] != '\0') {
		/* location-independent identifier: "#foo" or "other#foo" */
		rc = add_resource(c, abs, json, *base, location, doc);
		*hash = '\0';
		if (rc == 0 && id[0] != '#') {
			*base = c_strdup(c, abs);
			rc = *base == NULL ? -1 : add_resource(c, abs, json, abs,
			    location, doc);
		}
	} else {
		if (hash != NULL)
			*hash = '\0';
		*base = c_strdup(c, abs);
		rc = *base == NULL ? -1 : add_resource(c, abs, json, abs,
		    location, doc);
	}
	free(abs);
	return rc;
}

static int scan_ids(struct sch_compiler *c, const json_t *json,
    const char *base, const char *location, size_t doc, int depth);
static int scan_keywords(struct sch_compiler *c, const json_t *json,
    const char *base, const char *location, size_t doc, int depth);

static int
scan_child(struct sch_compiler *c, const json_t *json, const char *base,
    const char *location, const char *key, size_t doc, int depth)
{
	char *l = sch_path_join(c, location, key);

	return l == NULL ? -1 : scan_ids(c, json, base, l, doc, depth + 1);
}

static int
scan_members(struct sch_compiler *c, const json_t *v, const char *base,
    const char *location, size_t doc, int depth)
{
	const char *key;
	json_t *m;
	size_t i;
	char buf[32];

	if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			snprintf(buf, sizeof(buf), "%zu", i);
			if (scan_child(c, m, base, location, buf, doc, depth) < 0)
				return -1;
		}
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)(uintptr_t)v, key, m)
			if (scan_child(c, m, base, location, key, doc, depth) < 0)
				return -1;
	}
	return 0;
}

/* Walks only keywords that hold schemas, so data inside "enum" or "const"
 * that happens to contain "$id" is never taken for an identifier. */
static int
scan_ids(struct sch_compiler *c, const json_t *json, const char *base,
    const char *location, size_t doc, int depth)
{
	if (!json_is_object(json) || depth > SCH_MAX_SCHEMA_DEPTH)
		return 0;
	if (register_id(c, json, &base, location, doc) < 0)
		return -1;
	return scan_keywords(c, json, base, location, doc, depth);
}

static int
scan_keywords(struct sch_compiler *c, const json_t *json, const char *base,
    const char *location, size_t doc, int depth)
{
	static const char *const single[] = { "additionalItems",
		"additionalProperties", "contains", "propertyNames", "not", "if",
		"then", "else", "items" };
	static const char *const multi[] = { "allOf", "anyOf", "oneOf", "items",
		"definitions", "properties", "patternProperties", "dependencies" };

	if (!json_is_object(json) || depth > SCH_MAX_SCHEMA_DEPTH)
		return 0;
	for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
		const json_t *v = json_object_get(json, single[i]);

		if (json_is_object(v) &&
		    scan_child(c, v, base, location, single[i], doc, depth) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(multi) / sizeof(multi[0]); i++) {
		const json_t *v = json_object_get(json, multi[i]);
		char *l;

		if (!json_is_array(v) && !json_is_object(v))
			continue;
		if (strcmp(multi[i], "items") == 0 && !json_is_array(v))
			continue;
		if ((l = sch_path_join(c, location, multi[i])) == NULL ||
		    scan_members(c, v, base, l, doc, depth + 1) < 0)
			return -1;
	}
	return 0;
}

int
sch_compiler_add_doc(struct sch_compiler *c, const json_t *root,
    const char *uri, const char *location)
{
	const char *base;
	size_t idx = c->nres;

	if (c->ndocs == c->capdocs) {
		size_t cap = c->capdocs ? c->capdocs * 2 : 4;
		struct sch_doc *d = realloc(c->docs, cap * sizeof(*d));

		if (d == NULL)
			return cg_error_set(c->err, "out of memory compiling schema");
		c->docs = d;
		c->capdocs = cap;
	}
	if ((base = c_strdup(c, uri)) == NULL)
		return -1;
	c->docs[c->ndocs].root = root;
	c->docs[c->ndocs].uri = base;
	c->ndocs++;
	/* the retrieval URI names the document even when its root has an $id */
	if (add_resource(c, uri, root, uri, location, c->ndocs - 1) < 0 ||
	    register_id(c, root, &base, location, c->ndocs - 1) < 0)
		return -1;
	c->res[idx].base = base;
	return scan_keywords(c, root, base, location, c->ndocs - 1, 0);
}

/* --- JSON pointers and references ---------------------------------------- */

/* Unescapes one pointer segment (~1 -> '/', ~0 -> '~') into out. */
static int
unescape_segment(const char *s, size_t len, char *out, size_t *outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] != '~') {
			out[o++] = s[i];
			continue;
		}
		if (i + 1 >= len || (s[i + 1] != '0' && s[i + 1] != '1'))
			return -1;
		out[o++] = s[i + 1] == '0' ? '~' : '/';
		i++;
	}
	out[o] = '\0';
	*outlen = o;
	return 0;
}

static const json_t *
pointer_step(const json_t *cur, const char *seg, size_t len)
{
	char *end;
	unsigned long long idx;

	if (json_is_object(cur))
		return json_object_getn(cur, seg, len);
	if (!json_is_array(cur) || len == 0 || (len > 1 && seg[0] == '0') ||
	    !isdigit((unsigned char)seg[0]))
		return NULL;
	idx = strtoull(seg, &end, 10);
	if (*end != '\0')
		return NULL;
	return json_array_get(cur, (size_t)idx);
}

/* A step into a subschema with "$id" moves the base URI, so a reference
 * found below it resolves against the right folder. */
static const char *
step_base(struct sch_compiler *c, const json_t *json, const char *base)
{
	const char *id = json_is_object(json) ? sch_id_base(json) : NULL;
	char *abs, *copy;

	if (id == NULL || id[0] == '#')
		return base;
	if ((abs = sch_uri_resolve(base, id)) == NULL)
		return NULL;
	if (strchr(abs, '#') != NULL)
		*strchr(abs, '#') = '\0';
	copy = c_strdup(c, abs);
	free(abs);
	return copy;
}

static int
walk_segments(struct sch_compiler *c, const char *p, struct sch_target *out)
{
	char *seg = malloc(strlen(p) + 1);
	const json_t *cur = out->json;
	int rc = -1;

	if (seg == NULL)
		return cg_error_set(c->err, "out of memory compiling schema");
	while (*p == '/') {
		size_t n = strcspn(p + 1, "/"), seglen;

		if (unescape_segment(p + 1, n, seg, &seglen) < 0) {
			cg_error_set(c->err, "invalid JSON pointer escape");
			goto done;
		}
		if ((cur = pointer_step(cur, seg, seglen)) == NULL) {
			cg_error_set(c->err, "JSON pointer names no value");
			goto done;
		}
		out->location = sch_path_join(c, out->location, seg);
		out->base = step_base(c, cur, out->base);
		if (out->location == NULL || out->base == NULL)
			goto done;
		p += 1 + n;
	}
	out->json = cur;
	rc = 0;
done:
	free(seg);
	return rc;
}

int
sch_walk_pointer(struct sch_compiler *c, const json_t *from, const char *base,
    const char *location, const char *fragment, struct sch_target *out)
{
	char *dec = sch_percent_decode(fragment, strlen(fragment));
	int rc;

	if (dec == NULL)
		return cg_error_set(c->err, "out of memory compiling schema");
	out->json = from;
	out->base = base;
	out->location = location;
	if (dec[0] != '\0' && dec[0] != '/') {
		free(dec);
		return cg_error_set(c->err, "a JSON pointer must start with '/'");
	}
	rc = walk_segments(c, dec, out);
	free(dec);
	return rc;
}

static const struct sch_resource *
find_resource(const struct sch_compiler *c, const char *uri)
{
	for (size_t i = 0; i < c->nres; i++)
		if (strcmp(c->res[i].uri, uri) == 0)
			return &c->res[i];
	return NULL;
}

/* Only the caller's map is consulted: a remote URI is never fetched. */
static const struct sch_resource *
load_remote(struct sch_compiler *c, const char *docuri)
{
	const json_t *doc;
	char *loc;
	size_t first = c->nres;

	if (c->opts->remotes == NULL || docuri[0] == '\0')
		return NULL;
	doc = json_object_get(c->opts->remotes, docuri);
	if (doc == NULL)
		return NULL;
	if ((loc = malloc(strlen(docuri) + 2)) == NULL)
		return NULL;
	sprintf(loc, "%s#", docuri);
	/* errors inside a remote document are named "URI#/pointer" */
	if (sch_compiler_add_doc(c, doc, docuri, loc) < 0) {
		free(loc);
		return NULL;
	}
	free(loc);
	return &c->res[first];
}

int
sch_resolve_ref(struct sch_compiler *c, const char *uri, struct sch_target *out)
{
	const char *hash = strchr(uri, '#');
	const char *frag = hash ? hash + 1 : "";
	size_t dlen = hash ? (size_t)(hash - uri) : strlen(uri);
	char *docuri = malloc(dlen + 1);
	const struct sch_resource *r;
	int rc = -1;

	if (docuri == NULL)
		return cg_error_set(c->err, "out of memory compiling schema");
	memcpy(docuri, uri, dlen);
	docuri[dlen] = '\0';
	if (frag[0] != '\0' && frag[0] != '/') {
		/* "#name": a location-independent identifier */
		if ((r = find_resource(c, uri)) == NULL &&
		    load_remote(c, docuri) != NULL)
			r = find_resource(c, uri);
		if (r != NULL) {
			out->json = r->json;
			out->base = r->base;
			out->location = r->location;
			rc = 0;
		}
	} else {
		if ((r = find_resource(c, docuri)) == NULL)
			r = load_remote(c, docuri);
		if (r != NULL)
			rc = sch_walk_pointer(c, r->json, r->base, r->location,
			    frag, out);
	}
	if (r == NULL)
		cg_error_set(c->err, "unresolvable $ref \"%s\": no schema in this "
		    "document or in the local remotes map has that URI", uri);
	free(docuri);
	return rc;
}

static int
ref_fail(struct sch_compiler *c, const struct sch_node *n, const char *what)
{
	if (c->err != NULL) {
		char msg[sizeof(c->err->msg)];

		snprintf(msg, sizeof(msg), "%s", c->err->msg);
		snprintf(c->err->pointer, sizeof(c->err->pointer), "%s/$ref",
		    n->location);
		snprintf(c->err->keyword, sizeof(c->err->keyword), "$ref");
		if (what != NULL)
			cg_error_set(c->err, "%s", what);
	}
	return -1;
}

/* Points every $ref node straight at the first non-$ref node of its chain. */
static int
collapse_chains(struct sch_compiler *c)
{
	for (size_t i = 0; i < c->nnodes; i++)
		c->nodes[i]->mark = 0;
	for (size_t i = 0; i < c->nnodes; i++) {
		struct sch_node *n = c->nodes[i], *t = n;
		int hops = 0;

		if (n->ref_uri == NULL)
			continue;
		while (t->ref_uri != NULL) {
			if (t->mark == (int)i + 1)
				return ref_fail(c, t, "$ref cycle: this reference "
				    "leads back to itself without reaching a schema");
			if (++hops > SCH_MAX_REF_CHAIN)
				return ref_fail(c, n, "$ref chain longer than 64 "
				    "references");
			t->mark = (int)i + 1;
			t = (struct sch_node *)(uintptr_t)t->ref;
		}
		n->ref = t;
	}
	return 0;
}

int
sch_link_refs(struct sch_compiler *c, size_t first)
{
	/* c->nodes grows while targets compile; the loop picks them up too */
	for (size_t i = first; i < c->nnodes; i++) {
		struct sch_node *n = c->nodes[i];
		struct sch_target t;

		if (n->ref_uri == NULL)
			continue;
		if (sch_resolve_ref(c, n->ref_uri, &t) < 0)
			return ref_fail(c, n, NULL);
		n->ref = sch_compile_node(c, t.json, t.base, t.location);
		if (n->ref == NULL)
			return -1;
	}
	return collapse_chains(c);
}

static const struct sch_node *
target(const struct sch_node *n)
{
	return n->ref != NULL ? n->ref : n;
}

static int visit(struct sch_compiler *c, struct sch_node *n, int depth);

static int
visit_edge(struct sch_compiler *c, const struct sch_node *child, int depth)
{
	struct sch_node *t;

	if (child == NULL)
		return 0;
	t = (struct sch_node *)(uintptr_t)target(child);
	if (t->mark == 1) {
		if (c->err != NULL) {
			snprintf(c->err->pointer, sizeof(c->err->pointer), "%s%s",
			    child->location, child->ref_uri ? "/$ref" : "");
			snprintf(c->err->keyword, sizeof(c->err->keyword), "%s",
			    child->ref_uri ? "$ref" : "");
		}
		return cg_error_set(c->err, "$ref cycle: this schema is applied "
		    "to the same instance again without consuming any input");
	}
	return t->mark == 0 ? visit(c, t, depth + 1) : 0;
}

/* Edges along which evaluation stays on the same instance location. */
static int
visit(struct sch_compiler *c, struct sch_node *n, int depth)
{
	const struct sch_kwlist *any = &n->kw[SCH_C_ANY];
	const struct sch_kwlist *obj = &n->kw[SCH_C_OBJECT];
	int rc = 0;

	if (depth > 4 * SCH_MAX_DEPTH) {
		cg_error_set_pointer(c->err, n->location);
		return cg_error_set(c->err, "schema applicators nest deeper "
		    "than %d levels", 4 * SCH_MAX_DEPTH);
	}
	n->mark = 1;
	for (size_t i = 0; rc == 0 && i < any->n; i++) {
		const struct sch_kw *kw = &any->v[i];

		if (kw->kind == SCH_KW_ALLOF || kw->kind == SCH_KW_ANYOF ||
		    kw->kind == SCH_KW_ONEOF) {
			for (size_t j = 0; rc == 0 && j < kw->u.list.n; j++)
				rc = visit_edge(c, kw->u.list.v[j], depth);
		} else if (kw->kind == SCH_KW_NOT) {
			rc = visit_edge(c, kw->u.schema, depth);
		} else if (kw->kind == SCH_KW_IF) {
			if ((rc = visit_edge(c, kw->u.cond.cond, depth)) == 0 &&
			    (rc = visit_edge(c, kw->u.cond.then, depth)) == 0)
				rc = visit_edge(c, kw->u.cond.otherwise, depth);
		}
	}
	for (size_t i = 0; rc == 0 && i < obj->n; i++) {
		if (obj->v[i].kind != SCH_KW_DEPENDENCIES)
			continue;
		for (size_t j = 0; rc == 0 && j < obj->v[i].u.deps.n; j++)
			rc = visit_edge(c, obj->v[i].u.deps.v[j].schema, depth);
	}
	n->mark = 2;
	return rc;
}

int
sch_check_cycles(struct sch_compiler *c)
{
	for (size_t i = 0; i < c->nnodes; i++)
		c->nodes[i]->mark = 0;
	for (size_t i = 0; i < c->nnodes; i++) {
		struct sch_node *n = c->nodes[i];

		if (n->ref_uri == NULL && n->mark == 0 && visit(c, n, 0) < 0)
			return -1;
	}
	return 0;
}
