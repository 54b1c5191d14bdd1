/*
 * libFuzzer harness, differential: frame_parse_body against its pre-scan
 * followed by json_loadb (what frame_parse_body was before its own parser),
 * under default and wide limits. Any difference in the result code or, on
 * success, in the tree (reals bit for bit) aborts. One deliberate
 * difference: a raw NUL that jansson skips is refused.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I. \
 *       fuzz/fuzz_json_parse.c gateway/json_parse.c -ljansson -o fuzz-json
 *   ./fuzz-json -max_len=4096 corpus/
 */
#include <jansson.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
same_tree(json_t *a, json_t *b)
{
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_real(a)) {
		double x = json_real_value(a), y = json_real_value(b);
		return memcmp(&x, &y, sizeof(x)) == 0;
	}
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		for (size_t i = 0; i < json_array_size(a); i++)
			if (!same_tree(json_array_get(a, i), json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		const char *k;
		size_t klen;
		json_t *v;

		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_keylen_foreach(a, k, klen, v) {
			json_t *w = json_object_getn(b, k, klen);
			if (w == NULL || !same_tree(v, w))
				return 0;
		}
		return 1;
	}
	return json_equal(a, b);
}

static void
compare(const char *buf, size_t len, const struct cg_json_limits *lim)
{
	enum cg_body_result want, got;
	json_t *jw = NULL, *jg;
	json_error_t err;

	want = len == 0 ? CG_BODY_OK : frame_body_scan(buf, len, lim);
	if (len == 0)
		jw = json_null();
	else if (want == CG_BODY_OK) {
		jw = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
		    &err);
		if (jw == NULL)
			want = json_error_code(&err) == json_error_invalid_utf8 ?
			    CG_BODY_BAD_UTF8 : CG_BODY_BAD_JSON;
	}
	/* jansson's lexer loses a NUL it pushes back after a number or a
	 * literal ("1\0", "[true\0]" load); a raw NUL is never JSON, and the
	 * gateway forwards the body's bytes, so it must refuse them. */
	if (want == CG_BODY_OK && memchr(buf, '\0', len) != NULL) {
		json_decref(jw);
		jw = NULL;
		want = CG_BODY_BAD_JSON;
	}
	got = frame_parse_body(buf, len, lim, &jg);
	if (got != want || (want == CG_BODY_OK && !same_tree(jw, jg)))
		abort();
	json_decref(jw);
	json_decref(jg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cg_json_limits defaults = {
		CG_JSON_DEFAULT_DEPTH, CG_JSON_DEFAULT_MEMBERS, CG_FRAME_MAX
	};
	static const struct cg_json_limits wide = { 100000, UINT_MAX, SIZE_MAX };

	compare((const char *)data, size, &defaults);
	compare((const char *)data, size, &wide);
	return 0;
}
