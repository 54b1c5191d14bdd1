/*
 * JSON bodies: the raw-byte pre-scan and the parser that builds jansson
 * values from bytes the pre-scan has passed.
 *
 * jansson's own lexer (json_loadb) cost ~8,000 instructions for a 64-byte
 * body and ~9 ns per byte of a long string, the largest CPU cost of a
 * message. The parser here is one pass over the bytes with no per-character
 * stream layer; it still produces jansson values (the schema validator works
 * on json_t) and accepts exactly what
 * json_loadb(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES) accepts, with
 * json_equal() trees: tests/frame/test_json_parse.c checks that against
 * jansson itself, over hand-written cases, the JSON Schema test suite and
 * random mutations of it.
 *
 * It relies on the pre-scan: UTF-8 is validated there only, so
 * frame_body_build() must never see bytes frame_body_scan() has not passed.
 */
#include "gateway/frame.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(json_int_t) == 8, "integers are parsed into 64 bits");

/*
 * Bounds on a body, checked on the bytes in one pass without recursion:
 * nesting depth, number of values, string length, and UTF-8 well-formedness
 * of strings (overlongs, surrogates and code points past U+10FFFF are
 * rejected, as RFC 3629 requires). The parser then works on a document that
 * is already known to be small, shallow and well-encoded.
 */
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

/*
 * How many bytes from p on (at most n) are plain string bytes: not '"' or
 * '\\', and not a control character (below 0x20) or, if ascii is set, a
 * byte of a multi-byte UTF-8 sequence. Eight bytes at a time: most of a
 * long body is such a run, and a byte-by-byte loop over it was most of the
 * cost of parsing it.
 */
static size_t
plain_run(const unsigned char *p, size_t n, int ascii)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, q, b, c;

		memcpy(&x, p + i, 8);
		q = x ^ (ones * '"');
		b = x ^ (ones * '\\');
		c = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x);
		if (((c & high) | (ascii ? x & high : 0)) != 0)
			break;
	}
	return i;
}

enum cg_body_result
frame_body_scan(const char *body, size_t len, const struct cg_json_limits *lim)
{
	const unsigned char *p = (const unsigned char *)body;
	unsigned depth = 0, values = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c == '"') {
			size_t start = ++i;
			while (i < len && p[i] != '"') {
				i += plain_run(p + i, len - i, 1);
				if (i >= len || p[i] == '"')
					break;
				if (p[i] == '\\') {
					i += 2;
					continue;
				}
				if (p[i] < 0x80) {
					i++;
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


/* jansson refuses documents nested deeper than this; so does the parser,
 * whatever depth limit the caller set. */
#define BODY_MAX_DEPTH JSON_PARSER_MAX_DEPTH

/*
 * Parser state. Containers are attached to their parent as soon as they
 * open, so the only value ever pending is one object key; strings with
 * escapes are decoded into scratch, which is as long as the body (decoding
 * never lengthens a string, and a key and its value together are shorter
 * than the body).
 */
struct body_parser {
	const unsigned char *p;
	const unsigned char *end;
	char *scratch;
	const char *key;         /* pending key of the innermost object */
	size_t key_len;
	size_t key_scratch;      /* bytes of scratch the pending key holds */
	unsigned depth;
	json_t *stack[BODY_MAX_DEPTH];
};

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

/* Reals are read with strtod_l in the C locale, so a process whose
 * LC_NUMERIC uses a decimal comma still reads "0.5" as jansson's "0.5". */
static void
c_locale_init(void)
{
	c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

static void
skip_ws(struct body_parser *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' ||
	    *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static int
is_digit(const struct body_parser *s, const unsigned char *p)
{
	return p < s->end && *p >= '0' && *p <= '9';
}

static long
hex4(const unsigned char *p, const unsigned char *end)
{
	long v = 0;

	if (end - p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		unsigned char c = p[i];
		int d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static size_t
utf8_put(uint32_t cp, char *t)
{
	if (cp < 0x80) {
		t[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		t[0] = (char)(0xc0 | cp >> 6);
		t[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		t[0] = (char)(0xe0 | cp >> 12);
		t[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		t[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	t[0] = (char)(0xf0 | cp >> 18);
	t[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	t[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	t[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Decodes the \uXXXX escape (or surrogate pair) at *pp into t. As jansson
 * does by default: a lone or reversed surrogate and U+0000 are errors.
 * Returns the bytes written, 0 on error.
 */
static size_t
unicode_escape(const unsigned char **pp, const unsigned char *end, char *t)
{
	const unsigned char *p = *pp;
	long cp = hex4(p + 2, end), lo;

	if (cp < 0)
		return 0;
	p += 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (end - p < 2 || p[0] != '\\' || p[1] != 'u')
			return 0;
		lo = hex4(p + 2, end);
		if (lo < 0xdc00 || lo > 0xdfff)
			return 0;
		cp = ((cp - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
		p += 6;
	} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
		return 0;
	}
	*pp = p;
	return utf8_put((uint32_t)cp, t);
}

/* The escape after a backslash at p; 0 if it is not one JSON allows. */
static char
simple_escape(unsigned char c)
{
	switch (c) {
	case '"': return '"';
	case '\\': return '\\';
	case '/': return '/';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	default: return 0;
	}
}

/*
 * The string at s->p (on its opening quote). A string without escapes is
 * returned in place; one with escapes is decoded into buf. Raw control
 * characters are errors, as in jansson; with \u0000 refused too, no string
 * or key can hold a NUL, which jansson refuses in both.
 */
static int
parse_string(struct body_parser *s, char *buf, const char **out,
    size_t *out_len)
{
	const unsigned char *p = s->p + 1, *start = p, *end = s->end;
	char *t = buf;

	p += plain_run(p, (size_t)(end - p), 0);
	while (p < end && *p != '"' && *p != '\\' && *p >= 0x20)
		p++;
	if (p < end && *p == '"') {
		*out = (const char *)start;
		*out_len = (size_t)(p - start);
		s->p = p + 1;
		return 0;
	}
	memcpy(t, start, (size_t)(p - start));
	t += p - start;
	while (p < end && *p != '"') {
		if (*p < 0x20)
			return -1;
		if (*p != '\\') {
			*t++ = (char)*p++;
		} else if (end - p >= 2 && p[1] == 'u') {
			size_t n = unicode_escape(&p, end, t);
			if (n == 0)
				return -1;
			t += n;
		} else if (end - p >= 2 && simple_escape(p[1]) != 0) {
			*t++ = simple_escape(p[1]);
			p += 2;
		} else {
			return -1;
		}
	}
	if (p == end)
		return -1;
	*out = buf;
	*out_len = (size_t)(t - buf);
	s->p = p + 1;
	return 0;
}

/* An integer literal, overflowing where strtoll (and so jansson) does. */
static json_t *
make_integer(const unsigned char *p, const unsigned char *end)
{
	int neg = *p == '-';
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t v = 0;

	for (p += neg; p < end; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (limit - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	if (!neg)
		return json_integer((json_int_t)v);
	return json_integer(v == limit ? INT64_MIN : -(json_int_t)v);
}

/* A real literal, read by the same strtod as jansson's and rejected where
 * jansson rejects it: on overflow to infinity (underflow is accepted). */
static json_t *
make_real(const unsigned char *p, size_t n)
{
	char small[64], *buf = small, *endp;
	double v;
	int overflow;

	pthread_once(&c_locale_once, c_locale_init);
	if (c_locale == (locale_t)0)
		return NULL;
	if (n >= sizeof(small) && (buf = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	errno = 0;
	v = strtod_l(buf, &endp, c_locale);
	overflow = (v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE;
	if (buf != small)
		free(buf);
	return overflow ? NULL : json_real(v);
}

/* A number per RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)? */
static json_t *
parse_number(struct body_parser *s)
{
	const unsigned char *start = s->p, *p = s->p;
	int is_real = 0;

	if (*p == '-')
		p++;
	if (!is_digit(s, p))
		return NULL;
	if (*p == '0') {
		if (is_digit(s, ++p))
			return NULL;
	} else {
		while (is_digit(s, p))
			p++;
	}
	if (p < s->end && *p == '.') {
		if (!is_digit(s, ++p))
			return NULL;
		while (is_digit(s, p))
			p++;
		is_real = 1;
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			p++;
		if (!is_digit(s, p))
			return NULL;
		while (is_digit(s, p))
			p++;
		is_real = 1;
	}
	s->p = p;
	return is_real ? make_real(start, (size_t)(p - start)) :
	    make_integer(start, p);
}

static int
literal(struct body_parser *s, const char *word, size_t n)
{
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
		return 0;
	s->p += n;
	return 1;
}

/* A string, number or literal at s->p (which is not at the end). */
static json_t *
parse_scalar(struct body_parser *s)
{
	const char *str;
	size_t n;

	/* jansson counts every value, not only containers, against its cap */
	if (s->depth == BODY_MAX_DEPTH)
		return NULL;
	switch (*s->p) {
	case '"':
		if (parse_string(s, s->scratch + s->key_scratch, &str, &n) < 0)
			return NULL;
		return json_stringn_nocheck(str, n);
	case 't':
		return literal(s, "true", 4) ? json_true() : NULL;
	case 'f':
		return literal(s, "false", 5) ? json_false() : NULL;
	case 'n':
		return literal(s, "null", 4) ? json_null() : NULL;
	default:
		if (*s->p != '-' && (*s->p < '0' || *s->p > '9'))
			return NULL;
		return parse_number(s);
	}
}

/* An object key and its colon; the key becomes the pending one. */
static int
parse_key(struct body_parser *s)
{
	skip_ws(s);
	if (s->p == s->end || *s->p != '"' ||
	    parse_string(s, s->scratch, &s->key, &s->key_len) < 0)
		return -1;
	s->key_scratch = s->key == s->scratch ? s->key_len : 0;
	/* Duplicates are found by attach(), where the insertion does not
	 * grow the object. */
	skip_ws(s);
	if (s->p == s->end || *s->p != ':')
		return -1;
	s->p++;
	return 0;
}

/* Puts v (a new reference, consumed even on failure) into the innermost
 * container, or makes it the root. */
static int
attach(struct body_parser *s, json_t **root, json_t *v)
{
	json_t *top;
	size_t n;

	if (s->depth == 0) {
		*root = v;
		return 0;
	}
	top = s->stack[s->depth - 1];
	if (json_is_array(top))
		return json_array_append_new(top, v);
	s->key_scratch = 0;
	/* JSON_REJECT_DUPLICATES: a key already present is replaced, so the
	 * size does not grow; one hash lookup instead of a get and a set. */
	n = json_object_size(top);
	if (json_object_setn_new_nocheck(top, s->key, s->key_len, v) < 0)
		return -1;
	return json_object_size(top) == n + 1 ? 0 : -1;
}

/* Opens the array or object at s->p; returns 1 if it closed at once. */
static int
open_container(struct body_parser *s, json_t **root)
{
	unsigned char c = *s->p++;
	json_t *v;

	if (s->depth == BODY_MAX_DEPTH)
		return -1;
	v = c == '[' ? json_array() : json_object();
	if (v == NULL || attach(s, root, v) < 0)
		return -1;
	s->stack[s->depth++] = v;
	skip_ws(s);
	if (s->p < s->end && *s->p == (c == '[' ? ']' : '}')) {
		s->p++;
		s->depth--;
		return 1;
	}
	return c == '{' && parse_key(s) < 0 ? -1 : 0;
}

/*
 * After a value: a comma (then the next value, or a key first), or the
 * closing bracket of the innermost container, repeatedly. Returns 1 when
 * the document is complete, 0 when a value is expected next.
 */
static int
after_value(struct body_parser *s)
{
	for (;;) {
		json_t *top;

		skip_ws(s);
		if (s->depth == 0)
			return s->p == s->end ? 1 : -1;
		if (s->p == s->end)
			return -1;
		top = s->stack[s->depth - 1];
		if (*s->p == ',') {
			s->p++;
			return json_is_object(top) && parse_key(s) < 0 ? -1 : 0;
		}
		if (*s->p != (json_is_array(top) ? ']' : '}'))
			return -1;
		s->p++;
		s->depth--;
	}
}

static json_t *
run_parser(struct body_parser *s)
{
	json_t *root = NULL, *v;
	int r;

	for (;;) {
		skip_ws(s);
		if (s->p == s->end)
			break;
		if (*s->p == '[' || *s->p == '{') {
			r = open_container(s, &root);
			if (r < 0)
				break;
			if (r == 0)
				continue;
		} else if ((v = parse_scalar(s)) == NULL ||
		    attach(s, &root, v) < 0) {
			break;
		}
		r = after_value(s);
		if (r < 0)
			break;
		if (r == 1)
			return root;
	}
	json_decref(root);
	return NULL;
}

json_t *
frame_body_build(const char *body, size_t len)
{
	struct body_parser s;
	char small[1024];
	json_t *v;

	if (len == 0)
		return NULL;
	s.p = (const unsigned char *)body;
	s.end = s.p + len;
	s.scratch = len <= sizeof(small) ? small : malloc(len);
	if (s.scratch == NULL)
		return NULL;
	s.key = NULL;
	s.key_len = 0;
	s.key_scratch = 0;
	s.depth = 0;
	v = run_parser(&s);
	if (s.scratch != small)
		free(s.scratch);
	return v;
}

/*
 * Why a body the pre-scan passed was rejected. jansson reports bad UTF-8
 * only for bytes >= 0x80, and the pre-scan has checked every such byte
 * except one right after a backslash, so an ASCII body is simply malformed.
 * Otherwise jansson decides whether it meets the bad byte before the
 * syntax error: this costs what every body cost before, on rejected
 * non-ASCII bodies only.
 */
static enum cg_body_result
reject_reason(const char *body, size_t len)
{
	json_error_t jerr;
	json_t *v;
	size_t i;

	for (i = 0; i < len && (unsigned char)body[i] < 0x80; i++)
		;
	if (i == len)
		return CG_BODY_BAD_JSON;
	v = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES,
	    &jerr);
	if (v != NULL) {
		json_decref(v);
		return CG_BODY_BAD_JSON;
	}
	return json_error_code(&jerr) == json_error_invalid_utf8 ?
	    CG_BODY_BAD_UTF8 : CG_BODY_BAD_JSON;
}

enum cg_body_result
frame_parse_body(const char *body, size_t len, const struct cg_json_limits *lim,
    json_t **out)
{
	static const struct cg_json_limits defaults = {
		CG_JSON_DEFAULT_DEPTH, CG_JSON_DEFAULT_MEMBERS, CG_FRAME_MAX
	};
	enum cg_body_result r;

	*out = NULL;
	if (lim == NULL)
		lim = &defaults;
	if (len == 0) {
		*out = json_null();
		return CG_BODY_OK;
	}
	r = frame_body_scan(body, len, lim);
	if (r != CG_BODY_OK)
		return r;
	*out = frame_body_build(body, len);
	return *out != NULL ? CG_BODY_OK : reject_reason(body, len);
}

const char *
frame_body_result_name(enum cg_body_result r)
{
	static const char *const names[] = {
		[CG_BODY_OK] = "ok",
		[CG_BODY_EMPTY] = "body-empty",
		[CG_BODY_TOO_DEEP] = "json-too-deep",
		[CG_BODY_TOO_MANY] = "json-too-many-values",
		[CG_BODY_STRING_TOO_LONG] = "json-string-too-long",
		[CG_BODY_BAD_UTF8] = "json-bad-utf8",
		[CG_BODY_BAD_JSON] = "json-malformed",
	};
	return (size_t)r < sizeof(names) / sizeof(names[0]) && names[r] ?
	    names[r] : "body-unknown";
}

