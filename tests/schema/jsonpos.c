/*
 * jsonpos: every value's line:column by JSON pointer, nearest-ancestor
 * fallback, escapes in keys, and speed on a policy-sized document.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "policy/jsonpos.h"

static void
expect_pos(const struct cg_jsonpos *jp, const char *ptr, int rc, int line,
    int col)
{
	int l = -1, c = -1;

	cr_expect_eq(jsonpos_lookup(jp, ptr, &l, &c), rc, "lookup rc of \"%s\"", ptr);
	cr_expect(l == line && c == col, "\"%s\" at %d:%d, want %d:%d", ptr, l, c,
	    line, col);
}

Test(jsonpos, positions)
{
	static const char text[] =
		"{\n"
		"  \"a\": 1,\n"
		"  \"b\": [true, {\"c\": null}, \"x\"],\n"
		"  \"d/e\": {\"f~g\": \"h\", \"\\u00e9\": 2, \"\\\"q\": 3},\n"
		"  \"\xC3\xA9t\xC3\xA9\": \"\xF0\x9F\x98\x80\", \"z\": 0,\n"
		"  \"\": {\"\": 4}\n"
		"}\n";
	struct cg_jsonpos *jp = jsonpos_index(text, strlen(text));

	cr_assert_not_null(jp);
	expect_pos(jp, "", 0, 1, 1);
	expect_pos(jp, "/a", 0, 2, 8);
	expect_pos(jp, "/b", 0, 3, 8);
	expect_pos(jp, "/b/0", 0, 3, 9);
	expect_pos(jp, "/b/1", 0, 3, 15);
	expect_pos(jp, "/b/1/c", 0, 3, 21);
	expect_pos(jp, "/b/2", 0, 3, 28);
	expect_pos(jp, "/d~1e/f~0g", 0, 4, 18);
	expect_pos(jp, "/d~1e/\xC3\xA9", 0, 4, 33);
	expect_pos(jp, "/d~1e/\"q", 0, 4, 43);
	/* columns count code points, as jansson's do */
	expect_pos(jp, "/\xC3\xA9t\xC3\xA9", 0, 5, 10);
	expect_pos(jp, "/z", 0, 5, 20);
	expect_pos(jp, "/", 0, 6, 7);
	expect_pos(jp, "//", 0, 6, 12);
	/* fallbacks: nearest ancestor, root for non-pointers */
	expect_pos(jp, "/b/7", 1, 3, 8);
	expect_pos(jp, "/b/01", 1, 3, 8);
	expect_pos(jp, "/b/1/c/d", 1, 3, 21);
	expect_pos(jp, "/nope/deeper", 1, 1, 1);
	expect_pos(jp, "http://x/y#/a", 1, 1, 1);
	jsonpos_free(jp);
	jsonpos_free(NULL);
}

Test(jsonpos, duplicates_scalars_and_garbage)
{
	struct cg_jsonpos *jp = jsonpos_index("{\"a\": 1, \"a\": 2}", 16);
	int l, c;

	cr_assert_not_null(jp);
	expect_pos(jp, "/a", 0, 1, 15);   /* the last one, as jansson keeps */
	jsonpos_free(jp);
	jp = jsonpos_index("  \"str\"", 7);
	cr_assert_not_null(jp);
	expect_pos(jp, "", 0, 1, 3);
	expect_pos(jp, "/x", 1, 1, 3);
	jsonpos_free(jp);
	cr_expect_null(jsonpos_index("{\"a\" 1}", 7));
	cr_expect_null(jsonpos_index("[1, 2", 5));
	cr_expect_null(jsonpos_index("{\"\\u12\": 1}", 11));
	cr_expect_null(jsonpos_index("", 0));
	cr_expect_eq(jsonpos_lookup(NULL, "", &l, &c), -1);
}

Test(jsonpos, deep_nesting_uses_no_c_stack)
{
	size_t depth = 200000, len = depth * 2;
	char *text = malloc(len + 1);
	struct cg_jsonpos *jp;
	int l, c;

	memset(text, '[', depth);
	memset(text + depth, ']', depth);
	text[len] = '\0';
	jp = jsonpos_index(text, len);
	cr_assert_not_null(jp);
	cr_expect_eq(jsonpos_lookup(jp, "/0/0/0", &l, &c), 0);
	cr_expect_eq(c, 4);
	jsonpos_free(jp);
	free(text);
}

/* A policy with 10,000 channels, each with a request schema: the index is
 * built at load time, so it must take milliseconds. */
Test(jsonpos, ten_thousand_channels)
{
	json_t *policy = json_object(), *channels = json_object();
	struct timespec t0, t1;
	struct cg_jsonpos *jp;
	char name[64], *text;
	double ms;
	int l, c;

	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "app:channel-%d", i);
		json_object_set_new(channels, name, json_pack(
		    "{s:s, s:s, s:s, s:{s:s, s:{s:{s:s, s:i}, s:{s:s}}, s:b, s:[s]}}",
		    "kind", "invoke", "to", "builtin:echo", "rate", "20/s",
		    "request", "type", "object", "properties", "name", "type",
		    "string", "maxLength", 64, "mode", "type", "integer",
		    "additionalProperties", 0, "required", "name"));
	}
	json_object_set_new(policy, "capgate", json_integer(1));
	json_object_set_new(policy, "channels", channels);
	text = json_dumps(policy, JSON_INDENT(2));
	cr_assert_not_null(text);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	jp = jsonpos_index(text, strlen(text));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_not_null(jp);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("jsonpos: indexed %zu bytes (10,000 channels) in %.2f ms\n",
	    strlen(text), ms);
	/* speed is bench material (docs/SCHEMA.md); the test checks content */
	cr_expect_eq(jsonpos_lookup(jp,
	    "/channels/app:channel-9999/request/properties/name/maxLength", &l,
	    &c), 0);
	cr_expect(l > 1 && c > 1);
	jsonpos_free(jp);
	free(text);
	json_decref(policy);
}
