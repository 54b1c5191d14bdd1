/*
 * Fuzzes the message-body parser, frame_parse_body(), with limits taken
 * from the first bytes of the input.
 *
 * Input: depth (1 byte), members (2 bytes), max string (2 bytes), body.
 *
 * Beyond the sanitizers, a body that passes must keep the promises the
 * raw-byte scan makes to everything after it: the parsed value nests no
 * deeper than the depth limit, holds no string (key or value) longer than
 * the string limit, and has no more than twice the member limit values
 * (the scan counts separators, so it is an upper bound within a factor
 * of two, not an exact count).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct walk {
	unsigned max_depth;
	size_t max_string;
	size_t values;
};

static void
walk(const json_t *v, unsigned depth, struct walk *w)
{
	const char *key;
	json_t *m;
	size_t i;

	w->values++;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		if (depth + 1 > w->max_depth)
			abort();
		json_object_foreach((json_t *)(uintptr_t)v, key, m) {
			if (strlen(key) > w->max_string)
				abort();
			walk(m, depth + 1, w);
		}
		break;
	case JSON_ARRAY:
		if (depth + 1 > w->max_depth)
			abort();
		json_array_foreach(v, i, m)
			walk(m, depth + 1, w);
		break;
	case JSON_STRING:
		if (json_string_length(v) > w->max_string)
			abort();
		break;
	case JSON_INTEGER:
	case JSON_REAL:
	case JSON_TRUE:
	case JSON_FALSE:
	case JSON_NULL:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_json_limits lim;
	struct walk w = { 0 };
	json_t *v = NULL;
	enum cg_body_result r;

	if (size < 5 || size - 5 > CG_FRAME_MAX)
		return 0;
	lim.max_depth = (unsigned)(data[0] % 40) + 1;
	lim.max_members = (unsigned)(data[1] | data[2] << 8) % 5000 + 1;
	lim.max_string = (size_t)(data[3] | data[4] << 8) % 2000;
	r = frame_parse_body((const char *)data + 5, size - 5, &lim, &v);
	if (r != CG_BODY_OK) {
		if (v != NULL)
			abort();
		return 0;
	}
	if (v == NULL)
		abort();
	w.max_depth = lim.max_depth;
	w.max_string = lim.max_string;
	walk(v, 0, &w);
	if (w.values > 2 * (size_t)lim.max_members + 1)
		abort();
	json_decref(v);
	return 0;
}
