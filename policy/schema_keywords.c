/*
 * Keyword compilers: one function per group of draft-07 keywords, each
 * checking the keyword's value and filling the node's per-type keyword
 * lists (generic, number, string, array, object), so validation only looks
 * at the keywords that can apply to the instance in hand.
 */
#include "policy/schema_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
path_index(struct sch_compiler *c, const char *location, size_t i)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%zu", i);
	return sch_path_join(c, location, buf);
}

/* --- keyword value helpers ----------------------------------------------- */

static int
get_count(struct sch_compiler *c, const json_t *v, const char *loc,
    const char *kw, size_t *out)
{
	double d;

	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (size_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d >= 0 && d == floor(d)) {
			*out = d >= 1e18 ? (size_t)1e18 : (size_t)d;
			return 0;
		}
	}
	return sch_compile_fail(c, loc, kw, "%s must be a non-negative integer", kw);
}

static struct sch_kw *
add_kw(struct sch_compiler *c, struct sch_kw *tmp, size_t *n,
    enum sch_kw_kind kind)
{
	(void)c;
	memset(&tmp[*n], 0, sizeof(tmp[*n]));
	tmp[*n].kind = kind;
	return &tmp[(*n)++];
}

static const struct sch_node *
sub(struct sch_compiler *c, const json_t *v, const char *base,
    const char *loc, const char *kw)
{
	char *l = sch_path_join(c, loc, kw);

	return l == NULL ? NULL : sch_compile_node(c, v, base, l);
}

/* Compiles a non-empty array of schemas (allOf, anyOf, oneOf, items). */
static const struct sch_node **
sub_list(struct sch_compiler *c, const json_t *v, const char *base,
    const char *loc, const char *kw, bool allow_empty, size_t *n)
{
	const struct sch_node **list;
	char *kloc;

	if (!json_is_array(v) || (!allow_empty && json_array_size(v) == 0)) {
		sch_compile_fail(c, loc, kw, "%s must be a%s array of schemas", kw,
		    allow_empty ? "n" : " non-empty");
		return NULL;
	}
	*n = json_array_size(v);
	list = sch_calloc(c, (*n + 1) * sizeof(*list));
	kloc = sch_path_join(c, loc, kw);
	if (list == NULL || kloc == NULL)
		return NULL;
	for (size_t i = 0; i < *n; i++) {
		char *l = path_index(c, kloc, i);

		if (l == NULL)
			return NULL;
		list[i] = sch_compile_node(c, json_array_get(v, i), base, l);
		if (list[i] == NULL)
			return NULL;
	}
	return list;
}

static json_t *
keep_json(struct sch_compiler *c, const json_t *v)
{
	struct cg_schema *s = c->schema;
	json_t **owned = realloc(s->owned, (s->nowned + 1) * sizeof(*owned));

	if (owned == NULL) {
		cg_error_set(c->err, "out of memory compiling schema");
		return NULL;
	}
	s->owned = owned;
	/* deep copy: the caller may mutate or free its document later */
	owned[s->nowned] = json_deep_copy(v);
	if (owned[s->nowned] == NULL) {
		cg_error_set(c->err, "out of memory compiling schema");
		return NULL;
	}
	return owned[s->nowned++];
}

static int
json_depth_ok(const json_t *v, int depth)
{
	size_t i;
	const char *k;
	json_t *m;

	if (depth > SCH_MAX_SCHEMA_DEPTH)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (!json_depth_ok(m, depth + 1))
				return 0;
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)(uintptr_t)v, k, m)
			if (!json_depth_ok(m, depth + 1))
				return 0;
	}
	return 1;
}

/* --- generic keywords ---------------------------------------------------- */

static const struct {
	const char *name;
	unsigned bit;
} type_names[] = {
	{ "null", SCH_T_NULL }, { "boolean", SCH_T_BOOLEAN },
	{ "object", SCH_T_OBJECT }, { "array", SCH_T_ARRAY },
	{ "number", SCH_T_NUMBER }, { "string", SCH_T_STRING },
	{ "integer", SCH_T_INTEGER },
};

static int
type_bit(const json_t *v, unsigned *bit)
{
	if (!json_is_string(v))
		return -1;
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (strcmp(json_string_value(v), type_names[i].name) == 0) {
			*bit = type_names[i].bit;
			return 0;
		}
	}
	return -1;
}

static int
compile_type(struct sch_compiler *c, const json_t *v, const char *loc,
    unsigned *types)
{
	unsigned bit;
	size_t i;
	json_t *m;

	*types = 0;
	if (json_is_string(v)) {
		if (type_bit(v, &bit) == 0) {
			*types = bit;
			return 0;
		}
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		json_array_foreach(v, i, m) {
			if (type_bit(m, &bit) < 0 || (*types & bit))
				goto bad;
			*types |= bit;
		}
		return 0;
	}
bad:
	return sch_compile_fail(c, loc, "type", "type must be a type name or an "
	    "array of distinct type names (null, boolean, object, array, "
	    "number, string, integer)");
}

static int
compile_enum(struct sch_compiler *c, struct sch_kw *kw, const json_t *v,
    const char *loc)
{
	struct sch_valueset *set;
	size_t n, size = 8;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return sch_compile_fail(c, loc, "enum", "enum must be a non-empty array");
	if (!json_depth_ok(v, 0))
		return sch_compile_fail(c, loc, "enum", "enum value nested too deeply");
	n = json_array_size(v);
	while (size < n * 2)
		size *= 2;
	set = sch_calloc(c, sizeof(*set));
	if (set == NULL)
		return -1;
	set->values = sch_calloc(c, n * sizeof(*set->values));
	set->hashes = sch_calloc(c, n * sizeof(*set->hashes));
	set->slots = sch_calloc(c, size * sizeof(*set->slots));
	if (set->values == NULL || set->hashes == NULL || set->slots == NULL)
		return -1;
	set->mask = size - 1;
	for (size_t i = 0; i < n; i++) {
		size_t s;

		set->values[i] = keep_json(c, json_array_get(v, i));
		if (set->values[i] == NULL)
			return -1;
		set->hashes[i] = sch_json_hash(set->values[i], 0);
		s = (size_t)set->hashes[i] & set->mask;
		while (set->slots[s] != 0)
			s = (s + 1) & set->mask;
		set->slots[s] = (uint32_t)(i + 1);
	}
	set->count = n;
	kw->u.set = set;
	return 0;
}

static int
compile_if(struct sch_compiler *c, struct sch_kw *kw, const json_t *obj,
    const char *base, const char *loc)
{
	const json_t *t = json_object_get(obj, "then");
	const json_t *e = json_object_get(obj, "else");

	kw->u.cond.cond = sub(c, json_object_get(obj, "if"), base, loc, "if");
	if (kw->u.cond.cond == NULL)
		return -1;
	if (t != NULL && (kw->u.cond.then = sub(c, t, base, loc, "then")) == NULL)
		return -1;
	if (e != NULL &&
	    (kw->u.cond.otherwise = sub(c, e, base, loc, "else")) == NULL)
		return -1;
	return 0;
}

static int
compile_generic(struct sch_compiler *c, const json_t *obj, const char *base,
    const char *loc, struct sch_kw *tmp, size_t *n)
{
	static const struct {
		const char *name;
		enum sch_kw_kind kind;
	} lists[] = {
		{ "allOf", SCH_KW_ALLOF }, { "anyOf", SCH_KW_ANYOF },
		{ "oneOf", SCH_KW_ONEOF },
	};
	const json_t *v;
	struct sch_kw *kw;

	if ((v = json_object_get(obj, "type")) != NULL) {
		kw = add_kw(c, tmp, n, SCH_KW_TYPE);
		if (compile_type(c, v, loc, &kw->u.types) < 0)
			return -1;
	}
	if ((v = json_object_get(obj, "const")) != NULL) {
		if (!json_depth_ok(v, 0))
			return sch_compile_fail(c, loc, "const", "const nested too deeply");
		kw = add_kw(c, tmp, n, SCH_KW_CONST);
		if ((kw->u.value = keep_json(c, v)) == NULL)
			return -1;
	}
	if ((v = json_object_get(obj, "enum")) != NULL &&
	    compile_enum(c, add_kw(c, tmp, n, SCH_KW_ENUM), v, loc) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if ((v = json_object_get(obj, lists[i].name)) == NULL)
			continue;
		kw = add_kw(c, tmp, n, lists[i].kind);
		kw->u.list.v = sub_list(c, v, base, loc, lists[i].name, false,
		    &kw->u.list.n);
		if (kw->u.list.v == NULL)
			return -1;
	}
	if ((v = json_object_get(obj, "not")) != NULL) {
		kw = add_kw(c, tmp, n, SCH_KW_NOT);
		if ((kw->u.schema = sub(c, v, base, loc, "not")) == NULL)
			return -1;
	}
	if (json_object_get(obj, "if") != NULL &&
	    compile_if(c, add_kw(c, tmp, n, SCH_KW_IF), obj, base, loc) < 0)
		return -1;
	/* then/else without if are ignored, but must still be schemas */
	if (json_object_get(obj, "if") == NULL) {
		if ((v = json_object_get(obj, "then")) && !sub(c, v, base, loc, "then"))
			return -1;
		if ((v = json_object_get(obj, "else")) && !sub(c, v, base, loc, "else"))
			return -1;
	}
	return 0;
}

/* --- numbers and strings ------------------------------------------------- */

static int
compile_numeric(struct sch_compiler *c, const json_t *obj, const char *loc,
    struct sch_kw *tmp, size_t *n)
{
	static const struct {
		const char *name;
		enum sch_kw_kind kind;
	} nums[] = {
		{ "minimum", SCH_KW_MINIMUM }, { "maximum", SCH_KW_MAXIMUM },
		{ "exclusiveMinimum", SCH_KW_EXCL_MINIMUM },
		{ "exclusiveMaximum", SCH_KW_EXCL_MAXIMUM },
		{ "multipleOf", SCH_KW_MULTIPLE_OF },
	};

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		const json_t *v = json_object_get(obj, nums[i].name);
		struct sch_kw *kw;

		if (v == NULL)
			continue;
		kw = add_kw(c, tmp, n, nums[i].kind);
		if (sch_num_get(v, &kw->u.num.num) < 0)
			return sch_compile_fail(c, loc, nums[i].name,
			    "%s must be a number", nums[i].name);
		if (nums[i].kind != SCH_KW_MULTIPLE_OF)
			continue;
		if ((kw->u.num.num.is_int && kw->u.num.num.i <= 0) ||
		    (!kw->u.num.num.is_int && !(kw->u.num.num.d > 0)))
			return sch_compile_fail(c, loc, "multipleOf",
			    "multipleOf must be a number greater than 0");
		if (sch_decimal_of(&kw->u.num.num, &kw->u.num.dec) < 0)
			return sch_compile_fail(c, loc, "multipleOf",
			    "multipleOf is out of range");
	}
	return 0;
}

static int
compile_pattern(struct sch_compiler *c, const json_t *v, const char *loc,
    const char *kw, struct sch_regex **out)
{
	struct cg_schema *s = c->schema;
	struct sch_regex **list;
	char msg[256];

	if (!json_is_string(v))
		return sch_compile_fail(c, loc, kw, "%s must be a string", kw);
	*out = sch_regex_compile(json_string_value(v), json_string_length(v),
	    msg, sizeof(msg));
	if (*out == NULL)
		return sch_compile_fail(c, loc, kw, "invalid regular expression: %s",
		    msg);
	list = realloc(s->regexes, (s->nregexes + 1) * sizeof(*list));
	if (list == NULL) {
		sch_regex_free(*out);
		return cg_error_set(c->err, "out of memory compiling schema");
	}
	s->regexes = list;
	list[s->nregexes++] = *out;
	return 0;
}

static int
compile_string(struct sch_compiler *c, const json_t *obj, const char *loc,
    struct sch_kw *tmp, size_t *n)
{
	const json_t *v;
	struct sch_kw *kw;

	if ((v = json_object_get(obj, "minLength")) != NULL) {
		kw = add_kw(c, tmp, n, SCH_KW_MIN_LENGTH);
		if (get_count(c, v, loc, "minLength", &kw->u.count) < 0)
			return -1;
	}
	if ((v = json_object_get(obj, "maxLength")) != NULL) {
		kw = add_kw(c, tmp, n, SCH_KW_MAX_LENGTH);
		if (get_count(c, v, loc, "maxLength", &kw->u.count) < 0)
			return -1;
	}
	if ((v = json_object_get(obj, "pattern")) != NULL) {
		kw = add_kw(c, tmp, n, SCH_KW_PATTERN);
		if (compile_pattern(c, v, loc, "pattern", &kw->u.re) < 0)
			return -1;
	}
	if ((v = json_object_get(obj, "format")) != NULL) {
		int f;

		if (!json_is_string(v))
			return sch_compile_fail(c, loc, "format", "format must be a string");
		f = sch_format_lookup(json_string_value(v));
		/* unknown formats are annotations only (draft-07 section 7.2) */
		if (f != SCH_F_UNKNOWN && c->opts->assert_format)
			add_kw(c, tmp, n, SCH_KW_FORMAT)->u.format = f;
	}
	return 0;
}

/* --- arrays -------------------------------------------------------------- */

static int
compile_array(struct sch_compiler *c, const json_t *obj, const char *base,
    const char *loc, struct sch_kw *tmp, size_t *n)
{
	const json_t *items = json_object_get(obj, "items");
	const json_t *addl = json_object_get(obj, "additionalItems");
	const json_t *v;
	struct sch_kw *kw;

	if (items != NULL || addl != NULL) {
		kw = add_kw(c, tmp, n, SCH_KW_ITEMS);
		if (json_is_array(items)) {
			kw->u.items.tuple = sub_list(c, items, base, loc, "items",
			    true, &kw->u.items.ntuple);
			if (kw->u.items.tuple == NULL)
				return -1;
		} else if (items != NULL &&
		    (kw->u.items.all = sub(c, items, base, loc, "items")) == NULL) {
			return -1;
		}
		if (addl != NULL) {
			const struct sch_node *a = sub(c, addl, base, loc,
			    "additionalItems");

			if (a == NULL)
				return -1;
			/* only meaningful after an "items" array */
			if (json_is_array(items))
				kw->u.items.additional = a;
		}
		if (kw->u.items.all == NULL && kw->u.items.additional == NULL &&
		    kw->u.items.ntuple == 0)
			(*n)--;
	}
	if ((v = json_object_get(obj, "contains")) != NULL) {
		kw = add_kw(c, tmp, n, SCH_KW_CONTAINS);
		if ((kw->u.schema = sub(c, v, base, loc, "contains")) == NULL)
			return -1;
	}
	if ((v = json_object_get(obj, "minItems")) != NULL &&
	    get_count(c, v, loc, "minItems",
	    &add_kw(c, tmp, n, SCH_KW_MIN_ITEMS)->u.count) < 0)
		return -1;
	if ((v = json_object_get(obj, "maxItems")) != NULL &&
	    get_count(c, v, loc, "maxItems",
	    &add_kw(c, tmp, n, SCH_KW_MAX_ITEMS)->u.count) < 0)
		return -1;
	if ((v = json_object_get(obj, "uniqueItems")) != NULL) {
		if (!json_is_boolean(v))
			return sch_compile_fail(c, loc, "uniqueItems",
			    "uniqueItems must be a boolean");
		if (json_is_true(v))
			add_kw(c, tmp, n, SCH_KW_UNIQUE_ITEMS);
	}
	return 0;
}

/* --- objects ------------------------------------------------------------- */

static struct sch_prop *
prop_slot(struct sch_props *p, const char *name, size_t len, uint64_t h)
{
	size_t i = (size_t)h & p->mask;

	while (p->table[i].name != NULL && (p->table[i].hash != h ||
	    p->table[i].len != len || memcmp(p->table[i].name, name, len) != 0))
		i = (i + 1) & p->mask;
	return &p->table[i];
}

static struct sch_prop *
prop_add(struct sch_compiler *c, struct sch_props *p, const char *name,
    size_t len)
{
	uint64_t h = sch_hash_bytes(name, len);
	struct sch_prop *slot = prop_slot(p, name, len, h);

	if (slot->name == NULL) {
		slot->name = sch_strndup(&c->schema->arena, name, len);
		if (slot->name == NULL)
			return NULL;
		slot->len = len;
		slot->hash = h;
		slot->required_bit = -1;
	}
	return slot;
}

static int
compile_properties(struct sch_compiler *c, struct sch_props *p,
    const json_t *v, const char *base, const char *loc)
{
	const char *key;
	size_t klen;
	json_t *m;
	char *ploc;

	if (!json_is_object(v))
		return sch_compile_fail(c, loc, "properties",
		    "properties must be an object of schemas");
	ploc = sch_path_join(c, loc, "properties");
	if (ploc == NULL)
		return -1;
	p->has_props = true;
	json_object_keylen_foreach((json_t *)(uintptr_t)v, key, klen, m) {
		struct sch_prop *slot = prop_add(c, p, key, klen);
		char *l = sch_path_join(c, ploc, key);

		if (slot == NULL || l == NULL)
			return -1;
		if ((slot->schema = sch_compile_node(c, m, base, l)) == NULL)
			return -1;
	}
	return 0;
}

static int
compile_pattern_props(struct sch_compiler *c, struct sch_props *p,
    const json_t *v, const char *base, const char *loc)
{
	const char *key;
	json_t *m;
	char *ploc;
	size_t i = 0;

	if (!json_is_object(v))
		return sch_compile_fail(c, loc, "patternProperties",
		    "patternProperties must be an object of schemas");
	ploc = sch_path_join(c, loc, "patternProperties");
	p->patterns = sch_calloc(c, (json_object_size(v) + 1) * sizeof(*p->patterns));
	if (ploc == NULL || p->patterns == NULL)
		return -1;
	json_object_foreach((json_t *)(uintptr_t)v, key, m) {
		char *l = sch_path_join(c, ploc, key);
		json_t *pat = json_string(key);
		int rc;

		if (l == NULL || pat == NULL) {
			json_decref(pat);
			return cg_error_set(c->err, "out of memory compiling schema");
		}
		rc = compile_pattern(c, pat, ploc, key, &p->patterns[i].re);
		json_decref(pat);
		if (rc < 0) {
			/* name the member by its escaped pointer */
			cg_error_set_pointer(c->err, l);
			if (c->err != NULL)
				snprintf(c->err->keyword, sizeof(c->err->keyword),
				    "patternProperties");
			return -1;
		}
		if ((p->patterns[i].schema = sch_compile_node(c, m, base, l)) == NULL)
			return -1;
		i++;
	}
	p->npatterns = i;
	return 0;
}

static int
compile_required(struct sch_compiler *c, struct sch_props *p, const json_t *v,
    const char *loc)
{
	size_t i, n;
	json_t *m;

	if (!json_is_array(v))
		return sch_compile_fail(c, loc, "required",
		    "required must be an array of strings");
	n = json_array_size(v);
	p->required = sch_calloc(c, (n + 1) * sizeof(*p->required));
	if (p->required == NULL)
		return -1;
	json_array_foreach(v, i, m) {
		struct sch_prop *slot;

		if (!json_is_string(m))
			return sch_compile_fail(c, loc, "required",
			    "required must be an array of strings");
		slot = prop_add(c, p, json_string_value(m), json_string_length(m));
		if (slot == NULL)
			return -1;
		if (slot->required_bit >= 0)
			continue;       /* duplicate name */
		if (p->nrequired < 64) {
			slot->required_bit = (int)p->nrequired;
			p->required_mask |= 1ull << p->nrequired;
		} else {
			slot->required_bit = 64;
		}
		p->required[p->nrequired++] = slot;
	}
	return 0;
}

static int
compile_props(struct sch_compiler *c, const json_t *obj, const char *base,
    const char *loc, struct sch_kw *tmp, size_t *n)
{
	const json_t *props = json_object_get(obj, "properties");
	const json_t *pats = json_object_get(obj, "patternProperties");
	const json_t *addl = json_object_get(obj, "additionalProperties");
	const json_t *req = json_object_get(obj, "required");
	struct sch_props *p;
	size_t size = 8, count = 0;

	if (props == NULL && pats == NULL && addl == NULL && req == NULL)
		return 0;
	count = json_object_size(props) + json_array_size(req);
	while (size < count * 2)
		size *= 2;
	p = sch_calloc(c, sizeof(*p));
	if (p == NULL || (p->table = sch_calloc(c, size * sizeof(*p->table))) == NULL)
		return -1;
	p->mask = size - 1;
	add_kw(c, tmp, n, SCH_KW_PROPS)->u.props = p;
	if (props != NULL && compile_properties(c, p, props, base, loc) < 0)
		return -1;
	if (pats != NULL && compile_pattern_props(c, p, pats, base, loc) < 0)
		return -1;
	if (addl != NULL &&
	    (p->additional = sub(c, addl, base, loc, "additionalProperties")) == NULL)
		return -1;
	if (req != NULL && compile_required(c, p, req, loc) < 0)
		return -1;
	return 0;
}

static int
compile_dependency(struct sch_compiler *c, struct sch_dependency *d,
    const json_t *m, const char *base, const char *dloc, const char *key)
{
	size_t i;
	json_t *name;

	if (!json_is_array(m)) {
		char *l = sch_path_join(c, dloc, key);

		if (l == NULL)
			return -1;
		d->schema = sch_compile_node(c, m, base, l);
		return d->schema == NULL ? -1 : 0;
	}
	d->nnames = json_array_size(m);
	d->names = sch_calloc(c, (d->nnames + 1) * sizeof(*d->names));
	d->name_lens = sch_calloc(c, (d->nnames + 1) * sizeof(*d->name_lens));
	if (d->names == NULL || d->name_lens == NULL)
		return -1;
	json_array_foreach(m, i, name) {
		if (!json_is_string(name))
			return sch_compile_fail(c, dloc, key,
			    "a dependency must be a schema or an array of strings");
		d->names[i] = json_string_value(name);
		d->name_lens[i] = json_string_length(name);
		d->names[i] = sch_strndup(&c->schema->arena, d->names[i],
		    d->name_lens[i]);
		if (d->names[i] == NULL)
			return -1;
	}
	return 0;
}

static int
compile_dependencies(struct sch_compiler *c, struct sch_kw *kw,
    const json_t *v, const char *base, const char *loc)
{
	const char *key;
	size_t klen, i = 0;
	json_t *m;
	char *dloc;

	if (!json_is_object(v))
		return sch_compile_fail(c, loc, "dependencies",
		    "dependencies must be an object");
	dloc = sch_path_join(c, loc, "dependencies");
	kw->u.deps.v = sch_calloc(c, (json_object_size(v) + 1) *
	    sizeof(*kw->u.deps.v));
	if (dloc == NULL || kw->u.deps.v == NULL)
		return -1;
	json_object_keylen_foreach((json_t *)(uintptr_t)v, key, klen, m) {
		struct sch_dependency *d = &kw->u.deps.v[i++];

		d->name = sch_strndup(&c->schema->arena, key, klen);
		d->len = klen;
		if (d->name == NULL ||
		    compile_dependency(c, d, m, base, dloc, key) < 0)
			return -1;
	}
	kw->u.deps.n = i;
	return 0;
}

static int
compile_object(struct sch_compiler *c, const json_t *obj, const char *base,
    const char *loc, struct sch_kw *tmp, size_t *n)
{
	const json_t *v;
	struct sch_kw *kw;

	if (compile_props(c, obj, base, loc, tmp, n) < 0)
		return -1;
	if ((v = json_object_get(obj, "propertyNames")) != NULL) {
		kw = add_kw(c, tmp, n, SCH_KW_PROPERTY_NAMES);
		if ((kw->u.schema = sub(c, v, base, loc, "propertyNames")) == NULL)
			return -1;
	}
	if ((v = json_object_get(obj, "dependencies")) != NULL &&
	    compile_dependencies(c, add_kw(c, tmp, n, SCH_KW_DEPENDENCIES), v,
	    base, loc) < 0)
		return -1;
	if ((v = json_object_get(obj, "minProperties")) != NULL &&
	    get_count(c, v, loc, "minProperties",
	    &add_kw(c, tmp, n, SCH_KW_MIN_PROPERTIES)->u.count) < 0)
		return -1;
	if ((v = json_object_get(obj, "maxProperties")) != NULL &&
	    get_count(c, v, loc, "maxProperties",
	    &add_kw(c, tmp, n, SCH_KW_MAX_PROPERTIES)->u.count) < 0)
		return -1;
	return 0;
}

/* "definitions" are compiled too, so a broken one is reported at load
 * time rather than when a message first reaches it. */
static int
compile_definitions(struct sch_compiler *c, const json_t *obj,
    const char *base, const char *loc)
{
	const json_t *defs = json_object_get(obj, "definitions");
	const char *key;
	json_t *m;
	char *dloc;

	if (defs == NULL)
		return 0;
	if (!json_is_object(defs))
		return sch_compile_fail(c, loc, "definitions",
		    "definitions must be an object of schemas");
	if ((dloc = sch_path_join(c, loc, "definitions")) == NULL)
		return -1;
	json_object_foreach((json_t *)(uintptr_t)defs, key, m) {
		char *l = sch_path_join(c, dloc, key);

		if (l == NULL || sch_compile_node(c, m, base, l) == NULL)
			return -1;
	}
	return 0;
}

static int
store_list(struct sch_compiler *c, struct sch_kwlist *list,
    const struct sch_kw *tmp, size_t n)
{
	list->n = n;
	if (n == 0)
		return 0;
	list->v = sch_calloc(c, n * sizeof(*list->v));
	if (list->v == NULL)
		return -1;
	memcpy(list->v, tmp, n * sizeof(*tmp));
	return 0;
}

int
sch_compile_keywords(struct sch_compiler *c, struct sch_node *node,
    const json_t *obj, const char *base, const char *loc)
{
	/* every keyword of a class fits: the largest class has 8 */
	struct sch_kw tmp[SCH_C_COUNT][12];
	size_t n[SCH_C_COUNT] = { 0 };

	if (compile_generic(c, obj, base, loc, tmp[SCH_C_ANY], &n[SCH_C_ANY]) < 0 ||
	    compile_numeric(c, obj, loc, tmp[SCH_C_NUMBER], &n[SCH_C_NUMBER]) < 0 ||
	    compile_string(c, obj, loc, tmp[SCH_C_STRING], &n[SCH_C_STRING]) < 0 ||
	    compile_array(c, obj, base, loc, tmp[SCH_C_ARRAY], &n[SCH_C_ARRAY]) < 0 ||
	    compile_object(c, obj, base, loc, tmp[SCH_C_OBJECT], &n[SCH_C_OBJECT]) < 0 ||
	    compile_definitions(c, obj, base, loc) < 0)
		return -1;
	for (int k = 0; k < SCH_C_COUNT; k++)
		if (store_list(c, &node->kw[k], tmp[k], n[k]) < 0)
			return -1;
	return 0;
}
