/*
 * Differential tests: frame_parse_body (the pre-scan and the parser in
 * gateway/json_parse.c) against what it replaced, the pre-scan followed by
 * json_loadb(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES). For every input the
 * result code must be the same, and on success the trees must be the same,
 * reals bit for bit (json_equal alone would let -0.0 equal 0.0).
 *
 * Inputs: hand-written edge cases; every "schema" and "data" value of the
 * JSON-Schema-Test-Suite's draft-07 files, serialised by json_dumps with
 * several flag sets; and random mutations of those documents (fixed seed).
 * CAPGATE_JSON_SCHEMA_SUITE names the suite's root; a missing suite is a
 * visible skip, or a failure when CAPGATE_REQUIRE_ALL=1.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/frame.h"

#define DEFAULT_SUITE "/usr/share/json-schema-test-suite"

/* Limits that let every document through the pre-scan that jansson could
 * parse, so the parser itself is what gets compared. */
static const struct cg_json_limits wide = { 100000, UINT_MAX, SIZE_MAX };

/* Counts of comparisons; n_parsed_rejects are rejections the pre-scan
 * passed, which only the parser (or jansson) decided. */
static unsigned long n_accepted, n_rejected, n_parsed_rejects;

/* Strict structural equality: json_equal, plus reals compared bit for bit. */
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
		json_t *v, *w;

		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_keylen_foreach(a, k, klen, v) {
			w = json_object_getn(b, k, klen);
			if (w == NULL || !same_tree(v, w))
				return 0;
		}
		return 1;
	}
	return json_equal(a, b);
}

/* The pre-scan as it was before the parser replaced json_loadb, verbatim,
 * so that a change to frame_body_scan is compared too. */
static int
utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	int n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return -1;
	if ((size_t)n > avail)
		return -1;
	for (int i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return -1;
	return n;
}

static enum cg_body_result
old_scan_body(const char *body, size_t len, const struct cg_json_limits *lim)
{
	const unsigned char *p = (const unsigned char *)body;
	unsigned depth = 0, values = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c == '"') {
			size_t start = ++i;
			while (i < len && p[i] != '"') {
				if (p[i] == '\\') {
					i += 2;
					continue;
				}
				int n = utf8_seq_len(p + i, len - i);
				if (n < 0)
					return CG_BODY_BAD_UTF8;
				i += (size_t)n;
			}
			if (i - start > lim->max_string)
				return CG_BODY_STRING_TOO_LONG;
			if (++values > lim->max_members)
				return CG_BODY_TOO_MANY;
		} else if (c == '[' || c == '{') {
			if (++depth > lim->max_depth)
				return CG_BODY_TOO_DEEP;
			if (++values > lim->max_members)
				return CG_BODY_TOO_MANY;
		} else if (c == ']' || c == '}') {
			if (depth > 0)
				depth--;
		} else if (c == ',') {
			if (++values > lim->max_members)
				return CG_BODY_TOO_MANY;
		} else if (c >= 0x80) {
			return CG_BODY_BAD_UTF8;
		}
	}
	return CG_BODY_OK;
}


/* The old frame_parse_body, for reference. */
static enum cg_body_result
reference(const char *buf, size_t len, const struct cg_json_limits *lim,
    json_t **out)
{
	static const struct cg_json_limits defaults = {
		CG_JSON_DEFAULT_DEPTH, CG_JSON_DEFAULT_MEMBERS, CG_FRAME_MAX
	};
	enum cg_body_result r;
	json_error_t jerr;

	*out = NULL;
	if (lim == NULL)
		lim = &defaults;
	if (len == 0) {
		*out = json_null();
		return CG_BODY_OK;
	}
	r = old_scan_body(buf, len, lim);
	if (r != CG_BODY_OK)
		return r;
	*out = json_loadb(buf, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	    &jerr);
	if (*out == NULL)
		return json_error_code(&jerr) == json_error_invalid_utf8 ?
		    CG_BODY_BAD_UTF8 : CG_BODY_BAD_JSON;
	/* One deliberate difference: jansson loses a NUL its lexer pushes
	 * back after a number or a literal ("1\0" loads). A raw NUL is never
	 * JSON, and the gateway forwards the body's bytes as they came. */
	if (memchr(buf, '\0', len) != NULL) {
		json_decref(*out);
		*out = NULL;
		return CG_BODY_BAD_JSON;
	}
	return CG_BODY_OK;
}

static void
check_with(const char *buf, size_t len, const struct cg_json_limits *lim)
{
	json_t *want, *got;
	enum cg_body_result rw = reference(buf, len, lim, &want);
	enum cg_body_result rg = frame_parse_body(buf, len, lim, &got);

	if (rw != rg || (rw == CG_BODY_OK && !same_tree(want, got))) {
		fprintf(stderr, "MISMATCH (%zu bytes): jansson %s, parser %s: ",
		    len, frame_body_result_name(rw), frame_body_result_name(rg));
		for (size_t i = 0; i < len && i < 200; i++)
			fprintf(stderr, (unsigned char)buf[i] >= 0x20 &&
			    (unsigned char)buf[i] < 0x7f ? "%c" : "\\x%02x",
			    (unsigned char)buf[i]);
		fputc('\n', stderr);
		cr_assert_fail("parser and jansson disagree");
	}
	if (rw == CG_BODY_OK)
		n_accepted++;
	else
		n_rejected++;
	if (rw == CG_BODY_BAD_JSON || (rw == CG_BODY_BAD_UTF8 &&
	    frame_body_scan(buf, len, lim == NULL ? &wide : lim) == CG_BODY_OK))
		n_parsed_rejects++;
	json_decref(want);
	json_decref(got);
}

static void
check(const char *buf, size_t len)
{
	check_with(buf, len, &wide);
	check_with(buf, len, NULL);
}

static void
check_str(const char *s)
{
	check(s, strlen(s));
}

static void
expect(const char *s, enum cg_body_result want)
{
	json_t *j;

	check_str(s);
	cr_expect_eq(frame_parse_body(s, strlen(s), &wide, &j), want,
	    "%s: want %s", s, frame_body_result_name(want));
	json_decref(j);
}

/* A literal with NUL bytes in it, all of its bytes. */
#define CHECK_BYTES(lit) check(lit, sizeof(lit) - 1)

Test(json_parse, hand_written_cases)
{
	static const char *const ok[] = {
		"0", "-0", "1", "-1", "0.1", "1.0", "-0.0", "1e400x", "1E-400",
		"1e-400", "2.2250738585072011e-308", "4.9e-324", "1.7976931348623157e308",
		"9223372036854775807", "-9223372036854775808", "1E+2", "1e-2",
		"123456789012345678901234567890.5", "0e0", "0E+0", "-0e-0",
		"0.30000000000000004", "1.00000000000000011102230246251565404236316680908203125",
		"true", "false", "null", "\"\"", "[]", "{}", "[[]]", "[{}]",
		"{\"\":0}", " \t\r\n[ 1 , 2 ]\t\r\n ", "{ \"a\" : { \"b\" : [ ] } }",
		"\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"", "\"\\u0041\\u00e9\\u20AC\"",
		"\"\\ud83d\\ude00\"", "\"\\uD83D\\uDE00x\"", "\"\\uDBFF\\uDFFF\"",
		"\"\\u0001\"", "\"\\u001f\\u007f\"", "\"\x7f\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"",
		"{\"a\\u0062\":1,\"ab\\u0063\":2}", "{\"a\":1,\"b\":{\"a\":2}}",
		"[1,\"x\",true,false,null,1.5,{\"k\":[]}]",
		"{\"\\u00e9\":1,\"\xc3\xa9\\u0000\":2}",
	};
	static const char *const bad[] = {
		"01", "-01", "1.", ".1", "+1", "1e", "1e+", "1E-", "-", "--1",
		"1e400", "-1e400", "1.5e99999", "9223372036854775808",
		"-9223372036854775809", "99999999999999999999", "0x10", "1.e5",
		"Infinity", "NaN", "-Infinity", "tru", "truex", "nul", "nulll",
		"True", "[1,]", "[,1]", "[1 2]", "{\"a\":1,}", "{,}", "{\"a\"}",
		"{\"a\":}", "{\"a\" 1}", "{1:2}", "{'a':1}", "[", "]", "{", "}",
		"[1", "{\"a\":1", "\"abc", "\"\\\"", "\"\\x\"", "\"\\u12\"",
		"\"\\u12g4\"", "\"\\U0041\"", "\"\\ud800\"", "\"\\udc00\"",
		"\"\\ud800\\u0041\"", "\"\\ud800\\ud800\"", "\"\\udc00\\ud800\"",
		"\"\\ud800\\\\u0041\"", "\"\\u0000\"", "\"a\\u0000b\"",
		"{\"a\\u0000\":1}", "\"\t\"", "\"\n\"", "\"\x01\"", "\"\x1f\"",
		"{\"a\":1,\"a\":2}", "{\"a\":1,\"\\u0061\":2}", "1 2", "[] []",
		"{}x", "\"a\"\"b\"", "\xef\xbb\xbf{}", "\xef\xbb\xbf", " ", "\t\n",
		"\f1", "\v1", "/*c*/1", "[1]//", "\"\\", "\"\\u", "\"\\ud800\\",
		"\"\\ud800\\u", "\"\\ud800\\udc0", "[\"a\"\"b\"]", "[1:2]",
		"{\"a\":1 \"b\":2}", "\"\\\xc3\xa9\"", "\"\\\xc3\"", "[1,\"\\\x80\"]",
		"[1 \"\\\xc3\"]", "1\x80", "\"\\\xe2\x82\xac\"",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		check_str(ok[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_str(bad[i]);
	/* NUL bytes, which strlen cannot show */
	CHECK_BYTES("\"a\0b\"");
	CHECK_BYTES("[1,\0]");
	CHECK_BYTES("1\0");
	CHECK_BYTES("\0");
	CHECK_BYTES("{\"a\0\":1}");
	/* jansson loses one NUL pushed back after a number or literal; the
	 * gateway refuses it (the reference above says so) */
	CHECK_BYTES("1\0");
	CHECK_BYTES("1\0\0");
	CHECK_BYTES("1\0 ");
	CHECK_BYTES("1 \0");
	CHECK_BYTES("[1.5\0,true\0,null\0]");
	CHECK_BYTES("{\"a\":false\0}");
	CHECK_BYTES("\"a\"\0");
	CHECK_BYTES("[]\0");
	CHECK_BYTES("-\0");
	/* spot checks that the reference really accepts/rejects what we think */
	expect("-0", CG_BODY_OK);
	expect("1e400", CG_BODY_BAD_JSON);
	expect("1E-400", CG_BODY_OK);
	expect("9223372036854775808", CG_BODY_BAD_JSON);
	expect("\"\\ud800\"", CG_BODY_BAD_JSON);
	expect("\"\\\xc3\"", CG_BODY_BAD_UTF8);
	expect("[1,]", CG_BODY_BAD_JSON);
	{
		/* what a backend would have been sent as its "data" */
		static const char *const quirks[] = { "{\"n\":1\0}", "[1.5\0,true\0,null\0]",
		    "1\0", "{\"ok\":true\0}", "null\0" };
		static const size_t lens[] = { 7, 18, 2, 11, 5 };
		json_t *j = NULL;

		for (size_t i = 0; i < 5; i++)
			cr_expect_eq(frame_parse_body(quirks[i], lens[i], NULL, &j),
			    CG_BODY_BAD_JSON, "case %zu accepted", i);
	}
}

Test(json_parse, values_are_exact)
{
	json_t *j;

	cr_assert_eq(frame_parse_body("-9223372036854775808", 20, NULL, &j),
	    CG_BODY_OK);
	cr_assert(json_is_integer(j) && json_integer_value(j) == INT64_MIN);
	json_decref(j);
	cr_assert_eq(frame_parse_body("\"\\ud83d\\ude00\\u00e9\"", 20, NULL, &j),
	    CG_BODY_OK);
	cr_assert_eq(json_string_length(j), 6);
	cr_assert(memcmp(json_string_value(j), "\xf0\x9f\x98\x80\xc3\xa9", 6) == 0);
	json_decref(j);
	cr_assert_eq(frame_parse_body("-0.0", 4, NULL, &j), CG_BODY_OK);
	cr_assert(json_is_real(j) && json_real_value(j) == 0.0 &&
	    signbit(json_real_value(j)));
	json_decref(j);
}

/* Nesting: jansson's own cap (JSON_PARSER_MAX_DEPTH) and shapes of every
 * depth up to it, arrays and objects mixed. */
Test(json_parse, deep_nesting)
{
	size_t cap = 4 * (JSON_PARSER_MAX_DEPTH + 2) * 8;
	char *s = malloc(cap);

	for (size_t depth = 1; depth <= JSON_PARSER_MAX_DEPTH + 1; depth++) {
		size_t n = 0;

		if (depth > 300 && depth < JSON_PARSER_MAX_DEPTH - 2 && depth % 97)
			continue;
		for (size_t i = 0; i < depth; i++) {
			if (i % 3 == 2) {
				memcpy(s + n, "{\"k\":", 5);
				n += 5;
			} else {
				s[n++] = '[';
			}
		}
		s[n++] = '1';
		for (size_t i = depth; i-- > 0;)
			s[n++] = i % 3 == 2 ? '}' : ']';
		check(s, n);
		check(s, n - 1);
	}
	free(s);
}

/* --- corpus ------------------------------------------------------------ */

struct corpus {
	char **doc;
	size_t *len;
	size_t n, cap;
};

static void
corpus_add(struct corpus *c, char *doc, size_t len)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 256;
		c->doc = realloc(c->doc, c->cap * sizeof(*c->doc));
		c->len = realloc(c->len, c->cap * sizeof(*c->len));
		cr_assert(c->doc != NULL && c->len != NULL);
	}
	c->doc[c->n] = doc;
	c->len[c->n++] = len;
}

static void
corpus_add_value(struct corpus *c, json_t *v)
{
	static const size_t flags[] = {
		0, JSON_COMPACT, JSON_INDENT(2), JSON_ENSURE_ASCII,
		JSON_ENSURE_ASCII | JSON_COMPACT, JSON_SORT_KEYS | JSON_INDENT(1),
		JSON_ESCAPE_SLASH | JSON_COMPACT, JSON_REAL_PRECISION(4),
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		char *s = json_dumps(v, flags[i] | JSON_ENCODE_ANY);
		cr_assert_not_null(s);
		corpus_add(c, s, strlen(s));
	}
}

static void
corpus_add_file(struct corpus *c, const char *path)
{
	json_error_t err;
	json_t *root = json_load_file(path, 0, &err), *group, *t;
	size_t i, k;

	/* optional/bignum.json overflows json_int_t: its raw bytes are in the
	 * corpus already; take its values as reals */
	if (root == NULL)
		root = json_load_file(path, JSON_DECODE_INT_AS_REAL, &err);
	cr_assert_not_null(root, "%s: %s", path, err.text);
	json_array_foreach(root, i, group) {
		corpus_add_value(c, json_object_get(group, "schema"));
		json_array_foreach(json_object_get(group, "tests"), k, t)
			corpus_add_value(c, json_object_get(t, "data"));
	}
	json_decref(root);
}

static void
corpus_add_dir(struct corpus *c, const char *dir, size_t *files)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	struct stat st;

	cr_assert_not_null(d, "%s", dir);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		cr_assert_eq(stat(path, &st), 0, "%s", path);
		if (S_ISDIR(st.st_mode)) {
			corpus_add_dir(c, path, files);
		} else if (strlen(e->d_name) > 5 &&
		    strcmp(e->d_name + strlen(e->d_name) - 5, ".json") == 0) {
			size_t len;
			char *raw = NULL;
			FILE *f = fopen(path, "rb");

			cr_assert_not_null(f, "%s", path);
			cr_assert_eq(fseek(f, 0, SEEK_END), 0);
			len = (size_t)ftell(f);
			rewind(f);
			raw = malloc(len + 1);
			cr_assert(raw != NULL && fread(raw, 1, len, f) == len);
			fclose(f);
			corpus_add(c, raw, len);
			corpus_add_file(c, path);
			(*files)++;
		}
	}
	closedir(d);
}

static void
load_suite(struct corpus *c)
{
	const char *root = getenv("CAPGATE_JSON_SCHEMA_SUITE");
	const char *req = getenv("CAPGATE_REQUIRE_ALL");
	char dir[4096];
	struct stat st;
	size_t files = 0;

	snprintf(dir, sizeof(dir), "%s/tests/draft7",
	    root != NULL && root[0] != '\0' ? root : DEFAULT_SUITE);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		if (req != NULL && strcmp(req, "1") == 0)
			cr_assert_fail("JSON-Schema-Test-Suite not found at %s", dir);
		printf("SKIP: JSON-Schema-Test-Suite not found at %s\n", dir);
		cr_skip_test("JSON-Schema-Test-Suite not found at %s", dir);
	}
	corpus_add_dir(c, dir, &files);
	cr_assert_gt(files, 40, "only %zu suite files", files);
	printf("corpus: %zu files, %zu documents\n", files, c->n);
}

static void
corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->doc[i]);
	free(c->doc);
	free(c->len);
}

Test(json_parse, schema_test_suite)
{
	struct corpus c = { 0 };

	load_suite(&c);
	n_accepted = n_rejected = 0;
	for (size_t i = 0; i < c.n; i++)
		check(c.doc[i], c.len[i]);
	printf("suite: %lu accepted, %lu rejected, all identical\n",
	    n_accepted, n_rejected);
	cr_assert_gt(n_accepted, 10000);
	corpus_free(&c);
}

static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Bytes that make mutations land on the parser's decisions. */
static const char interesting[] = "\"\\{}[],:0123456789-+.eEuU/bfnrtx "
    "\t\n\r\x00\x01\x1f\x7f\x80\xbf\xc3\xed\xf0\xff";

static size_t
mutate(uint64_t *seed, char *buf, size_t len, size_t cap)
{
	int rounds = 1 + (int)(rnd(seed) % 4);

	for (int r = 0; r < rounds; r++) {
		uint64_t x = rnd(seed);
		size_t at = len ? (size_t)(x >> 8) % len : 0;
		char b = (x & 1) ? interesting[(x >> 40) % (sizeof(interesting) - 1)] :
		    (char)(x >> 32);

		switch (x % 5) {
		case 0:
		case 1:
			if (len)
				buf[at] = b;
			break;
		case 2:
			if (len < cap) {
				memmove(buf + at + 1, buf + at, len - at);
				buf[at] = b;
				len++;
			}
			break;
		case 3:
			if (len) {
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
			}
			break;
		default:
			len = at;
			break;
		}
	}
	return len;
}

Test(json_parse, random_mutations, .timeout = 600)
{
	struct corpus c = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15u;
	const char *env = getenv("CAPGATE_MUTATIONS");
	unsigned long iters = env ? strtoul(env, NULL, 10) : 1000000;
	size_t cap = 0;
	char *buf;

	load_suite(&c);
	for (size_t i = 0; i < c.n; i++)
		cap = c.len[i] > cap ? c.len[i] : cap;
	cap += 16;
	buf = malloc(cap);
	cr_assert_not_null(buf);
	n_accepted = n_rejected = n_parsed_rejects = 0;
	for (unsigned long i = 0; i < iters; i++) {
		size_t k = (size_t)(rnd(&seed) % c.n), len;

		if (c.len[k] + 16 > cap)
			continue;
		memcpy(buf, c.doc[k], c.len[k]);
		len = mutate(&seed, buf, c.len[k], cap);
		check(buf, len);
	}
	printf("mutations: %lu inputs, %lu comparisons (wide and default "
	    "limits): %lu accepted, %lu rejected (%lu past the pre-scan), all "
	    "identical\n", iters, n_accepted + n_rejected, n_accepted,
	    n_rejected, n_parsed_rejects);
	cr_assert_gt(n_parsed_rejects, iters / 10);
	cr_assert_gt(n_accepted, iters / 10);
	free(buf);
	corpus_free(&c);
}

/* Strings are skimmed eight bytes at a time: put each byte that must stop
 * the skim at every offset of strings of every length around a word, and
 * the string-length limit on both sides of each length. */
Test(json_parse, special_byte_at_every_offset)
{
	static const char *const special[] = {
		"\"", "\\", "\\n", "\\u00e9", "\x1f", "\x00", "\x7f", " ",
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x80", "\xff",
		"\xc3", "\\\xc3", "\x20\x21\x22",
	};
	char buf[128];
	unsigned long before = n_accepted + n_rejected;

	for (size_t len = 0; len < 40; len++)
		for (size_t at = 0; at <= len; at++)
			for (size_t k = 0; k < sizeof(special) / sizeof(special[0]); k++) {
				size_t sl = k == 5 ? 1 : strlen(special[k]), n = 0;

				buf[n++] = '"';
				for (size_t i = 0; i < at; i++)
					buf[n++] = (char)('a' + i % 26);
				memcpy(buf + n, special[k], sl);
				n += sl;
				for (size_t i = at; i < len; i++)
					buf[n++] = (char)('A' + i % 26);
				buf[n++] = '"';
				check(buf, n);
				check(buf, n - 1);
				for (size_t m = len; m <= len + 4; m++) {
					struct cg_json_limits l = { 4, 4, m };
					check_with(buf, n, &l);
				}
			}
	printf("offsets: %lu comparisons, all identical\n",
	    n_accepted + n_rejected - before);
}
