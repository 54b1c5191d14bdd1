/*
 * "pattern" and "patternProperties" use ECMA-262 regular expressions; this
 * adapts PCRE2 to them: UTF mode, ASCII \d and \w (as ECMA), ECMA's
 * Unicode-aware \s, "$" only at the very end, unanchored search, \uXXXX
 * escapes (PCRE2_ALT_BSUX, which also makes \x take exactly two hex
 * digits, as ECMA does), "[^]", and no PCRE-only escapes such as \Z or \A.
 * Outside a class "." excludes every ECMA line terminator (PCRE2's only
 * "\n"), \v is U+000B alone (PCRE2's is a class), and inside a class "["
 * is a literal, as ECMA reads it, not the start of a POSIX class.
 * Every pattern is compiled once, with its match data, when the schema
 * compiles; matching is bounded by PCRE2's match, depth and
 * heap limits so a pathological pattern cannot stall the gateway.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "policy/schema_internal.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Backtracking budget per match: at most a few milliseconds of work. The
 * depth limit is high because repeated groups over a long string nest one
 * level per repetition; the heap limit bounds that memory instead. */
#define SCH_REGEX_MATCH_LIMIT 1000000u
#define SCH_REGEX_DEPTH_LIMIT 1000000u
#define SCH_REGEX_HEAP_LIMIT_KIB 16384u
#define SCH_REGEX_MAX_PATTERN 8192u

struct sch_regex {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
};

/* ECMA-262 "." outside a class: anything but a LineTerminator. */
#define ECMA_DOT "[^\\n\\r\\u2028\\u2029]"

/* ECMA-262 WhiteSpace and LineTerminator code points. */
#define ECMA_SPACE_CHARS "\\t\\n\\u000b\\f\\r \\u00a0\\u1680\\u2000-\\u200a" \
	"\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"

struct growbuf {
	char *p;
	size_t len, cap;
};

static int
put(struct growbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->cap + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* Letters that ECMA-262 (with the u flag) allows after a backslash. */
static bool
ecma_escape(char e)
{
	if (!((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')))
		return true;
	return strchr("bBdDfnrsStvwWcxukpP", e) != NULL;
}

/* Rewrites what means something else in ECMA-262 and PCRE2; NULL with
 * *bad set for an escape ECMA does not have, or 'S' for \S inside a class
 * (ECMA's is Unicode-aware, and a negated class cannot be written inside
 * another: (?:[...]|\S) says it). */
static char *
translate(const char *pat, size_t len, size_t *outlen, char *bad)
{
	struct growbuf b = { 0 };
	bool in_class = false;
	int rc = 0;

	for (size_t i = 0; i < len && rc == 0; i++) {
		char ch = pat[i];

		if (ch == '\\' && i + 1 < len) {
			char e = pat[++i];

			if (!ecma_escape(e) || (e == 'S' && in_class)) {
				*bad = e;
				rc = -1;
			} else if (e == 'v')
				rc = put(&b, "\\x0b", 4);
			else if (e == 's')
				rc = in_class ? put(&b, ECMA_SPACE_CHARS,
				    strlen(ECMA_SPACE_CHARS)) :
				    put(&b, "[" ECMA_SPACE_CHARS "]",
				    strlen(ECMA_SPACE_CHARS) + 2);
			else if (e == 'S' && !in_class)
				rc = put(&b, "[^" ECMA_SPACE_CHARS "]",
				    strlen(ECMA_SPACE_CHARS) + 3);
			else
				rc = put(&b, pat + i - 1, 2);
			continue;
		}
		if (ch == '.' && !in_class) {
			rc = put(&b, ECMA_DOT, strlen(ECMA_DOT));
			continue;
		}
		if (ch == '[' && in_class) {
			rc = put(&b, "\\[", 2);
			continue;
		}
		if (ch == '[' && !in_class)
			in_class = true;
		else if (ch == ']' && in_class)
			in_class = false;
		rc = put(&b, &ch, 1);
		/* "[]" and "[^]" close at once in ECMA (ALLOW_EMPTY_CLASS) */
		if (in_class && ch == '[' && i + 1 < len && pat[i + 1] == '^') {
			rc = rc ? rc : put(&b, "^", 1);
			i++;
		}
		if (in_class && (ch == '[' || ch == '^') && i + 1 < len &&
		    pat[i + 1] == ']') {
			rc = rc ? rc : put(&b, "]", 1);
			in_class = false;
			i++;
		}
	}
	if (rc != 0 || (b.p == NULL && put(&b, "", 0) != 0)) {
		free(b.p);
		return NULL;
	}
	*outlen = b.len;
	return b.p;
}

static pcre2_code *
compile_code(const char *pattern, size_t len, char *errbuf, size_t errlen)
{
	uint32_t opts = PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX |
	    PCRE2_ALLOW_EMPTY_CLASS | PCRE2_MATCH_UNSET_BACKREF |
	    PCRE2_NEVER_BACKSLASH_C;
	pcre2_code *code;
	size_t tlen, off;
	int ecode;
	char *t, bad = '\0';

	if (len > SCH_REGEX_MAX_PATTERN) {
		snprintf(errbuf, errlen, "pattern longer than %u bytes",
		    SCH_REGEX_MAX_PATTERN);
		return NULL;
	}
	if ((t = translate(pattern, len, &tlen, &bad)) == NULL) {
		if (bad == 'S')
			snprintf(errbuf, errlen, "\\S inside a character class is "
			    "not supported: write (?:[...]|\\S)");
		else if (bad != '\0')
			snprintf(errbuf, errlen, "\\%c is not an ECMA-262 escape",
			    bad);
		else
			snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	code = pcre2_compile((PCRE2_SPTR)t, tlen, opts, &ecode, &off, NULL);
	free(t);
	if (code == NULL) {
		PCRE2_UCHAR msg[160];

		pcre2_get_error_message(ecode, msg, sizeof(msg));
		snprintf(errbuf, errlen, "%s", (const char *)msg);
	}
	return code;
}

struct sch_regex *
sch_regex_compile(const char *pattern, size_t len, char *errbuf, size_t errlen)
{
	struct sch_regex *re = calloc(1, sizeof(*re));

	if (re == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		return NULL;
	}
	if ((re->code = compile_code(pattern, len, errbuf, errlen)) == NULL) {
		free(re);
		return NULL;
	}
	/* JIT is an optimisation only: the interpreter honours the same limits */
	(void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
	re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
	re->mctx = pcre2_match_context_create(NULL);
	if (re->md == NULL || re->mctx == NULL) {
		snprintf(errbuf, errlen, "out of memory");
		sch_regex_free(re);
		return NULL;
	}
	pcre2_set_match_limit(re->mctx, SCH_REGEX_MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, SCH_REGEX_DEPTH_LIMIT);
	pcre2_set_heap_limit(re->mctx, SCH_REGEX_HEAP_LIMIT_KIB);
	return re;
}

int
sch_regex_match(struct sch_regex *re, const char *s, size_t len)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, re->md,
	    re->mctx);

	if (rc == PCRE2_ERROR_JIT_STACKLIMIT) {
		/* The JIT's 32 KiB stack suits short strings; a long one with a
		 * repeated group retries in the interpreter, which is bounded by
		 * the match and heap limits. Its frames go in a match block of
		 * their own, so a big match does not stay allocated. */
		pcre2_match_data *md = pcre2_match_data_create(1, NULL);

		if (md == NULL)
			return -1;
		rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT,
		    md, re->mctx);
		pcre2_match_data_free(md);
	}
	if (rc >= 0)
		return 1;
	return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

void
sch_regex_free(struct sch_regex *re)
{
	if (re == NULL)
		return;
	pcre2_match_context_free(re->mctx);
	pcre2_match_data_free(re->md);
	pcre2_code_free(re->code);
	free(re);
}

bool
sch_regex_is_valid(const char *pattern, size_t len)
{
	char msg[64];
	pcre2_code *code = compile_code(pattern, len, msg, sizeof(msg));

	pcre2_code_free(code);
	return code != NULL;
}
