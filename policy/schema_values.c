/*
 * JSON values as draft-07 compares them: numbers by mathematical value
 * (1 == 1.0, and integers beyond 2^53 compared exactly, never through a
 * double), objects regardless of member order. Hashing agrees with that
 * equality so "enum" and "uniqueItems" can use hash tables.
 */
#include "policy/schema_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 sch_u128;

uint64_t
sch_hash_bytes(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static uint64_t
mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	return x ^ (x >> 33);
}

int
sch_num_get(const json_t *v, struct sch_num *out)
{
	if (json_is_integer(v)) {
		out->is_int = true;
		out->i = json_integer_value(v);
		out->d = (double)out->i;
		return 0;
	}
	if (json_is_real(v)) {
		out->is_int = false;
		out->d = json_real_value(v);
		out->i = 0;
		return 0;
	}
	return -1;
}

/* An integral double within int64 range, as that integer. */
static bool
real_as_int(double d, json_int_t *out)
{
	if (d != floor(d) || d < -9223372036854775808.0 ||
	    d >= 9223372036854775808.0)
		return false;
	*out = (json_int_t)d;
	return true;
}

static uint64_t
number_hash(const json_t *v)
{
	json_int_t i;
	double d;
	uint64_t bits;

	if (json_is_integer(v))
		return mix((uint64_t)json_integer_value(v) ^ 0x1234);
	d = json_real_value(v);
	if (real_as_int(d, &i))
		return mix((uint64_t)i ^ 0x1234);
	memcpy(&bits, &d, sizeof(bits));
	return mix(bits);
}

uint64_t
sch_json_hash(const json_t *v, int depth)
{
	uint64_t h;
	const char *key;
	size_t klen, i;
	json_t *m;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return sch_hash_bytes(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
	case JSON_REAL:
		return number_hash(v);
	case JSON_TRUE:
		return 0x1111;
	case JSON_FALSE:
		return 0x2222;
	case JSON_NULL:
		return 0x3333;
	case JSON_ARRAY:
		h = 0x4444 + json_array_size(v);
		if (depth >= 32)
			return h;
		json_array_foreach(v, i, m)
			h = mix(h ^ sch_json_hash(m, depth + 1));
		return h;
	case JSON_OBJECT:
		h = 0x5555 + json_object_size(v);
		if (depth >= 32)
			return h;
		/* a sum does not depend on member order */
		json_object_keylen_foreach((json_t *)(uintptr_t)v, key, klen, m)
			h += mix(sch_hash_bytes(key, klen) ^
			    sch_json_hash(m, depth + 1));
		return h;
	}
	return 0;
}

int
sch_num_cmp(const struct sch_num *a, const struct sch_num *b)
{
	if (a->is_int && b->is_int)
		return (a->i > b->i) - (a->i < b->i);
	if (!a->is_int && !b->is_int)
		return (a->d > b->d) - (a->d < b->d);
	/* long double holds every int64 and every double exactly (x86-64's
	 * 80-bit format, or binary128), so the mixed comparison is exact */
	long double x = a->is_int ? (long double)a->i : (long double)a->d;
	long double y = b->is_int ? (long double)b->i : (long double)b->d;

	return (x > y) - (x < y);
}

static int
equal_objects(const json_t *a, const json_t *b, int depth)
{
	const char *key;
	size_t klen;
	json_t *m;

	if (json_object_size(a) != json_object_size(b))
		return 0;
	json_object_keylen_foreach((json_t *)(uintptr_t)a, key, klen, m) {
		const json_t *o = json_object_getn(b, key, klen);
		int rc;

		if (o == NULL)
			return 0;
		if ((rc = sch_json_equal(m, o, depth + 1)) != 1)
			return rc;
	}
	return 1;
}

int
sch_json_equal(const json_t *a, const json_t *b, int depth)
{
	struct sch_num x, y;
	size_t n;

	if (depth > SCH_MAX_DEPTH)
		return -1;
	if (sch_num_get(a, &x) == 0 && sch_num_get(b, &y) == 0)
		return sch_num_cmp(&x, &y) == 0;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	switch (json_typeof(a)) {
	case JSON_STRING:
		n = json_string_length(a);
		return n == json_string_length(b) &&
		    memcmp(json_string_value(a), json_string_value(b), n) == 0;
	case JSON_ARRAY:
		n = json_array_size(a);
		if (n != json_array_size(b))
			return 0;
		for (size_t i = 0; i < n; i++) {
			int rc = sch_json_equal(json_array_get(a, i),
			    json_array_get(b, i), depth + 1);

			if (rc != 1)
				return rc;
		}
		return 1;
	case JSON_OBJECT:
		return equal_objects(a, b, depth);
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
	case JSON_INTEGER:
	case JSON_REAL:
		return 1;
	}
	return 0;
}

/* The shortest decimal that reads back as the same double, as m * 10^e:
 * "multipleOf": 0.0001 then means one ten-thousandth, as the author wrote. */
int
sch_decimal_of(const struct sch_num *n, struct sch_decimal *out)
{
	char buf[40], *p;
	uint64_t m = 0;
	int prec, exp;
	double d = fabs(n->d);

	if (n->is_int) {
		out->m = n->i < 0 ? (uint64_t)0 - (uint64_t)n->i : (uint64_t)n->i;
		out->e = 0;
		return 0;
	}
	if (!isfinite(d))
		return -1;
	for (prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	for (p = buf; *p != 'e' && *p != '\0'; p++)
		if (*p >= '0' && *p <= '9')
			m = m * 10 + (uint64_t)(*p - '0');
	exp = *p == 'e' ? atoi(p + 1) : 0;
	out->e = exp - (prec > 17 ? 16 : prec - 1);
	while (m != 0 && m % 10 == 0) {
		m /= 10;
		out->e++;
	}
	out->m = m;
	return 0;
}

/* Is a = (ma * 10^ea) an integer multiple of b = (mb * 10^eb)? Exact. */
bool
sch_decimal_multiple(const struct sch_decimal *a, const struct sch_decimal *b)
{
	int e = a->e - b->e;

	if (a->m == 0)
		return true;
	if (e >= 0) {
		sch_u128 r = a->m % b->m;

		for (int k = 0; k < e && r != 0; k++)
			r = (r * 10) % b->m;
		return r == 0;
	}
	sch_u128 q = b->m;

	for (int k = 0; k < -e; k++) {
		q *= 10;
		if (q > a->m)
			return false;
	}
	return a->m % q == 0;
}
