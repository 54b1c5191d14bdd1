/*
 * Direct formatting of audit records into a byte buffer. The decision path
 * never builds a json_t: a record is a handful of memcpy()s, a JSON string
 * escaper and an integer formatter. The escaper is also the only thing that
 * stands between bytes an untrusted client chose (a channel name, say) and
 * the structure of the log line, so it escapes every control character,
 * quote and backslash and replaces invalid UTF-8 with U+FFFD.
 */
#include "audit/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

int
audit_buf_reserve(struct audit_buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->cap - b->len >= more)
		return 0;
	if (more > SIZE_MAX / 2 - b->len)
		return -1;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

void
audit_buf_free(struct audit_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int
audit_put_raw(struct audit_buf *b, const char *s, size_t len)
{
	if (audit_buf_reserve(b, len) != 0)
		return -1;
	memcpy(b->p + b->len, s, len);
	b->len += len;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* "00" .. "ff": two digits per byte with one load */
static const char hex_pairs[513] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

char *
audit_w_str(char *o, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run, q;

	*o++ = '"';
	while (i < len) {
		for (run = i; run < len && s[run] >= 0x20 && s[run] < 0x80 &&
		    s[run] != '"' && s[run] != '\\'; run++)
			;
		memcpy(o, s + i, run - i);
		o += run - i;
		i = run;
		if (i == len)
			break;
		if (s[i] == '"' || s[i] == '\\') {
			*o++ = '\\';
			*o++ = (char)s[i++];
		} else if (s[i] < 0x20) {
			memcpy(o, "\\u00", 4);
			memcpy(o + 4, hex_pairs + 2 * s[i], 2);
			o += 6;
			i++;
		} else if ((q = utf8_seq(s + i, len - i)) > 0) {
			memcpy(o, s + i, q);
			o += q;
			i += q;
		} else {
			memcpy(o, "\\ufffd", 6);
			o += 6;
			i++;
		}
	}
	*o++ = '"';
	return o;
}

int
audit_put_str(struct audit_buf *b, const char *str, size_t len)
{
	/* worst case: every byte becomes \ufffd (6 bytes) */
	if (len > SIZE_MAX / 8 || audit_buf_reserve(b, AUDIT_STR_ROOM(len)) != 0)
		return -1;
	b->len = (size_t)(audit_w_str(b->p + b->len, str, len) - b->p);
	return 0;
}

int
audit_put_key_str_n(struct audit_buf *b, const char *key, size_t kl,
    const char *s, size_t len)
{
	if (len > SIZE_MAX / 8 || audit_buf_reserve(b, kl + 4 + AUDIT_STR_ROOM(len)) != 0)
		return -1;
	b->len = (size_t)(audit_w_str(audit_w_key(b->p + b->len, key, kl), s, len) - b->p);
	return 0;
}

/* "00" .. "99" */
static const char dec_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233"
	"34353637383940414243444546474849505152535455565758596061626364656667"
	"6869707172737475767778798081828384858687888990919293949596979899";

char *
audit_w_u64(char *o, uint64_t v)
{
	static const uint64_t pow10[20] = { 1ull, 10ull, 100ull, 1000ull,
	    10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
	    1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
	    10000000000000ull, 100000000000000ull, 1000000000000000ull,
	    10000000000000000ull, 100000000000000000ull,
	    1000000000000000000ull, 10000000000000000000ull };
	size_t nd = 1;
	char *end, *p;

	/* the digits are written backwards from the end, two at a time; a
	 * copy of a variable-length scratch buffer was a memcpy call */
	while (nd < 20 && v >= pow10[nd])
		nd++;
	end = p = o + nd;
	while (v >= 100) {
		p -= 2;
		memcpy(p, dec_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10)
		memcpy(p - 2, dec_pairs + 2 * v, 2);
	else
		p[-1] = (char)('0' + v);
	return end;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* 32 hex digits of 16 bytes: the high and low nibbles interleaved, then
 * '0' + n, plus 39 more where n > 9 ('a' - '0' - 10). */
static inline char *
hex16(char *o, const unsigned char *bin)
{
	const __m128i mask = _mm_set1_epi8(0x0f), nine = _mm_set1_epi8(9);
	const __m128i zero = _mm_set1_epi8('0'), letters = _mm_set1_epi8(39);
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)bin);
	__m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), mask);
	__m128i lo = _mm_and_si128(v, mask);
	__m128i d[2] = { _mm_unpacklo_epi8(hi, lo), _mm_unpackhi_epi8(hi, lo) };

	for (int i = 0; i < 2; i++) {
		d[i] = _mm_add_epi8(_mm_add_epi8(d[i], zero),
		    _mm_and_si128(_mm_cmpgt_epi8(d[i], nine), letters));
		_mm_storeu_si128((__m128i *)(void *)(o + 16 * i), d[i]);
	}
	return o + 32;
}
#endif

char *
audit_w_hex(char *o, const unsigned char *bin, size_t len)
{
	size_t i = 0;

#if defined(__SSE2__)
	for (; i + 16 <= len; i += 16)
		o = hex16(o, bin + i);
#endif
	for (; i < len; i++, o += 2)
		memcpy(o, hex_pairs + 2 * bin[i], 2);
	return o;
}

int
audit_put_key_u64_n(struct audit_buf *b, const char *key, size_t kl,
    uint64_t v)
{
	if (audit_buf_reserve(b, kl + 4 + 20) != 0)
		return -1;
	b->len = (size_t)(audit_w_u64(audit_w_key(b->p + b->len, key, kl), v) - b->p);
	return 0;
}

int
audit_put_key_hex_n(struct audit_buf *b, const char *key, size_t kl,
    const unsigned char *bin, size_t len)
{
	char *o;

	if (audit_buf_reserve(b, kl + 6 + 2 * len) != 0)
		return -1;
	o = audit_w_key(b->p + b->len, key, kl);
	*o++ = '"';
	o = audit_w_hex(o, bin, len);
	*o++ = '"';
	b->len = (size_t)(o - b->p);
	return 0;
}

char *
audit_w_time(char *o, uint64_t wall_ns)
{
	/* Per-thread cache of the formatted second: the writer is used from
	 * one thread, the verifier never formats. */
	static _Thread_local uint64_t cached_sec = UINT64_MAX;
	static _Thread_local char cached[64];
	uint64_t secs = wall_ns / 1000000000u;
	unsigned usec = (unsigned)(wall_ns % 1000000000u / 1000u);
	struct cg_utc t;

	if (secs != cached_sec) {
		cg_utc(secs, &t);
		snprintf(cached, sizeof(cached), "%04lld-%02u-%02uT%02u:%02u:%02u",
		    t.year, t.month, t.day, t.hour, t.min, t.sec);
		cached_sec = secs;
	}
	memcpy(o, ",\"t\":\"", 6);
	o += 6;
	memcpy(o, cached, 19);
	o += 19;
	*o++ = '.';
	memcpy(o, dec_pairs + 2 * (usec / 10000), 2);
	memcpy(o + 2, dec_pairs + 2 * (usec / 100 % 100), 2);
	memcpy(o + 4, dec_pairs + 2 * (usec % 100), 2);
	o += 6;
	*o++ = 'Z';
	*o++ = '"';
	return o;
}

int
audit_put_time(struct audit_buf *b, uint64_t wall_ns)
{
	if (audit_buf_reserve(b, AUDIT_TIME_ROOM) != 0)
		return -1;
	b->len = (size_t)(audit_w_time(b->p + b->len, wall_ns) - b->p);
	return 0;
}

int
audit_read_line(FILE *f, struct audit_buf *b, int *complete)
{
	int c;

	b->len = 0;
	*complete = 0;
	while ((c = getc(f)) != EOF) {
		if (c == '\n') {
			*complete = 1;
			break;
		}
		if (b->len >= AUDIT_LINE_MAX || audit_buf_reserve(b, 2) != 0)
			return -1;
		b->p[b->len++] = (char)c;
	}
	if (ferror(f))
		return -1;
	if (audit_buf_reserve(b, 1) != 0)
		return -1;
	b->p[b->len] = '\0';
	return *complete || b->len > 0 ? 1 : 0;
}

int
audit_open_log(const char *path, int streams, char *why, size_t whylen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !(streams && S_ISFIFO(st.st_mode))) {
		snprintf(why, whylen, "%s", S_ISDIR(st.st_mode) ?
		    "is a directory" : streams ? "not a regular file or a pipe" :
		    "not a regular file");
		goto fail;
	}
	if (fcntl(fd, F_SETFL, 0) != 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}
