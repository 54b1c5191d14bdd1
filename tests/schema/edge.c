/*
 * Edge cases per keyword, and the attacks a hostile instance or a careless
 * schema can mount: numbers past double precision, astral characters,
 * huge enums, deep instances, pathological regexes, $ref cycles, remote
 * references that are not in the local map.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy/schema.h"

static json_t *
parse(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);

	cr_assert_not_null(j, "bad test JSON %s: %s", text, jerr.text);
	return j;
}

static struct cg_schema *
compile_with(const char *text, const struct cg_schema_options *opts)
{
	struct cg_error err;
	json_t *doc = parse(text);
	struct cg_schema *s;

	cg_error_clear(&err);
	s = schema_compile(doc, opts, &err);
	cr_assert_not_null(s, "schema %s does not compile: %s: %s", text,
	    err.pointer, err.msg);
	json_decref(doc);
	return s;
}

static struct cg_schema *
compile(const char *text)
{
	struct cg_schema_options opts = { .assert_format = true };

	return compile_with(text, &opts);
}

/* Validates with and without an error struct; both must agree. */
static int
check(const struct cg_schema *s, const json_t *inst, struct cg_error *err)
{
	int quick = schema_validate(s, inst, NULL);
	int full;

	cg_error_clear(err);
	full = schema_validate(s, inst, err);
	cr_assert_eq(quick, full, "err=NULL and err!=NULL disagree");
	return full;
}

static void
expect(const char *schema, const char *instance, bool valid)
{
	struct cg_schema *s = compile(schema);
	json_t *inst = parse(instance);
	struct cg_error err;
	int rc = check(s, inst, &err);

	cr_expect_eq(rc == 0, valid, "%s against %s: expected %s (%s: %s)",
	    instance, schema, valid ? "valid" : "invalid", err.pointer, err.msg);
	json_decref(inst);
	schema_free(s);
}

static void
expect_error(const char *schema, const char *instance, const char *pointer,
    const char *keyword)
{
	struct cg_schema *s = compile(schema);
	json_t *inst = parse(instance);
	struct cg_error err;

	cr_assert_eq(check(s, inst, &err), -1, "%s should be invalid", instance);
	cr_expect_str_eq(err.pointer, pointer, "pointer for %s", instance);
	cr_expect_str_eq(err.keyword, keyword, "keyword for %s", instance);
	cr_expect(err.msg[0] != '\0');
	json_decref(inst);
	schema_free(s);
}

static void
expect_compile_error(const char *schema, const struct cg_schema_options *opts,
    const char *pointer, const char *msg_part)
{
	struct cg_schema_options def = { .assert_format = true };
	json_t *doc = parse(schema);
	struct cg_error err;
	struct cg_schema *s;

	cg_error_clear(&err);
	s = schema_compile(doc, opts ? opts : &def, &err);
	cr_expect_null(s, "%s should not compile", schema);
	schema_free(s);
	cr_expect_str_eq(err.pointer, pointer, "compile error pointer for %s "
	    "(msg: %s)", schema, err.msg);
	if (msg_part != NULL)
		cr_expect(strstr(err.msg, msg_part) != NULL,
		    "message \"%s\" should mention \"%s\"", err.msg, msg_part);
	json_decref(doc);
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* --- numbers ------------------------------------------------------------- */

Test(schema_numbers, integers_beyond_2_53)
{
	/* 2^53 + 1 is not representable as a double: exact comparison only */
	expect("{\"maximum\": 9007199254740992}", "9007199254740993", false);
	expect("{\"maximum\": 9007199254740993}", "9007199254740993", true);
	expect("{\"exclusiveMaximum\": 9007199254740993}", "9007199254740992", true);
	expect("{\"minimum\": 9007199254740993}", "9007199254740992", false);
	expect("{\"const\": 9007199254740993}", "9007199254740992", false);
	expect("{\"enum\": [9007199254740993]}", "9007199254740993", true);
	expect("{\"enum\": [9007199254740993]}", "9007199254740992", false);
	expect("{\"multipleOf\": 2}", "9007199254740993", false);
	expect("{\"multipleOf\": 2}", "9223372036854775806", true);
	expect("{\"multipleOf\": 3}", "-9223372036854775808", false);
	/* int vs double near 2^63 */
	expect("{\"maximum\": 9.3e18}", "9223372036854775807", true);
	expect("{\"minimum\": 9223372036854775807}", "9.3e18", true);
	expect("{\"maximum\": 9007199254740992.0}", "9007199254740993", false);
	expect("{\"type\": \"integer\"}", "9223372036854775807", true);
	expect("{\"uniqueItems\": true}",
	    "[9007199254740993, 9007199254740992]", true);
}

Test(schema_numbers, one_point_zero_is_integer)
{
	expect("{\"type\": \"integer\"}", "1.0", true);
	expect("{\"type\": \"integer\"}", "1.5", false);
	expect("{\"type\": \"integer\"}", "1e300", true);
	expect("{\"const\": 1}", "1.0", true);
	expect("{\"const\": 1.0}", "1", true);
	expect("{\"const\": 0}", "-0.0", true);
	expect("{\"enum\": [1, \"a\"]}", "1.0", true);
	expect("{\"enum\": [{\"a\": [1.0]}]}", "{\"a\": [1]}", true);
	expect("{\"uniqueItems\": true}", "[1, 1.0]", false);
	expect("{\"uniqueItems\": true}", "[{\"a\": 1, \"b\": 2}, {\"b\": 2, \"a\": 1.0}]",
	    false);
	expect("{\"uniqueItems\": true}", "[1, true]", true);
	expect("{\"uniqueItems\": true}", "[0, false, null, \"0\", [], {}]", true);
	expect("{\"minItems\": 1.0}", "[1]", true);
}

Test(schema_numbers, multiple_of_decimals)
{
	expect("{\"multipleOf\": 0.0001}", "0.0075", true);
	expect("{\"multipleOf\": 0.0001}", "0.00751", false);
	expect("{\"multipleOf\": 0.1}", "0.3", true);   /* 0.3/0.1 = 2.9999... */
	expect("{\"multipleOf\": 0.01}", "19.99", true);
	expect("{\"multipleOf\": 0.01}", "19.999", false);
	expect("{\"multipleOf\": 2.5}", "10", true);
	expect("{\"multipleOf\": 2.5}", "7", false);
	expect("{\"multipleOf\": 1.5}", "4.5", true);
	expect("{\"multipleOf\": 3}", "9.0", true);
	expect("{\"multipleOf\": 3}", "9.5", false);
	expect("{\"multipleOf\": 1e-300}", "1e-200", true);
	/* would overflow a naive float division */
	expect("{\"multipleOf\": 0.123456789}", "1e308", false);
	expect("{\"multipleOf\": 1e-5}", "1e308", true);
	expect("{\"type\": \"integer\", \"multipleOf\": 0.5}", "3", true);
	expect_compile_error("{\"multipleOf\": 0}", NULL, "/multipleOf", NULL);
	expect_compile_error("{\"multipleOf\": -0.5}", NULL, "/multipleOf", NULL);
}

/* --- strings ------------------------------------------------------------- */

Test(schema_strings, lengths_count_code_points)
{
	/* U+1F600 is four bytes in UTF-8, two UTF-16 units, one code point */
	expect("{\"maxLength\": 1}", "\"\xF0\x9F\x98\x80\"", true);
	expect("{\"minLength\": 2}", "\"\xF0\x9F\x98\x80\"", false);
	expect("{\"minLength\": 1}", "\"\xF0\x9F\x98\x80\"", true);
	expect("{\"maxLength\": 2}", "\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"",
	    false);
	expect("{\"maxLength\": 3}", "\"\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\"",
	    true);
	expect("{\"maxLength\": 1}", "\"\\ud83d\\ude00\"", true);
	expect("{\"maxLength\": 2}", "\"\xC3\xA9t\xC3\xA9\"", false);
	expect("{\"maxLength\": 3, \"minLength\": 3}", "\"\xC3\xA9t\xC3\xA9\"", true);
	expect("{\"minLength\": 1}", "\"\"", false);
	expect("{\"maxLength\": 0}", "\"\"", true);
	/* NUL inside a string counts as one character */
	expect("{\"maxLength\": 3, \"minLength\": 3}", "\"a\\u0000b\"", true);
}

Test(schema_strings, pattern_is_ecma_like)
{
	expect("{\"pattern\": \"b\"}", "\"abc\"", true);             /* unanchored */
	expect("{\"pattern\": \"^b\"}", "\"abc\"", false);
	expect("{\"pattern\": \"^a$\"}", "\"a\\n\"", false);        /* $ is the end */
	expect("{\"pattern\": \"^\\\\d+$\"}", "\"123\"", true);
	expect("{\"pattern\": \"^\\\\d+$\"}", "\"\xD9\xA3\"", false); /* Arabic-Indic 3 */
	expect("{\"pattern\": \"^\\\\w$\"}", "\"\xC3\xA9\"", false);
	expect("{\"pattern\": \"^\\\\s$\"}", "\"\\u00a0\"", true);
	expect("{\"pattern\": \"^\\\\S$\"}", "\"\\u3000\"", false);
	expect("{\"pattern\": \"^.$\"}", "\"\xF0\x9F\x98\x80\"", true); /* UTF mode */
	expect("{\"pattern\": \"^\\\\u00e9$\"}", "\"\xC3\xA9\"", true);
	expect("{\"pattern\": \"^[^]$\"}", "\"x\"", true);
	expect_compile_error("{\"pattern\": \"^(abc\"}", NULL, "/pattern", NULL);
	expect_compile_error("{\"pattern\": \"a\\\\Z\"}", NULL, "/pattern", "ECMA");
	expect_compile_error("{\"pattern\": 5}", NULL, "/pattern", NULL);
	/* "." stops at every ECMA line terminator, not only at "\n": a
	 * "single line" pattern must not let a CR or U+2028 through */
	expect("{\"pattern\": \"^.{1,64}$\"}", "\"a\\rb\"", false);
	expect("{\"pattern\": \"^.{1,64}$\"}", "\"a\\u2028b\"", false);
	expect("{\"pattern\": \"^.{1,64}$\"}", "\"a\\u2029b\"", false);
	expect("{\"pattern\": \"^.{1,64}$\"}", "\"a\\u0085b\\u000bc\"", true);
	expect("{\"pattern\": \"^a\\\\.b$\"}", "\"axb\"", false);
	expect("{\"pattern\": \"^[.]$\"}", "\"x\"", false);
	/* \v is U+000B alone */
	expect("{\"pattern\": \"^\\\\v$\"}", "\"\\u000b\"", true);
	expect("{\"pattern\": \"^\\\\v$\"}", "\"\\n\"", false);
	expect("{\"pattern\": \"^\\\\v$\"}", "\"\\u2028\"", false);
	/* "[" in a class is a literal, not a POSIX class */
	expect("{\"pattern\": \"^[[:alpha:]]$\"}", "\"a\"", false);
	expect("{\"pattern\": \"^[[:alpha:]]$\"}", "\"a]\"", true);
	/* ECMA's \S is Unicode-aware; inside a class it cannot be said */
	expect_compile_error("{\"pattern\": \"^[\\\\S]$\"}", NULL, "/pattern", "(?:[...]|");
}

Test(schema_strings, pathological_regex_returns_promptly)
{
	static const char *const patterns[] = {
		"^(a+)+$", "^(a|a)*$", "^(a|aa)+$", "(x+x+)+y", "^((a*)*)*b$",
	};
	char text[200];
	struct timespec t0;

	memset(text, 'a', sizeof(text) - 2);
	text[sizeof(text) - 2] = '!';
	text[sizeof(text) - 1] = '\0';
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		json_t *schema = json_pack("{s:s}", "pattern", patterns[i]);
		json_t *inst = json_string(text);
		struct cg_error err;
		struct cg_schema *s = schema_compile(schema, NULL, &err);
		int rc;

		cr_assert_not_null(s);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = check(s, inst, &err);
		cr_expect_eq(rc, -1, "%s must not match", patterns[i]);
		cr_expect(seconds_since(&t0) < 0.5, "%s took %.3f s", patterns[i],
		    seconds_since(&t0));
		/* a match that ran out of budget fails closed, even under "not" */
		schema_free(s);
		json_decref(schema);
		schema = json_pack("{s:{s:s}}", "not", "pattern", patterns[i]);
		s = schema_compile(schema, NULL, &err);
		cr_assert_not_null(s);
		rc = check(s, inst, &err);
		if (rc == -1)
			cr_expect(strstr(err.msg, "resource limit") != NULL,
			    "%s under not: %s", patterns[i], err.msg);
		schema_free(s);
		json_decref(schema);
		json_decref(inst);
	}
}

/*
 * A recursive schema under oneOf evaluates every branch at every level:
 * 2^depth subschema evaluations for an instance whose members put the
 * recursion before the discriminating "op". Validation stops at
 * SCH_MAX_STEPS and fails closed, under "not" too.
 */
Test(schema_refs, exponential_recursion_fails_closed)
{
	static const char schema[] =
	    "{\"definitions\":{\"e\":{\"oneOf\":[{\"type\":\"number\"},"
	    "{\"type\":\"object\",\"required\":[\"op\",\"arg\"],"
	    "\"properties\":{\"op\":{\"const\":\"neg\"},\"arg\":{\"$ref\":\"#/definitions/e\"}}},"
	    "{\"type\":\"object\",\"required\":[\"op\",\"arg\"],"
	    "\"properties\":{\"op\":{\"const\":\"abs\"},\"arg\":{\"$ref\":\"#/definitions/e\"}}}]}},"
	    "\"$ref\":\"#/definitions/e\"}";
	char text[2048] = "1";
	struct cg_schema *s = compile(schema), *n;
	struct cg_error err;
	json_t *inst, *not_doc;

	for (int i = 0; i < 26; i++) {
		char next[2048];

		snprintf(next, sizeof(next), "{\"arg\":%s,\"op\":\"neg\"}", text);
		memcpy(text, next, sizeof(text));
	}
	inst = parse(text);
	cr_expect_eq(check(s, inst, &err), -1);
	/* the evaluation count stops it first in an optimised build; under
	 * the sanitizers the clock may */
	cr_expect(strstr(err.msg, "subschema evaluations") != NULL ||
	    strstr(err.msg, "budget") != NULL, "%s", err.msg);
	not_doc = parse(schema);
	json_object_set_new(not_doc, "not", json_pack("{s:s}", "$ref", "#/definitions/e"));
	json_object_del(not_doc, "$ref");
	n = schema_compile(not_doc, NULL, &err);
	cr_assert_not_null(n);
	cr_expect_eq(check(n, inst, &err), -1, "fails closed under not");
	schema_free(n);
	json_decref(not_doc);
	json_decref(inst);
	schema_free(s);
	/* a shallow tree is still judged on its merits */
	expect(schema, "{\"arg\":{\"arg\":2,\"op\":\"abs\"},\"op\":\"neg\"}", true);
	expect(schema, "{\"arg\":{\"arg\":2,\"op\":\"sqrt\"},\"op\":\"neg\"}", false);
}

/* Each match is bounded by PCRE2's limits; a message with thousands of
 * keys, each just under them, is bounded by the validation's time budget
 * (SCH_MAX_NS) and fails closed. */
Test(schema_strings, many_costly_matches_fail_closed)
{
	json_t *schema = parse("{\"patternProperties\":{\"^([a-z]+)+$\":{\"type\":\"string\"}},"
	    "\"additionalProperties\":{\"type\":\"integer\"}}");
	json_t *inst = json_object();
	struct cg_schema *s;
	struct cg_error err;
	char key[64];

	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "aaaaaaaaaaaaaaaaaa-%d", i);
		json_object_set_new(inst, key, json_integer(0));
	}
	s = schema_compile(schema, NULL, &err);
	cr_assert_not_null(s);
	cr_expect_eq(check(s, inst, &err), -1);
	cr_expect(strstr(err.msg, "budget") != NULL,
	    "%s", err.msg);
	schema_free(s);
	json_decref(schema);
	json_decref(inst);
}

/* Repeated groups over long strings outgrow PCRE2's JIT stack; they must
 * still match (through the bounded interpreter), not fail as a limit. */
Test(schema_strings, long_strings_with_repeated_groups)
{
	static const char *const patterns[] = {
		"^[a-z]+(-[a-z]+)*$", "^(a|-)*$", "^(?:[a-z]|-)+$",
	};
	size_t len = 20000;
	char *text = malloc(len + 1);

	for (size_t i = 0; i < len; i++)
		text[i] = i % 6 == 5 ? '-' : 'a';
	text[len] = '\0';
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		json_t *schema = json_pack("{s:s}", "pattern", patterns[i]);
		json_t *inst = json_string(text);
		struct cg_error err;
		struct cg_schema *s = schema_compile(schema, NULL, &err);

		cr_assert_not_null(s);
		cr_expect_eq(check(s, inst, &err), 0, "%s: %s", patterns[i], err.msg);
		schema_free(s);
		json_decref(schema);
		json_decref(inst);
	}
	free(text);
}

Test(schema_strings, formats)
{
	expect("{\"format\": \"date-time\"}", "\"2026-11-21T20:55:31Z\"", true);
	expect("{\"format\": \"date-time\"}", "\"2026-02-29T20:55:31Z\"", false);
	expect("{\"format\": \"date-time\"}", "\"2024-02-29T20:55:31.5+01:00\"", true);
	expect("{\"format\": \"date\"}", "\"2026-13-01\"", false);
	expect("{\"format\": \"time\"}", "\"23:59:60Z\"", true);
	expect("{\"format\": \"time\"}", "\"12:59:60Z\"", false);
	expect("{\"format\": \"email\"}", "\"a.b@example.org\"", true);
	expect("{\"format\": \"email\"}", "\"a..b@example.org\"", false);
	expect("{\"format\": \"hostname\"}", "\"-bad.example\"", false);
	expect("{\"format\": \"ipv4\"}", "\"192.168.0.1\"", true);
	expect("{\"format\": \"ipv4\"}", "\"192.168.00.1\"", false);
	expect("{\"format\": \"ipv4\"}", "\"256.1.1.1\"", false);
	expect("{\"format\": \"ipv6\"}", "\"::ffff:1.2.3.4\"", true);
	expect("{\"format\": \"ipv6\"}", "\"1::2::3\"", false);
	expect("{\"format\": \"uri\"}", "\"https://example.org/a?b#c\"", true);
	expect("{\"format\": \"uri\"}", "\"/relative\"", false);
	expect("{\"format\": \"uri-reference\"}", "\"/relative#x\"", true);
	expect("{\"format\": \"uri-reference\"}", "\"a b\"", false);
	expect("{\"format\": \"uuid\"}", "\"123e4567-e89b-12d3-a456-426614174000\"", true);
	expect("{\"format\": \"uuid\"}", "\"123e4567e89b12d3a456426614174000\"", false);
	expect("{\"format\": \"regex\"}", "\"^[a-z]+$\"", true);
	expect("{\"format\": \"regex\"}", "\"(\"", false);
	expect("{\"format\": \"no-such-format\"}", "\"anything\"", true);
	expect("{\"format\": \"ipv4\"}", "12", true);  /* applies to strings only */
	expect("{\"format\": \"date\"}", "\"2026-01-01\\u0000\"", false);
	expect("{\"format\": \"ipv6\"}", "\"::1\\u0000 evil\"", false);
	expect("{\"format\": \"ipv6\"}", "\"::1\"", true);
}

/* IRIs: URIs with non-ASCII characters (RFC 3987 ucschar; iprivate only in
 * the query), and RFC 6570 URI templates. */
Test(schema_strings, iri_and_uri_template_formats)
{
	expect("{\"format\": \"iri\"}", "\"http://\\u00e9x\\u00e2mple.org/r\\u00e9sum\\u00e9?q=\\u00fc#f\\u00fc\"", true);
	expect("{\"format\": \"iri\"}", "\"http://example.org/\\ud83d\\ude00\"", true);
	expect("{\"format\": \"uri\"}", "\"http://example.org/r\\u00e9sum\\u00e9\"", false);
	expect("{\"format\": \"iri\"}", "\"/relative\"", false);
	expect("{\"format\": \"iri\"}", "\"http://example.org/a b\"", false);
	expect("{\"format\": \"iri\"}", "\"http://example.org/\\u0085\"", false);     /* C1 control */
	expect("{\"format\": \"iri\"}", "\"http://example.org/\\ue000\"", false);     /* iprivate in a path */
	expect("{\"format\": \"iri\"}", "\"http://example.org/?\\ue000\"", true);     /* ... allowed in a query */
	expect("{\"format\": \"iri\"}", "\"http://example.org/\\uffff\"", false);     /* noncharacter */
	expect("{\"format\": \"iri\"}", "\"http://example.org/\\u0000\"", false);
	expect("{\"format\": \"iri-reference\"}", "\"//\\u00e9x.org/\\u00e9?\\u00e9#\\u00e9\"", true);
	expect("{\"format\": \"iri-reference\"}", "\"\\u00e9:x\"", false);
	expect("{\"format\": \"iri-reference\"}", "\"#\\u00e9\\\\\"", false);
	expect("{\"format\": \"uri-template\"}", "\"http://example.org/{user}/{+path}{?q,lang:2}{&x*}\"", true);
	expect("{\"format\": \"uri-template\"}", "\"/{a.b}/{%41b}\"", true);
	expect("{\"format\": \"uri-template\"}", "\"/{a\"", false);
	expect("{\"format\": \"uri-template\"}", "\"/{}\"", false);
	expect("{\"format\": \"uri-template\"}", "\"/{a..b}\"", false);
	expect("{\"format\": \"uri-template\"}", "\"/{a.}\"", false);
	expect("{\"format\": \"uri-template\"}", "\"/{a:0}\"", false);
	expect("{\"format\": \"uri-template\"}", "\"/{a:10000}\"", false);
	expect("{\"format\": \"uri-template\"}", "\"/{a:9999}\"", true);
	expect("{\"format\": \"uri-template\"}", "\"/a}\"", false);
	expect("{\"format\": \"uri-template\"}", "\"/a b\"", false);
	expect("{\"format\": \"uri-template\"}", "\"/{\\u0000}\"", false);
	expect("{\"format\": \"uri-template\"}", "\"/%zz\"", false);
}

/* --- objects ------------------------------------------------------------- */

Test(schema_objects, unicode_property_names)
{
	const char *schema = "{\"properties\": {\"\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87\":"
	    " {\"type\": \"string\"}, \"\xF0\x9F\x98\x80\": {\"type\": \"integer\"}},"
	    " \"required\": [\"\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87\"],"
	    " \"additionalProperties\": false}";

	expect(schema, "{\"\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87\": \"x\", "
	    "\"\xF0\x9F\x98\x80\": 1}", true);
	expect(schema, "{\"\\u043a\\u043b\\u044e\\u0447\": \"x\"}", true);
	expect_error(schema, "{\"\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87\": \"x\", "
	    "\"\xF0\x9F\x98\x80\": \"no\"}", "/\xF0\x9F\x98\x80", "type");
	expect_error(schema, "{\"\xD0\xBA\xD0\xBB\xD1\x8E\xD1\x87\": \"x\", "
	    "\"\xD0\xBA\": 1}", "/\xD0\xBA", "additionalProperties");
	expect_error(schema, "{}", "", "required");
	expect("{\"propertyNames\": {\"maxLength\": 1}}", "{\"\xF0\x9F\x98\x80\": 1}",
	    true);
	expect("{\"propertyNames\": {\"maxLength\": 1}}", "{\"ab\": 1}", false);
	expect("{\"patternProperties\": {\"^\\\\p{Lu}\": {\"type\": \"integer\"}},"
	    " \"additionalProperties\": false}", "{\"\xC3\x89t\xC3\xA9\": 1}", true);
	expect("{\"patternProperties\": {\"^\\\\p{Lu}\": {\"type\": \"integer\"}},"
	    " \"additionalProperties\": false}", "{\"\xC3\xA9t\xC3\xA9\": 1}", false);
}

Test(schema_objects, error_pointers_and_keywords)
{
	const char *schema = "{\"properties\": {\"a/b\": {\"type\": \"string\"},"
	    " \"c~d\": {\"items\": {\"maximum\": 3}}}}";

	expect_error(schema, "{\"a/b\": 1}", "/a~1b", "type");
	expect_error(schema, "{\"c~d\": [1, 2, 4]}", "/c~0d/2", "maximum");
	expect_error("{\"items\": [{}, {}], \"additionalItems\": false}",
	    "[1, 2, 3]", "/2", "additionalItems");
	expect_error("{\"dependencies\": {\"a\": [\"b\"]}}", "{\"a\": 1}", "",
	    "dependencies");
	expect_error("{\"anyOf\": [{\"type\": \"string\"}, {\"type\": \"null\"}]}",
	    "1", "", "anyOf");
	expect_error("{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 0}]}",
	    "1", "", "oneOf");
	expect_error("{\"not\": {\"type\": \"integer\"}}", "1", "", "not");
	expect_error("{\"contains\": {\"const\": 1}}", "[2, 3]", "", "contains");
	expect_error("{\"if\": {\"type\": \"integer\"}, \"then\": {\"minimum\": 5}}",
	    "3", "", "minimum");
	expect_error("{\"properties\": {\"x\": false}}", "{\"x\": 0}", "/x", "false");
	expect_error("{\"enum\": [\"a\", \"b\"]}", "\"c\"", "", "enum");
}

Test(schema_objects, many_required_properties)
{
	/* more than 64 required names use the slow path past the bitmask */
	json_t *schema = json_pack("{s:[]}", "required");
	json_t *inst = json_object();
	struct cg_error err;
	struct cg_schema *s;
	char name[16];

	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		json_array_append_new(json_object_get(schema, "required"),
		    json_string(name));
		json_object_set_new(inst, name, json_integer(i));
	}
	s = schema_compile(schema, NULL, &err);
	cr_assert_not_null(s);
	cr_expect_eq(check(s, inst, &err), 0);
	json_object_del(inst, "p90");
	cr_expect_eq(check(s, inst, &err), -1);
	cr_expect(strstr(err.msg, "p90") != NULL, "%s", err.msg);
	json_object_set_new(inst, "p90", json_null());
	json_object_del(inst, "p3");
	cr_expect_eq(check(s, inst, &err), -1);
	cr_expect(strstr(err.msg, "p3") != NULL, "%s", err.msg);
	schema_free(s);
	json_decref(schema);
	json_decref(inst);
}

/* --- enum ---------------------------------------------------------------- */

Test(schema_enum, ten_thousand_members)
{
	json_t *values = json_array(), *schema, *inst;
	struct cg_schema *s;
	struct cg_error err;
	struct timespec t0;
	char buf[32];

	for (int i = 0; i < 10000; i++) {
		snprintf(buf, sizeof(buf), "v%d", i);
		json_array_append_new(values, i % 2 ? json_string(buf) :
		    json_integer(i));
	}
	schema = json_pack("{s:o}", "enum", values);
	s = schema_compile(schema, NULL, &err);
	cr_assert_not_null(s, "%s", err.msg);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 20000; i++) {
		bool member = i < 10000;

		if (i % 2) {
			snprintf(buf, sizeof(buf), "v%d", i);
			inst = json_string(buf);
		} else {
			inst = json_real((double)i);
		}
		cr_assert_eq(schema_validate(s, inst, NULL) == 0, member,
		    "member %d", i);
		json_decref(inst);
	}
	/* a linear scan would take 20000 * 5000 comparisons */
	cr_expect(seconds_since(&t0) < 0.5, "20000 lookups took %.3f s",
	    seconds_since(&t0));
	inst = json_string("v2");     /* even numbers are integers, not strings */
	cr_expect_eq(check(s, inst, &err), -1);
	cr_expect_str_eq(err.keyword, "enum");
	json_decref(inst);
	schema_free(s);
	json_decref(schema);
}

/* --- references ---------------------------------------------------------- */

static const char tree_schema[] =
	"{\"definitions\": {\"node\": {\"type\": \"object\","
	"  \"properties\": {\"value\": {\"type\": \"integer\"},"
	"    \"children\": {\"type\": \"array\","
	"      \"items\": {\"$ref\": \"#/definitions/node\"}}},"
	"  \"required\": [\"value\"], \"additionalProperties\": false}},"
	" \"$ref\": \"#/definitions/node\"}";

Test(schema_refs, recursive_tree)
{
	expect(tree_schema, "{\"value\": 1, \"children\": [{\"value\": 2},"
	    " {\"value\": 3, \"children\": [{\"value\": 4, \"children\": []}]}]}",
	    true);
	expect_error(tree_schema, "{\"value\": 1, \"children\": [{\"value\": 2},"
	    " {\"value\": 3, \"children\": [{\"value\": \"x\"}]}]}",
	    "/children/1/children/0/value", "type");
	expect_error(tree_schema, "{\"value\": 1, \"children\": [{}]}",
	    "/children/0", "required");
}

Test(schema_refs, pointer_escapes_and_ids)
{
	const char *schema = "{\"definitions\": {\"a/b\": {\"type\": \"integer\"},"
	    " \"c~d\": {\"type\": \"string\"}, \"e%f\": {\"type\": \"null\"},"
	    " \"g h\": {\"type\": \"boolean\"},"
	    " \"anchored\": {\"$id\": \"#foo\", \"minimum\": 10}},"
	    " \"properties\": {\"p\": {\"$ref\": \"#/definitions/a~1b\"},"
	    " \"q\": {\"$ref\": \"#/definitions/c~0d\"},"
	    " \"r\": {\"$ref\": \"#/definitions/e%25f\"},"
	    " \"s\": {\"$ref\": \"#/definitions/g%20h\"},"
	    " \"t\": {\"$ref\": \"#foo\"}}}";

	expect(schema, "{\"p\": 1, \"q\": \"x\", \"r\": null, \"s\": true,"
	    " \"t\": 11}", true);
	expect(schema, "{\"p\": \"1\"}", false);
	expect(schema, "{\"q\": 1}", false);
	expect(schema, "{\"r\": 1}", false);
	expect(schema, "{\"s\": 1}", false);
	expect(schema, "{\"t\": 9}", false);
}

Test(schema_refs, id_on_subschema_changes_base)
{
	const char *schema = "{\"$id\": \"http://example.com/root.json\","
	    " \"definitions\": {\"A\": {\"$id\": \"#foo\", \"type\": \"integer\"},"
	    "  \"B\": {\"$id\": \"other.json\", \"definitions\": {"
	    "    \"X\": {\"$id\": \"#bar\", \"type\": \"string\"}}}},"
	    " \"properties\": {\"a\": {\"$ref\": \"#foo\"},"
	    "  \"b\": {\"$ref\": \"other.json\"},"
	    "  \"c\": {\"$ref\": \"other.json#bar\"},"
	    "  \"d\": {\"$ref\": \"http://example.com/root.json#/definitions/A\"},"
	    "  \"e\": {\"$ref\": \"other.json#/definitions/X\"}}}";

	expect(schema, "{\"a\": 1, \"c\": \"s\", \"d\": 2, \"e\": \"t\"}", true);
	expect(schema, "{\"a\": \"1\"}", false);
	expect(schema, "{\"c\": 1}", false);
	expect(schema, "{\"d\": \"x\"}", false);
	expect(schema, "{\"e\": 1}", false);
}

Test(schema_refs, cycles_are_compile_errors)
{
	expect_compile_error("{\"$ref\": \"#\"}", NULL, "/$ref", "cycle");
	expect_compile_error("{\"definitions\": {\"a\": {\"$ref\": \"#/definitions/b\"},"
	    " \"b\": {\"$ref\": \"#/definitions/a\"}}}", NULL,
	    "/definitions/a/$ref", "cycle");
	expect_compile_error("{\"allOf\": [{\"$ref\": \"#\"}]}", NULL,
	    "/allOf/0/$ref", "cycle");
	expect_compile_error("{\"definitions\": {\"a\": {\"anyOf\": [{\"$ref\":"
	    " \"#/definitions/b\"}]}, \"b\": {\"not\": {\"$ref\": \"#/definitions/a\"}}},"
	    " \"$ref\": \"#/definitions/a\"}", NULL, "/definitions/b/not/$ref",
	    "cycle");
	/* recursion that consumes input is fine */
	expect("{\"properties\": {\"x\": {\"$ref\": \"#\"}}, \"type\": \"object\"}",
	    "{\"x\": {\"x\": {}}}", true);
	expect("{\"properties\": {\"x\": {\"$ref\": \"#\"}}, \"type\": \"object\"}",
	    "{\"x\": {\"x\": 1}}", false);
}

Test(schema_refs, remote_refs_only_from_the_map)
{
	json_t *remotes = parse("{\"http://schemas.example/int.json\":"
	    " {\"type\": \"integer\", \"definitions\": {\"s\": {\"type\": \"string\"}}}}");
	struct cg_schema_options opts = { .remotes = remotes, .assert_format = true };
	struct cg_schema *s;
	json_t *inst;

	s = compile_with("{\"items\": [{\"$ref\": \"http://schemas.example/int.json\"},"
	    " {\"$ref\": \"http://schemas.example/int.json#/definitions/s\"}]}", &opts);
	inst = parse("[1, \"a\"]");
	cr_expect_eq(schema_validate(s, inst, NULL), 0);
	json_decref(inst);
	inst = parse("[\"1\", \"a\"]");
	cr_expect_eq(schema_validate(s, inst, NULL), -1);
	json_decref(inst);
	schema_free(s);
	expect_compile_error("{\"properties\": {\"a\": {\"$ref\":"
	    " \"http://schemas.example/missing.json\"}}}", &opts,
	    "/properties/a/$ref", "unresolvable");
	expect_compile_error("{\"$ref\": \"https://json-schema.org/draft-07/schema\"}",
	    NULL, "/$ref", "unresolvable");
	expect_compile_error("{\"$ref\": \"#/definitions/nope\"}", NULL, "/$ref",
	    "names no value");
	expect_compile_error("{\"$ref\": \"#nope\"}", NULL, "/$ref", "unresolvable");
	json_decref(remotes);
}

Test(schema_refs, schema_inside_a_larger_document)
{
	json_t *root = parse("{\"definitions\": {\"id\": {\"type\": \"string\","
	    " \"maxLength\": 4}}, \"channels\": {\"x\": {\"request\":"
	    " {\"properties\": {\"id\": {\"$ref\": \"#/definitions/id\"}}}},"
	    " \"y\": {\"request\": {\"minLength\": \"no\"}}}}");
	struct cg_schema_options opts = { .root = root,
		.pointer = "/channels/x/request", .assert_format = true };
	json_t *schema = json_object_get(json_object_get(json_object_get(
	    json_object_get(root, "channels"), "x"), "request"), NULL);
	struct cg_error err;
	struct cg_schema *s;
	json_t *inst = parse("{\"id\": \"abcde\"}");

	schema = json_object_get(json_object_get(json_object_get(root,
	    "channels"), "x"), "request");
	s = schema_compile(schema, &opts, &err);
	cr_assert_not_null(s, "%s: %s", err.pointer, err.msg);
	cr_expect_eq(check(s, inst, &err), -1);
	cr_expect_str_eq(err.pointer, "/id");
	cr_expect_str_eq(err.keyword, "maxLength");
	schema_free(s);
	opts.pointer = "/channels/y/request";
	schema = json_object_get(json_object_get(json_object_get(root,
	    "channels"), "y"), "request");
	cg_error_clear(&err);
	cr_expect_null(schema_compile(schema, &opts, &err));
	cr_expect_str_eq(err.pointer, "/channels/y/request/minLength");
	json_decref(inst);
	json_decref(root);
}

Test(schema_compile, keyword_type_errors)
{
	expect_compile_error("{\"type\": \"strin\"}", NULL, "/type", NULL);
	expect_compile_error("{\"type\": [\"string\", \"string\"]}", NULL, "/type", NULL);
	expect_compile_error("{\"properties\": {\"a\": {\"minLength\": -1}}}", NULL,
	    "/properties/a/minLength", NULL);
	expect_compile_error("{\"properties\": {\"a\": {\"maxItems\": 1.5}}}", NULL,
	    "/properties/a/maxItems", NULL);
	expect_compile_error("{\"items\": [{}, 3]}", NULL, "/items/1", NULL);
	expect_compile_error("{\"required\": [\"a\", 1]}", NULL, "/required", NULL);
	expect_compile_error("{\"enum\": []}", NULL, "/enum", NULL);
	expect_compile_error("{\"allOf\": []}", NULL, "/allOf", NULL);
	expect_compile_error("{\"additionalProperties\": \"no\"}", NULL,
	    "/additionalProperties", NULL);
	expect_compile_error("{\"patternProperties\": {\"(\": {}}}", NULL,
	    "/patternProperties/(", NULL);
	expect_compile_error("{\"patternProperties\": {\"a/(\": {}}}", NULL,
	    "/patternProperties/a~1(", NULL);
	expect_compile_error("{\"dependencies\": {\"a\": [1]}}", NULL,
	    "/dependencies/a", NULL);
	expect_compile_error("{\"definitions\": {\"x\": {\"pattern\": \"[\"}}}", NULL,
	    "/definitions/x/pattern", NULL);
	expect_compile_error("{\"format\": 1}", NULL, "/format", NULL);
	expect_compile_error("{\"$ref\": 1}", NULL, "/$ref", NULL);
	expect_compile_error("[]", NULL, "", NULL);
}

/* --- depth --------------------------------------------------------------- */

static json_t *
deep_array(int depth)
{
	json_t *inner = json_array();

	for (int i = 1; i < depth; i++) {
		json_t *outer = json_array();

		json_array_append_new(outer, inner);
		inner = outer;
	}
	return inner;
}

Test(schema_depth, ten_thousand_deep_instance)
{
	json_t *deep = deep_array(10000), *pair;
	struct cg_error err;
	struct cg_schema *s;

	s = compile("{\"items\": {\"$ref\": \"#\"}}");
	cr_expect_eq(check(s, deep, &err), -1);
	cr_expect(strstr(err.msg, "nested too deeply") != NULL, "%s", err.msg);
	schema_free(s);
	/* exhausting the depth budget fails closed: "not" does not invert it */
	s = compile("{\"not\": {\"$ref\": \"#/definitions/d\"},"
	    " \"definitions\": {\"d\": {\"items\": {\"$ref\": \"#/definitions/d\"},"
	    " \"maxItems\": 0}}}");
	cr_expect_eq(check(s, deep, &err), -1);
	schema_free(s);
	s = compile("{\"anyOf\": [{\"items\": {\"$ref\": \"#\"}}, {\"type\": \"array\"}]}");
	cr_expect_eq(check(s, deep, &err), -1);
	schema_free(s);
	/* schemas that do not descend never look at the depth */
	s = compile("{\"type\": \"array\", \"maxItems\": 1}");
	cr_expect_eq(check(s, deep, &err), 0);
	schema_free(s);
	/* equality on two deep values is bounded too */
	pair = json_array();
	json_array_append(pair, deep);
	json_array_append_new(pair, deep_array(10000));
	s = compile("{\"uniqueItems\": true}");
	cr_expect_eq(check(s, pair, &err), -1);
	schema_free(s);
	s = compile("{\"enum\": [[[1]]]}");
	cr_expect_eq(check(s, deep, &err), -1);
	schema_free(s);
	json_decref(pair);
	json_decref(deep);
}

Test(schema_depth, within_the_limit_is_fine)
{
	json_t *deep = deep_array(100);
	struct cg_error err;
	struct cg_schema *s = compile("{\"items\": {\"$ref\": \"#\"}, \"type\": \"array\"}");

	cr_expect_eq(check(s, deep, &err), 0, "%s", err.msg);
	schema_free(s);
	json_decref(deep);
}

Test(schema_compile, deep_schema_is_refused)
{
	char *text = malloc(1000 * 13 + 16), *p = text;
	json_t *doc;
	struct cg_error err;

	/* jansson itself stops at 2048 levels */
	for (int i = 0; i < 1000; i++)
		p += sprintf(p, "{\"not\": ");
	p += sprintf(p, "{}");
	for (int i = 0; i < 1000; i++)
		*p++ = '}';
	*p = '\0';
	doc = json_loads(text, 0, NULL);
	cr_assert_not_null(doc);
	cr_expect_null(schema_compile(doc, NULL, &err));
	cr_expect(strstr(err.msg, "nested deeper") != NULL, "%s", err.msg);
	json_decref(doc);
	free(text);
}

Test(schema_compile, null_arguments)
{
	struct cg_error err;

	cr_expect_null(schema_compile(NULL, NULL, &err));
	cr_expect_eq(schema_validate(NULL, json_null(), &err), -1);
	schema_free(NULL);
}
