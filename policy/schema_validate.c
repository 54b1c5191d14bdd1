/*
 * Validation: walks the compiled node graph over one instance. The valid
 * path allocates nothing and formats nothing; the instance location is
 * kept as a stack of (key | index) segments and turned into a JSON pointer
 * only when an error is reported to a caller that asked for one.
 *
 * Two rules keep it safe on hostile input: evaluation depth is bounded
 * (SCH_MAX_DEPTH), and running out of a budget (depth, regex limits) is
 * "fatal": it fails the whole validation, so a "not" or an "anyOf" can
 * never turn an exhausted check into a pass.
 */
#include "policy/schema_internal.h"

#include "common/util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vseg {
	const char *key;    /* NULL: array index */
	size_t len;         /* key length, or the index */
};

struct vctx {
	struct cg_error *err;
	int quiet;          /* > 0 inside a branch whose failure is not final */
	int depth;
	bool have_err;
	bool fatal;
	uint32_t steps;         /* subschema evaluations so far */
	uint64_t start_ns;      /* 0 until the clock is first needed */
	int npath;
	struct vseg path[SCH_MAX_DEPTH + 1];
};

static json_t *
unconst(const json_t *j)
{
	/* jansson's iteration API takes non-const pointers; it does not
	 * modify the object */
	return (json_t *)(uintptr_t)j;
}

static void
format_pointer(const struct vctx *ctx, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < ctx->npath && o + 1 < size; i++) {
		const struct vseg *s = &ctx->path[i];

		if (s->key == NULL) {
			int n = snprintf(buf + o, size - o, "/%zu", s->len);

			o = n < 0 ? size : o + (size_t)n;
			continue;
		}
		buf[o++] = '/';
		for (size_t k = 0; k < s->len && o + 2 < size; k++) {
			char c = s->key[k];

			if (c == '~' || c == '/') {
				buf[o++] = '~';
				buf[o++] = c == '~' ? '0' : '1';
			} else {
				buf[o++] = c;
			}
		}
		buf[o < size ? o : size - 1] = '\0';
	}
	if (o >= size)
		buf[size - 1] = '\0';
}

static void __attribute__((format(printf, 3, 0)))
set_error(struct vctx *ctx, const char *keyword, const char *fmt, va_list ap)
{
	format_pointer(ctx, ctx->err->pointer, sizeof(ctx->err->pointer));
	snprintf(ctx->err->keyword, sizeof(ctx->err->keyword), "%s", keyword);
	vsnprintf(ctx->err->msg, sizeof(ctx->err->msg), fmt, ap);
	ctx->have_err = true;
}

/* Records the first failure outside any tentative branch; returns false. */
static bool __attribute__((format(printf, 3, 4)))
fail(struct vctx *ctx, const char *keyword, const char *fmt, ...)
{
	va_list ap;

	if (ctx->err == NULL || ctx->quiet > 0 || ctx->have_err)
		return false;
	va_start(ap, fmt);
	set_error(ctx, keyword, fmt, ap);
	va_end(ap);
	return false;
}

static bool __attribute__((format(printf, 3, 4)))
fail_fatal(struct vctx *ctx, const char *keyword, const char *fmt, ...)
{
	va_list ap;

	ctx->fatal = true;
	if (ctx->err == NULL)
		return false;
	va_start(ap, fmt);
	set_error(ctx, keyword, fmt, ap);
	va_end(ap);
	return false;
}

static bool v_node(struct vctx *ctx, const struct sch_node *node,
    const json_t *inst);

/* Whether the validation is still within SCH_MAX_NS of its first clock
 * read (fails it if not). */
static bool
within_time(struct vctx *ctx)
{
	uint64_t now = cg_now_ns();

	if (ctx->start_ns == 0)
		ctx->start_ns = now;
	else if (now - ctx->start_ns > SCH_MAX_NS)
		return fail_fatal(ctx, "", "validation took longer than its "
		    "budget (%u ms): the value is refused", SCH_MAX_NS / 1000000u);
	return true;
}

/* A regular expression match, timed: -2 once the validation is past its
 * budget (failed already), else sch_regex_match's result. One clock read
 * per match, and one before the first. */
static int
match(struct vctx *ctx, struct sch_regex *re, const char *s, size_t len)
{
	int rc;

	if (ctx->start_ns == 0)
		ctx->start_ns = cg_now_ns();
	rc = sch_regex_match(re, s, len);
	return rc >= 0 && !within_time(ctx) ? -2 : rc;
}

static bool
v_child(struct vctx *ctx, const struct sch_node *node, const json_t *inst,
    const char *key, size_t len)
{
	bool ok;

	ctx->path[ctx->npath].key = key;
	ctx->path[ctx->npath].len = len;
	ctx->npath++;
	ok = v_node(ctx, node, inst);
	ctx->npath--;
	return ok;
}

static bool
is_false_schema(const struct sch_node *n)
{
	if (n->ref != NULL)
		n = n->ref;
	return n->boolean == 0;
}

/* --- generic keywords ---------------------------------------------------- */

static unsigned
type_of(const json_t *inst)
{
	double d;

	switch (json_typeof(inst)) {
	case JSON_OBJECT:
		return SCH_T_OBJECT;
	case JSON_ARRAY:
		return SCH_T_ARRAY;
	case JSON_STRING:
		return SCH_T_STRING;
	case JSON_INTEGER:
		return SCH_T_INTEGER | SCH_T_NUMBER;
	case JSON_REAL:
		d = json_real_value(inst);
		/* 1.0 is an integer (draft-07 section 6.1.1) */
		if (isfinite(d) && d == floor(d))
			return SCH_T_INTEGER | SCH_T_NUMBER;
		return SCH_T_NUMBER;
	case JSON_TRUE:
	case JSON_FALSE:
		return SCH_T_BOOLEAN;
	case JSON_NULL:
		return SCH_T_NULL;
	}
	return 0;
}

static bool
v_enum(struct vctx *ctx, const struct sch_valueset *set, const json_t *inst)
{
	uint64_t h = sch_json_hash(inst, 0);
	size_t s = (size_t)h & set->mask;

	for (; set->slots[s] != 0; s = (s + 1) & set->mask) {
		size_t i = set->slots[s] - 1;

		if (set->hashes[i] == h &&
		    sch_json_equal(set->values[i], inst, 0) == 1)
			return true;
	}
	return fail(ctx, "enum", "value is not one of the %zu allowed values",
	    set->count);
}

static bool
v_allof(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	for (size_t i = 0; i < kw->u.list.n; i++)
		if (!v_node(ctx, kw->u.list.v[i], inst))
			return false;
	return true;
}

static bool
v_anyof(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	bool ok = false;

	ctx->quiet++;
	for (size_t i = 0; i < kw->u.list.n && !ok && !ctx->fatal; i++)
		ok = v_node(ctx, kw->u.list.v[i], inst);
	ctx->quiet--;
	if (ctx->fatal)
		return false;
	return ok || fail(ctx, "anyOf", "value matches none of the %zu anyOf "
	    "schemas", kw->u.list.n);
}

static bool
v_oneof(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	size_t matched = 0, which[2] = { 0, 0 };

	ctx->quiet++;
	for (size_t i = 0; i < kw->u.list.n && matched < 2 && !ctx->fatal; i++)
		if (v_node(ctx, kw->u.list.v[i], inst))
			which[matched++] = i;
	ctx->quiet--;
	if (ctx->fatal)
		return false;
	if (matched == 1)
		return true;
	if (matched == 0)
		return fail(ctx, "oneOf", "value matches none of the %zu oneOf "
		    "schemas", kw->u.list.n);
	return fail(ctx, "oneOf", "value matches oneOf schemas %zu and %zu; "
	    "exactly one must match", which[0], which[1]);
}

static bool
v_not(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	bool ok;

	ctx->quiet++;
	ok = v_node(ctx, kw->u.schema, inst);
	ctx->quiet--;
	if (ctx->fatal)
		return false;
	return !ok || fail(ctx, "not", "value matches the schema in \"not\"");
}

static bool
v_if(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	bool ok;

	ctx->quiet++;
	ok = v_node(ctx, kw->u.cond.cond, inst);
	ctx->quiet--;
	if (ctx->fatal)
		return false;
	if (ok)
		return kw->u.cond.then == NULL || v_node(ctx, kw->u.cond.then, inst);
	return kw->u.cond.otherwise == NULL ||
	    v_node(ctx, kw->u.cond.otherwise, inst);
}

/* --- numbers and strings ------------------------------------------------- */

static bool
real_int(double d, json_int_t *out)
{
	if (d != floor(d) || d < -9223372036854775808.0 ||
	    d >= 9223372036854775808.0)
		return false;
	*out = (json_int_t)d;
	return true;
}

static bool
v_multiple_of(struct vctx *ctx, const struct sch_kw *kw, const struct sch_num *n)
{
	const struct sch_num *div = &kw->u.num.num;
	struct sch_decimal dec;
	json_int_t i;
	bool ok;

	if (div->is_int && n->is_int)
		ok = n->i % div->i == 0;
	else if (div->is_int && !n->is_int && real_int(n->d, &i))
		ok = i % div->i == 0;
	else if (sch_decimal_of(n, &dec) < 0)
		ok = false;
	else
		ok = sch_decimal_multiple(&dec, &kw->u.num.dec);
	return ok || fail(ctx, "multipleOf", "value is not a multiple of %.17g",
	    div->is_int ? (double)div->i : div->d);
}

static bool
v_number(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	struct sch_num n;
	int c;

	sch_num_get(inst, &n);
	if (kw->kind == SCH_KW_MULTIPLE_OF)
		return v_multiple_of(ctx, kw, &n);
	c = sch_num_cmp(&n, &kw->u.num.num);
	if (kw->kind == SCH_KW_MINIMUM)
		return c >= 0 || fail(ctx, "minimum", "value is below the minimum");
	if (kw->kind == SCH_KW_MAXIMUM)
		return c <= 0 || fail(ctx, "maximum", "value is above the maximum");
	if (kw->kind == SCH_KW_EXCL_MINIMUM)
		return c > 0 || fail(ctx, "exclusiveMinimum",
		    "value is not above the exclusive minimum");
	return c < 0 || fail(ctx, "exclusiveMaximum",
	    "value is not below the exclusive maximum");
}

/* Code points of valid UTF-8: every byte that does not continue one. */
static size_t
utf8_length(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

static bool
v_length(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	const char *s = json_string_value(inst);
	size_t bytes = json_string_length(inst), limit = kw->u.count;

	/* a code point is 1 to 4 bytes: most strings are decided by bytes */
	if (kw->kind == SCH_KW_MAX_LENGTH) {
		return bytes <= limit || utf8_length(s, bytes) <= limit ||
		    fail(ctx, "maxLength", "string is longer than %zu characters",
		    limit);
	}
	return bytes / 4 >= limit || (bytes >= limit &&
	    utf8_length(s, bytes) >= limit) ||
	    fail(ctx, "minLength", "string is shorter than %zu characters", limit);
}

static bool
v_pattern(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	int rc = match(ctx, kw->u.re, json_string_value(inst),
	    json_string_length(inst));

	if (rc == -2)
		return false;
	if (rc < 0)
		return fail_fatal(ctx, "pattern", "pattern match exceeded its "
		    "resource limit");
	return rc == 1 || fail(ctx, "pattern", "string does not match the "
	    "pattern");
}

static bool
v_format(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	return sch_format_check(kw->u.format, json_string_value(inst),
	    json_string_length(inst)) ||
	    fail(ctx, "format", "string is not a valid %s",
	    sch_format_name(kw->u.format));
}

/* --- arrays -------------------------------------------------------------- */

static bool
v_items(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	size_t n = json_array_size(inst);

	for (size_t i = 0; i < n; i++) {
		const struct sch_node *s = kw->u.items.all;

		if (s == NULL)
			s = i < kw->u.items.ntuple ? kw->u.items.tuple[i] :
			    kw->u.items.additional;
		if (s == NULL)
			break;
		if (s == kw->u.items.additional && is_false_schema(s)) {
			ctx->path[ctx->npath++] = (struct vseg){ NULL, i };
			fail(ctx, "additionalItems", "no more than %zu items are "
			    "allowed", kw->u.items.ntuple);
			ctx->npath--;
			return false;
		}
		if (!v_child(ctx, s, json_array_get(inst, i), NULL, i))
			return false;
	}
	return true;
}

static bool
v_contains(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	size_t n = json_array_size(inst);
	bool ok = false;

	ctx->quiet++;
	for (size_t i = 0; i < n && !ok && !ctx->fatal; i++)
		ok = v_child(ctx, kw->u.schema, json_array_get(inst, i), NULL, i);
	ctx->quiet--;
	if (ctx->fatal)
		return false;
	return ok || fail(ctx, "contains", "no item matches \"contains\"");
}

struct hashed_item {
	uint64_t hash;
	size_t index;
};

static int
cmp_hashed(const void *a, const void *b)
{
	const struct hashed_item *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (x->index > y->index) - (x->index < y->index);
}

/* Sorting by a hash that agrees with equality makes duplicates adjacent. */
static bool
v_unique(struct vctx *ctx, const json_t *inst)
{
	struct hashed_item stackbuf[64], *items = stackbuf;
	size_t n = json_array_size(inst);
	int dup = 0;

	if (n < 2)
		return true;
	if (n > 64 && (items = malloc(n * sizeof(*items))) == NULL)
		return fail_fatal(ctx, "uniqueItems", "out of memory");
	for (size_t i = 0; i < n; i++) {
		items[i].hash = sch_json_hash(json_array_get(inst, i), 0);
		items[i].index = i;
	}
	qsort(items, n, sizeof(*items), cmp_hashed);
	for (size_t i = 0; i + 1 < n && dup == 0; i++)
		for (size_t j = i + 1; j < n && items[j].hash == items[i].hash &&
		    dup == 0; j++)
			dup = sch_json_equal(json_array_get(inst, items[i].index),
			    json_array_get(inst, items[j].index), 0);
	if (items != stackbuf)
		free(items);
	if (dup < 0)
		return fail_fatal(ctx, "uniqueItems", "items nested too deeply "
		    "to compare");
	return dup == 0 || fail(ctx, "uniqueItems", "array items are not unique");
}

static bool
v_count(struct vctx *ctx, const struct sch_kw *kw, size_t n)
{
	if (kw->kind == SCH_KW_MIN_ITEMS)
		return n >= kw->u.count || fail(ctx, "minItems",
		    "array has fewer than %zu items", kw->u.count);
	if (kw->kind == SCH_KW_MAX_ITEMS)
		return n <= kw->u.count || fail(ctx, "maxItems",
		    "array has more than %zu items", kw->u.count);
	if (kw->kind == SCH_KW_MIN_PROPERTIES)
		return n >= kw->u.count || fail(ctx, "minProperties",
		    "object has fewer than %zu properties", kw->u.count);
	return n <= kw->u.count || fail(ctx, "maxProperties",
	    "object has more than %zu properties", kw->u.count);
}

/* --- objects ------------------------------------------------------------- */

static const struct sch_prop *
prop_find(const struct sch_props *p, const char *key, size_t len)
{
	uint64_t h = sch_hash_bytes(key, len);
	size_t i = (size_t)h & p->mask;

	for (; p->table[i].name != NULL; i = (i + 1) & p->mask)
		if (p->table[i].hash == h && p->table[i].len == len &&
		    memcmp(p->table[i].name, key, len) == 0)
			return &p->table[i];
	return NULL;
}

/* One member against properties, patternProperties and
 * additionalProperties; *seen collects required names found. */
static bool
v_member(struct vctx *ctx, const struct sch_props *p, const char *key,
    size_t klen, const json_t *value, uint64_t *seen)
{
	const struct sch_prop *prop = prop_find(p, key, klen);
	bool matched = false;

	if (prop != NULL) {
		if (prop->required_bit >= 0 && prop->required_bit < 64)
			*seen |= 1ull << prop->required_bit;
		if (prop->schema != NULL) {
			matched = true;
			if (!v_child(ctx, prop->schema, value, key, klen))
				return false;
		}
	}
	for (size_t i = 0; i < p->npatterns; i++) {
		int rc = match(ctx, p->patterns[i].re, key, klen);

		if (rc == -2)
			return false;
		if (rc < 0)
			return fail_fatal(ctx, "patternProperties", "pattern match "
			    "exceeded its resource limit");
		if (rc == 0)
			continue;
		matched = true;
		if (!v_child(ctx, p->patterns[i].schema, value, key, klen))
			return false;
	}
	if (matched || p->additional == NULL)
		return true;
	if (is_false_schema(p->additional)) {
		ctx->path[ctx->npath++] = (struct vseg){ key, klen };
		fail(ctx, "additionalProperties", "property is not allowed");
		ctx->npath--;
		return false;
	}
	return v_child(ctx, p->additional, value, key, klen);
}

static bool
v_required_rest(struct vctx *ctx, const struct sch_props *p,
    const json_t *inst, uint64_t seen)
{
	for (size_t i = 0; i < p->nrequired; i++) {
		const struct sch_prop *r = p->required[i];

		if (r->required_bit < 64 && (seen & (1ull << r->required_bit)))
			continue;
		if (r->required_bit == 64 &&
		    json_object_getn(inst, r->name, r->len) != NULL)
			continue;
		return fail(ctx, "required", "missing required property \"%s\"",
		    r->name);
	}
	return true;
}

static bool
v_props(struct vctx *ctx, const struct sch_props *p, const json_t *inst)
{
	json_t *obj = unconst(inst);
	uint64_t seen = 0;

	for (void *it = json_object_iter(obj); it != NULL;
	    it = json_object_iter_next(obj, it)) {
		if (!v_member(ctx, p, json_object_iter_key(it),
		    json_object_iter_key_len(it), json_object_iter_value(it),
		    &seen))
			return false;
	}
	if ((seen & p->required_mask) == p->required_mask &&
	    p->nrequired <= 64)
		return true;
	return v_required_rest(ctx, p, inst, seen);
}

/* A property name is validated as a string instance of its own. */
static bool
v_property_names(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	json_t *obj = unconst(inst);

	for (void *it = json_object_iter(obj); it != NULL;
	    it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t klen = json_object_iter_key_len(it);
		json_t *name = json_stringn_nocheck(key, klen);
		bool ok;

		if (name == NULL)
			return fail_fatal(ctx, "propertyNames", "out of memory");
		ok = v_child(ctx, kw->u.schema, name, key, klen);
		json_decref(name);
		if (!ok)
			return false;
	}
	return true;
}

static bool
v_dependencies(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	for (size_t i = 0; i < kw->u.deps.n; i++) {
		const struct sch_dependency *d = &kw->u.deps.v[i];

		if (json_object_getn(inst, d->name, d->len) == NULL)
			continue;
		if (d->schema != NULL) {
			if (!v_node(ctx, d->schema, inst))
				return false;
			continue;
		}
		for (size_t k = 0; k < d->nnames; k++)
			if (json_object_getn(inst, d->names[k],
			    d->name_lens[k]) == NULL)
				return fail(ctx, "dependencies", "property \"%s\" "
				    "requires property \"%s\"", d->name,
				    d->names[k]);
	}
	return true;
}

/* --- dispatch ------------------------------------------------------------ */

static bool
v_keyword(struct vctx *ctx, const struct sch_kw *kw, const json_t *inst)
{
	switch (kw->kind) {
	case SCH_KW_TYPE:
		return (type_of(inst) & kw->u.types) != 0 ||
		    fail(ctx, "type", "value has the wrong type");
	case SCH_KW_CONST:
		return sch_json_equal(kw->u.value, inst, 0) == 1 ||
		    fail(ctx, "const", "value is not the constant");
	case SCH_KW_ENUM:
		return v_enum(ctx, kw->u.set, inst);
	case SCH_KW_ALLOF:
		return v_allof(ctx, kw, inst);
	case SCH_KW_ANYOF:
		return v_anyof(ctx, kw, inst);
	case SCH_KW_ONEOF:
		return v_oneof(ctx, kw, inst);
	case SCH_KW_NOT:
		return v_not(ctx, kw, inst);
	case SCH_KW_IF:
		return v_if(ctx, kw, inst);
	case SCH_KW_MINIMUM:
	case SCH_KW_MAXIMUM:
	case SCH_KW_EXCL_MINIMUM:
	case SCH_KW_EXCL_MAXIMUM:
	case SCH_KW_MULTIPLE_OF:
		return v_number(ctx, kw, inst);
	case SCH_KW_MIN_LENGTH:
	case SCH_KW_MAX_LENGTH:
		return v_length(ctx, kw, inst);
	case SCH_KW_PATTERN:
		return v_pattern(ctx, kw, inst);
	case SCH_KW_FORMAT:
		return v_format(ctx, kw, inst);
	case SCH_KW_ITEMS:
		return v_items(ctx, kw, inst);
	case SCH_KW_CONTAINS:
		return v_contains(ctx, kw, inst);
	case SCH_KW_MIN_ITEMS:
	case SCH_KW_MAX_ITEMS:
		return v_count(ctx, kw, json_array_size(inst));
	case SCH_KW_UNIQUE_ITEMS:
		return v_unique(ctx, inst);
	case SCH_KW_PROPS:
		return v_props(ctx, kw->u.props, inst);
	case SCH_KW_PROPERTY_NAMES:
		return v_property_names(ctx, kw, inst);
	case SCH_KW_DEPENDENCIES:
		return v_dependencies(ctx, kw, inst);
	case SCH_KW_MIN_PROPERTIES:
	case SCH_KW_MAX_PROPERTIES:
		return v_count(ctx, kw, json_object_size(inst));
	}
	return true;
}

static enum sch_class
class_of(const json_t *inst)
{
	switch (json_typeof(inst)) {
	case JSON_OBJECT:
		return SCH_C_OBJECT;
	case JSON_ARRAY:
		return SCH_C_ARRAY;
	case JSON_STRING:
		return SCH_C_STRING;
	case JSON_INTEGER:
	case JSON_REAL:
		return SCH_C_NUMBER;
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		return SCH_C_ANY;
	}
	return SCH_C_ANY;
}

static bool
v_list(struct vctx *ctx, const struct sch_kwlist *list, const json_t *inst)
{
	for (size_t i = 0; i < list->n; i++)
		if (!v_keyword(ctx, &list->v[i], inst))
			return false;
	return true;
}

static bool
v_node(struct vctx *ctx, const struct sch_node *node, const json_t *inst)
{
	enum sch_class cls;
	bool ok;

	if (ctx->fatal)
		return false;
	if (node->ref != NULL)
		node = node->ref;
	if (node->boolean >= 0)
		return node->boolean == 1 ||
		    fail(ctx, "false", "the schema is false: nothing is allowed");
	if (ctx->depth >= SCH_MAX_DEPTH)
		return fail_fatal(ctx, "", "instance nested too deeply: "
		    "validation stops at depth %d", SCH_MAX_DEPTH);
	if (++ctx->steps % SCH_CLOCK_EVERY == 0) {
		if (ctx->steps > SCH_MAX_STEPS)
			return fail_fatal(ctx, "", "validation needs more than %u "
			    "subschema evaluations: the value is refused",
			    SCH_MAX_STEPS);
		if (!within_time(ctx))
			return false;
	}
	ctx->depth++;
	cls = class_of(inst);
	/* type, const and enum come first in the generic list: cheap checks
	 * decide most failures before any subschema runs */
	ok = v_list(ctx, &node->kw[SCH_C_ANY], inst) &&
	    (cls == SCH_C_ANY || v_list(ctx, &node->kw[cls], inst));
	ctx->depth--;
	return ok;
}

int
schema_validate(const struct cg_schema *schema, const json_t *instance,
    struct cg_error *err)
{
	struct vctx ctx;

	ctx.err = err;
	ctx.quiet = 0;
	ctx.depth = 0;
	ctx.have_err = false;
	ctx.fatal = false;
	ctx.steps = 0;
	ctx.start_ns = 0;
	ctx.npath = 0;
	if (schema == NULL || instance == NULL) {
		cg_error_set(err, "no schema or no instance");
		return -1;
	}
	if (v_node(&ctx, schema->root, instance))
		return 0;
	if (err != NULL && !ctx.have_err)
		cg_error_set(err, "value is not valid");
	return -1;
}
