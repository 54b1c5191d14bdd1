/*
 * "format" assertions. Each checker takes the string with its length (a
 * JSON string may hold NUL) and accepts exactly the RFC grammar named in
 * draft-07 section 7.3; formats not listed here are annotations only.
 */
#include "policy/schema_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

static const char *const format_names[] = {
	[SCH_F_UNKNOWN] = "",
	[SCH_F_DATE_TIME] = "date-time",
	[SCH_F_DATE] = "date",
	[SCH_F_TIME] = "time",
	[SCH_F_EMAIL] = "email",
	[SCH_F_HOSTNAME] = "hostname",
	[SCH_F_IPV4] = "ipv4",
	[SCH_F_IPV6] = "ipv6",
	[SCH_F_URI] = "uri",
	[SCH_F_URI_REFERENCE] = "uri-reference",
	[SCH_F_UUID] = "uuid",
	[SCH_F_REGEX] = "regex",
	[SCH_F_JSON_POINTER] = "json-pointer",
	[SCH_F_RELATIVE_JSON_POINTER] = "relative-json-pointer",
	[SCH_F_IRI] = "iri",
	[SCH_F_IRI_REFERENCE] = "iri-reference",
	[SCH_F_URI_TEMPLATE] = "uri-template",
};

int
sch_format_lookup(const char *name)
{
	for (size_t i = 1; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (strcmp(name, format_names[i]) == 0)
			return (int)i;
	return SCH_F_UNKNOWN;
}

const char *
sch_format_name(int format)
{
	if (format <= 0 || (size_t)format >= sizeof(format_names) /
	    sizeof(format_names[0]))
		return "";
	return format_names[format];
}

/* Reads exactly n digits at s[*i]. */
static bool
digits(const char *s, size_t len, size_t *i, size_t n, int *out)
{
	int v = 0;

	if (*i + n > len)
		return false;
	for (size_t k = 0; k < n; k++) {
		if (!isdigit((unsigned char)s[*i + k]))
			return false;
		v = v * 10 + (s[*i + k] - '0');
	}
	*i += n;
	*out = v;
	return true;
}

static bool
lit(const char *s, size_t len, size_t *i, char c)
{
	if (*i >= len || s[*i] != c)
		return false;
	(*i)++;
	return true;
}

static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* RFC 3339 full-date */
static bool
parse_date(const char *s, size_t len, size_t *i)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d;

	if (!digits(s, len, i, 4, &y) || !lit(s, len, i, '-') ||
	    !digits(s, len, i, 2, &m) || !lit(s, len, i, '-') ||
	    !digits(s, len, i, 2, &d))
		return false;
	if (m < 1 || m > 12 || d < 1)
		return false;
	return d <= mdays[m - 1] + (m == 2 && is_leap(y));
}

/* RFC 3339 full-time: partial-time time-offset; a leap second (:60) is
 * accepted only where it can occur, at 23:59 UTC. */
static bool
parse_time(const char *s, size_t len, size_t *i)
{
	int h, m, sec, oh = 0, om = 0, sign = 0;

	if (!digits(s, len, i, 2, &h) || !lit(s, len, i, ':') ||
	    !digits(s, len, i, 2, &m) || !lit(s, len, i, ':') ||
	    !digits(s, len, i, 2, &sec))
		return false;
	if (h > 23 || m > 59 || sec > 60)
		return false;
	if (*i < len && s[*i] == '.') {
		size_t start = ++(*i);

		while (*i < len && isdigit((unsigned char)s[*i]))
			(*i)++;
		if (*i == start)
			return false;
	}
	if (*i < len && (s[*i] == 'Z' || s[*i] == 'z')) {
		(*i)++;
	} else if (*i < len && (s[*i] == '+' || s[*i] == '-')) {
		sign = s[(*i)++] == '+' ? 1 : -1;
		if (!digits(s, len, i, 2, &oh) || !lit(s, len, i, ':') ||
		    !digits(s, len, i, 2, &om) || oh > 23 || om > 59)
			return false;
	} else {
		return false;
	}
	if (sec == 60) {
		int utc = (h * 60 + m - sign * (oh * 60 + om) + 1440) % 1440;

		return utc == 23 * 60 + 59;
	}
	return true;
}

static bool
check_date_time(const char *s, size_t len)
{
	size_t i = 0;

	if (!parse_date(s, len, &i) || i >= len ||
	    (s[i] != 'T' && s[i] != 't'))
		return false;
	i++;
	return parse_time(s, len, &i) && i == len;
}

static bool
is_label_char(char c)
{
	return isalnum((unsigned char)c) || c == '-';
}

/* RFC 1123 host name: dot-separated labels of 1-63 letters, digits and
 * inner hyphens, 253 characters at most. */
static bool
check_hostname(const char *s, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!is_label_char(s[i]))
				return false;
			continue;
		}
		if (i == start || i - start > 63 || s[start] == '-' ||
		    s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

static bool
check_ipv4(const char *s, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		int v = 0;

		if (part > 0 && !lit(s, len, &i, '.'))
			return false;
		start = i;
		while (i < len && isdigit((unsigned char)s[i]) && i - start < 3)
			v = v * 10 + (s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return false;
	}
	return i == len;
}

static bool
check_ipv6(const char *s, size_t len)
{
	char buf[64];
	unsigned char addr[16];

	/* inet_pton reads up to a NUL: one inside the string would hide
	 * whatever follows it */
	if (len == 0 || len >= sizeof(buf) || memchr(s, '%', len) != NULL ||
	    memchr(s, '\0', len) != NULL)
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

/* A practical RFC 5322 addr-spec: dot-atom local part, host name domain
 * (or an address literal). */
static bool
check_email(const char *s, size_t len)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	const char *at = memchr(s, '@', len);
	size_t llen;

	if (at == NULL)
		return false;
	llen = (size_t)(at - s);
	if (llen == 0 || llen > 64 || s[0] == '.' || s[llen - 1] == '.')
		return false;
	for (size_t i = 0; i < llen; i++) {
		if (s[i] == '.' && s[i + 1] == '.')
			return false;
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    strchr(atext, s[i]) == NULL)
			return false;
	}
	s = at + 1;
	len -= llen + 1;
	if (len > 2 && s[0] == '[' && s[len - 1] == ']')
		return check_ipv4(s + 1, len - 2) ||
		    (len > 7 && strncmp(s + 1, "IPv6:", 5) == 0 &&
		    check_ipv6(s + 6, len - 7));
	return check_hostname(s, len);
}

static bool
check_uuid(const char *s, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!isxdigit((unsigned char)s[i])) {
			return false;
		}
	}
	return true;
}

/* --- RFC 3986 and RFC 3987 syntax ---------------------------------------- */

/* The code point of the UTF-8 sequence at s[*i] (jansson's strings are valid
 * UTF-8), *i moved past it; 0 for a malformed sequence. */
static unsigned long
utf8_next(const char *s, size_t len, size_t *i)
{
	const unsigned char *u = (const unsigned char *)s + *i;
	size_t n = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : u[0] >= 0xc0 ? 2 : 0;
	unsigned long cp;

	if (n == 0 || *i + n > len)
		return 0;
	cp = u[0] & (0x7fu >> n);
	for (size_t k = 1; k < n; k++) {
		if ((u[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[k] & 0x3f);
	}
	*i += n;
	return cp;
}

/* RFC 3987 ucschar, and iprivate where the query allows it. */
static bool
iri_code_point_ok(unsigned long cp, bool private_ok)
{
	if ((cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xf900 && cp <= 0xfdcf) ||
	    (cp >= 0xfdf0 && cp <= 0xffef))
		return true;
	if (cp >= 0x10000 && cp <= 0xdfffd && (cp & 0xffff) <= 0xfffd)
		return true;
	if (cp >= 0xe1000 && cp <= 0xefffd)
		return true;
	return private_ok && ((cp >= 0xe000 && cp <= 0xf8ff) ||
	    (cp >= 0xf0000 && cp <= 0xffffd) || (cp >= 0x100000 && cp <= 0x10fffd));
}

/* A percent-encoding at s[*i] ("%" and two hex digits), *i moved past it. */
static bool
pct_encoded(const char *s, size_t len, size_t *i)
{
	if (*i + 2 >= len || !isxdigit((unsigned char)s[*i + 1]) ||
	    !isxdigit((unsigned char)s[*i + 2]))
		return false;
	*i += 3;
	return true;
}

/* How non-ASCII characters are taken: not at all (a URI), as ucschar (an
 * IRI), or also as iprivate (an IRI's query). */
enum uri_kind { URI_ASCII, URI_IRI, URI_IRI_QUERY };

static bool
uri_char_ok(const char *s, size_t len, size_t *i, const char *extra,
    enum uri_kind kind)
{
	static const char unreserved_sub[] = "-._~!$&'()*+,;=";
	unsigned char c = (unsigned char)s[*i];

	if (c == '%')
		return pct_encoded(s, len, i);
	if (c >= 0x80)
		return kind != URI_ASCII &&
		    iri_code_point_ok(utf8_next(s, len, i), kind == URI_IRI_QUERY);
	if (isalnum(c) || (c != '\0' && (strchr(unreserved_sub, c) ||
	    strchr(extra, c)))) {
		(*i)++;
		return true;
	}
	return false;
}

static bool
uri_part(const char *s, size_t len, size_t *i, const char *stop,
    const char *extra, enum uri_kind kind)
{
	while (*i < len && strchr(stop, s[*i]) == NULL)
		if (!uri_char_ok(s, len, i, extra, kind))
			return false;
	return true;
}

static bool
check_authority(const char *s, size_t len, enum uri_kind kind)
{
	size_t i = 0;
	const char *at = memchr(s, '@', len);

	if (at != NULL) {
		size_t ulen = (size_t)(at - s);

		if (!uri_part(s, ulen, &i, "", ":", kind))
			return false;
		i = ulen + 1;
	}
	if (i < len && s[i] == '[') {
		const char *close = memchr(s + i, ']', len - i);

		if (close == NULL || !check_ipv6(s + i + 1,
		    (size_t)(close - s - (ptrdiff_t)i - 1)))
			return false;
		i = (size_t)(close - s) + 1;
	} else if (!uri_part(s, len, &i, ":", "", kind)) {
		return false;
	}
	if (i < len && s[i] == ':') {
		for (i++; i < len; i++)
			if (!isdigit((unsigned char)s[i]))
				return false;
	}
	return i == len;
}

/* relative-ref or the part of a URI after "scheme:" */
static bool
check_hier(const char *s, size_t len, enum uri_kind kind)
{
	size_t i = 0;

	if (len >= 2 && s[0] == '/' && s[1] == '/') {
		size_t alen = 0;

		while (2 + alen < len && strchr("/?#", s[2 + alen]) == NULL)
			alen++;
		if (!check_authority(s + 2, alen, kind))
			return false;
		i = 2 + alen;
	}
	if (!uri_part(s, len, &i, "?#", ":@/", kind))
		return false;
	if (i < len && s[i] == '?') {
		i++;
		if (!uri_part(s, len, &i, "#", ":@/?",
		    kind == URI_ASCII ? URI_ASCII : URI_IRI_QUERY))
			return false;
	}
	if (i < len && s[i] == '#') {
		i++;
		if (!uri_part(s, len, &i, "", ":@/?", kind))
			return false;
	}
	return i == len;
}

static size_t
scheme_len(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || !isalpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < len && (isalnum((unsigned char)s[i]) || s[i] == '+' ||
	    s[i] == '-' || s[i] == '.'); i++)
		;
	return i < len && s[i] == ':' ? i : 0;
}

static bool
check_uri(const char *s, size_t len, enum uri_kind kind)
{
	size_t n = scheme_len(s, len);

	return n > 0 && check_hier(s + n + 1, len - n - 1, kind);
}

static bool
check_uri_reference(const char *s, size_t len, enum uri_kind kind)
{
	size_t n = scheme_len(s, len);

	if (n > 0)
		return check_hier(s + n + 1, len - n - 1, kind);
	/* a relative-path reference's first segment has no ':' */
	for (size_t i = 0; i < len && strchr("/?#", s[i]) == NULL; i++)
		if (s[i] == ':')
			return false;
	return check_hier(s, len, kind);
}

/*
 * RFC 6570 level 4: literals (any character but controls, space and
 * "\"'%<>\\^`{|}", or a percent-encoding) and expressions "{" [operator]
 * varspec *("," varspec) "}", a varspec being a name of ALPHA, DIGIT, "_"
 * and percent-encodings, dots between them, then ":" and a length of 1 to
 * 9999 or "*".
 */
static bool
check_uri_template(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			if (!pct_encoded(s, len, &i))
				return false;
			continue;
		}
		if (c != '{') {
			if (c <= 0x20 || c == 0x7f || strchr("\"'<>\\^`|}", c) != NULL)
				return false;
			i++;
			continue;
		}
		if (++i < len && s[i] != '\0' && strchr("+#./;?&=,!@|", s[i]) != NULL)
			i++;
		for (;;) {
			size_t start = i;

			while (i < len) {
				if (s[i] == '%') {
					if (!pct_encoded(s, len, &i))
						return false;
				} else if (isalnum((unsigned char)s[i]) || s[i] == '_') {
					i++;
				} else if (s[i] == '.' && i > start && i + 1 < len &&
				    s[i - 1] != '.' && s[i + 1] != '.') {
					i++;
				} else {
					break;
				}
			}
			if (i == start || s[i - 1] == '.')
				return false;
			if (i < len && s[i] == '*') {
				i++;
			} else if (i < len && s[i] == ':') {
				size_t d = ++i;

				while (i < len && isdigit((unsigned char)s[i]) && i - d < 4)
					i++;
				if (i == d || s[d] == '0')
					return false;
			}
			if (i < len && s[i] == ',') {
				i++;
				continue;
			}
			if (i < len && s[i] == '}') {
				i++;
				break;
			}
			return false;
		}
	}
	return true;
}

static bool
check_json_pointer(const char *s, size_t len)
{
	if (len > 0 && s[0] != '/')
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '~' && (i + 1 >= len || (s[i + 1] != '0' &&
		    s[i + 1] != '1')))
			return false;
	return true;
}

static bool
check_relative_json_pointer(const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && isdigit((unsigned char)s[i]))
		i++;
	if (i == 0 || (s[0] == '0' && i > 1))
		return false;
	return (i == len - 1 && s[i] == '#') ||
	    check_json_pointer(s + i, len - i);
}

bool
sch_format_check(int format, const char *s, size_t len)
{
	size_t i = 0;

	switch ((enum sch_format)format) {
	case SCH_F_DATE_TIME:
		return check_date_time(s, len);
	case SCH_F_DATE:
		return parse_date(s, len, &i) && i == len;
	case SCH_F_TIME:
		return parse_time(s, len, &i) && i == len;
	case SCH_F_EMAIL:
		return check_email(s, len);
	case SCH_F_HOSTNAME:
		return check_hostname(s, len);
	case SCH_F_IPV4:
		return check_ipv4(s, len);
	case SCH_F_IPV6:
		return check_ipv6(s, len);
	case SCH_F_URI:
		return check_uri(s, len, URI_ASCII);
	case SCH_F_URI_REFERENCE:
		return check_uri_reference(s, len, URI_ASCII);
	case SCH_F_IRI:
		return check_uri(s, len, URI_IRI);
	case SCH_F_IRI_REFERENCE:
		return check_uri_reference(s, len, URI_IRI);
	case SCH_F_URI_TEMPLATE:
		return check_uri_template(s, len);
	case SCH_F_UUID:
		return check_uuid(s, len);
	case SCH_F_REGEX:
		return sch_regex_is_valid(s, len);
	case SCH_F_JSON_POINTER:
		return check_json_pointer(s, len);
	case SCH_F_RELATIVE_JSON_POINTER:
		return check_relative_json_pointer(s, len);
	case SCH_F_UNKNOWN:
		return true;
	}
	return true;
}
