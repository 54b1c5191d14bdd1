/*
 * The index is a tree flattened into an array: each entry knows its parent
 * and its key (object member) or index (array element), and a hash table
 * keyed by (parent, key) finds a child. A lookup walks the pointer one
 * segment at a time, so no pointer string is ever built for the whole
 * document; keys are stored once, decoded, in one pool.
 *
 * The scanner is iterative (an explicit stack), so nesting depth costs heap,
 * not C stack.
 */
#include "policy/jsonpos.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JP_NONE UINT32_MAX

struct jp_entry {
	uint32_t parent;
	uint32_t key_off;    /* object member: key in the pool */
	uint32_t key_len;
	uint32_t index;      /* array element: its index */
	int line, col;
	uint8_t kind;        /* 0 scalar, 1 object, 2 array */
	uint64_t hash;       /* of (parent, key or index) */
};

struct cg_jsonpos {
	struct jp_entry *v;
	size_t n, cap;
	char *pool;
	size_t pool_len, pool_cap;
	uint32_t *slots;     /* entry index + 1; 0 empty */
	size_t mask;
};

struct jp_frame {
	uint32_t entry;
	uint32_t count;
};

struct jp_scan {
	const char *s;
	size_t len, pos;
	int line, col;
	struct cg_jsonpos *jp;
	struct jp_frame *stack;
	size_t depth, cap;
	char *key;           /* decoded key of the member being read */
	size_t key_len, key_cap;
};

static uint64_t
jp_hash(uint32_t parent, const char *key, size_t len, uint32_t index,
    bool is_index)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull);

	if (is_index)
		return (h ^ (index + 0x51ull)) * 0xff51afd7ed558ccdull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 31);
}

static bool
entry_matches(const struct cg_jsonpos *jp, const struct jp_entry *e,
    uint64_t h, uint32_t parent, const char *key, size_t len, uint32_t index)
{
	if (e->hash != h || e->parent != parent)
		return false;
	if (jp->v[parent].kind == 2)
		return e->index == index;
	return e->key_len == len && memcmp(jp->pool + e->key_off, key, len) == 0;
}

static size_t
find_slot(const struct cg_jsonpos *jp, uint64_t h, uint32_t parent,
    const char *key, size_t len, uint32_t index)
{
	size_t i = (size_t)h & jp->mask;

	while (jp->slots[i] != 0 && !entry_matches(jp, &jp->v[jp->slots[i] - 1],
	    h, parent, key, len, index))
		i = (i + 1) & jp->mask;
	return i;
}

static int
grow_slots(struct cg_jsonpos *jp)
{
	size_t size = jp->slots == NULL ? 1024 : (jp->mask + 1) * 2;
	uint32_t *old = jp->slots;
	size_t oldsize = old == NULL ? 0 : jp->mask + 1;

	if ((jp->slots = calloc(size, sizeof(*jp->slots))) == NULL) {
		jp->slots = old;
		return -1;
	}
	jp->mask = size - 1;
	for (size_t i = 0; i < oldsize; i++) {
		size_t s;

		if (old[i] == 0)
			continue;
		for (s = (size_t)jp->v[old[i] - 1].hash & jp->mask;
		    jp->slots[s] != 0; s = (s + 1) & jp->mask)
			;
		jp->slots[s] = old[i];
	}
	free(old);
	return 0;
}

static int
pool_add(struct cg_jsonpos *jp, const char *key, size_t len, uint32_t *off)
{
	if (jp->pool_len + len > UINT32_MAX)
		return -1;
	if (jp->pool_len + len > jp->pool_cap) {
		size_t cap = (jp->pool_cap + len) * 2 + 256;
		char *p = realloc(jp->pool, cap);

		if (p == NULL)
			return -1;
		jp->pool = p;
		jp->pool_cap = cap;
	}
	memcpy(jp->pool + jp->pool_len, key, len);
	*off = (uint32_t)jp->pool_len;
	jp->pool_len += len;
	return 0;
}

/* Adds the value starting at the scanner's position as a child of parent. */
static int
add_entry(struct jp_scan *sc, uint32_t parent, uint32_t index, uint8_t kind)
{
	struct cg_jsonpos *jp = sc->jp;
	bool in_array = parent != JP_NONE && jp->v[parent].kind == 2;
	struct jp_entry *e;
	size_t slot;

	if (jp->n == jp->cap) {
		size_t cap = jp->cap ? jp->cap * 2 : 256;
		struct jp_entry *v = realloc(jp->v, cap * sizeof(*v));

		if (v == NULL || jp->n >= UINT32_MAX - 1)
			return -1;
		jp->v = v;
		jp->cap = cap;
	}
	if ((jp->n + 1) * 2 > (jp->slots ? jp->mask + 1 : 0) && grow_slots(jp) < 0)
		return -1;
	e = &jp->v[jp->n];
	memset(e, 0, sizeof(*e));
	e->parent = parent;
	e->index = index;
	e->line = sc->line;
	e->col = sc->col;
	e->kind = kind;
	if (parent != JP_NONE && !in_array &&
	    pool_add(jp, sc->key, sc->key_len, &e->key_off) < 0)
		return -1;
	e->key_len = (uint32_t)sc->key_len;
	e->hash = jp_hash(parent, sc->key, sc->key_len, index, in_array);
	if (parent == JP_NONE) {
		jp->n++;
		return 0;
	}
	/* a later duplicate key replaces the earlier one, as in jansson */
	slot = find_slot(jp, e->hash, parent, sc->key, sc->key_len, index);
	jp->slots[slot] = (uint32_t)jp->n + 1;
	jp->n++;
	return 0;
}

/* --- scanner ------------------------------------------------------------- */

static void
advance(struct jp_scan *sc)
{
	unsigned char c = (unsigned char)sc->s[sc->pos++];

	if (c == '\n') {
		sc->line++;
		sc->col = 1;
	} else if ((c & 0xc0) != 0x80) {
		sc->col++;
	}
}

static void
skip_ws(struct jp_scan *sc)
{
	while (sc->pos < sc->len && (sc->s[sc->pos] == ' ' ||
	    sc->s[sc->pos] == '\t' || sc->s[sc->pos] == '\n' ||
	    sc->s[sc->pos] == '\r'))
		advance(sc);
}

static int
key_put(struct jp_scan *sc, const char *p, size_t n)
{
	if (sc->key_len + n > sc->key_cap) {
		size_t cap = (sc->key_cap + n) * 2 + 64;
		char *k = realloc(sc->key, cap);

		if (k == NULL)
			return -1;
		sc->key = k;
		sc->key_cap = cap;
	}
	memcpy(sc->key + sc->key_len, p, n);
	sc->key_len += n;
	return 0;
}

static int
hex4(const char *s, unsigned *out)
{
	*out = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		unsigned v;

		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = (unsigned)(c - 'A' + 10);
		else
			return -1;
		*out = *out * 16 + v;
	}
	return 0;
}

static int
put_utf8(struct jp_scan *sc, unsigned cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (cp >> 18));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return key_put(sc, b, n);
}

static int
read_escape(struct jp_scan *sc)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *e;
	unsigned cp, lo;
	char c;

	if (sc->pos >= sc->len)
		return -1;
	c = sc->s[sc->pos];
	if (c != 'u') {
		if ((e = strchr(from, c)) == NULL || c == '\0')
			return -1;
		advance(sc);
		return key_put(sc, &to[e - from], 1);
	}
	if (sc->pos + 5 > sc->len || hex4(sc->s + sc->pos + 1, &cp) < 0)
		return -1;
	for (int i = 0; i < 5; i++)
		advance(sc);
	if (cp >= 0xd800 && cp < 0xdc00 && sc->pos + 6 <= sc->len &&
	    sc->s[sc->pos] == '\\' && sc->s[sc->pos + 1] == 'u' &&
	    hex4(sc->s + sc->pos + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
		for (int i = 0; i < 6; i++)
			advance(sc);
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	return put_utf8(sc, cp);
}

/* Reads a string at the scanner's position; decodes it into sc->key when
 * decode is set (object keys), else only skips it. */
static int
read_string(struct jp_scan *sc, bool decode)
{
	sc->key_len = 0;
	if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
		return -1;
	advance(sc);
	while (sc->pos < sc->len && sc->s[sc->pos] != '"') {
		size_t start = sc->pos;

		if (sc->s[sc->pos] == '\\') {
			advance(sc);
			if (!decode) {
				if (sc->pos >= sc->len)
					return -1;
				advance(sc);
			} else if (read_escape(sc) < 0) {
				return -1;
			}
			continue;
		}
		while (sc->pos < sc->len && sc->s[sc->pos] != '"' &&
		    sc->s[sc->pos] != '\\' && sc->s[sc->pos] != '\n')
			advance(sc);
		if (sc->pos < sc->len && sc->s[sc->pos] == '\n')
			return -1;
		if (decode && key_put(sc, sc->s + start, sc->pos - start) < 0)
			return -1;
	}
	if (sc->pos >= sc->len)
		return -1;
	advance(sc);
	return 0;
}

static int
skip_scalar(struct jp_scan *sc)
{
	size_t start = sc->pos;

	if (sc->s[sc->pos] == '"')
		return read_string(sc, false);
	while (sc->pos < sc->len && strchr(",]} \t\r\n", sc->s[sc->pos]) == NULL)
		advance(sc);
	return sc->pos > start ? 0 : -1;
}

static int
push(struct jp_scan *sc, uint32_t entry)
{
	if (sc->depth == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		struct jp_frame *f = realloc(sc->stack, cap * sizeof(*f));

		if (f == NULL)
			return -1;
		sc->stack = f;
		sc->cap = cap;
	}
	sc->stack[sc->depth].entry = entry;
	sc->stack[sc->depth].count = 0;
	sc->depth++;
	return 0;
}

/* Reads `"key" :` of the next member of the innermost object. */
static int
read_member_key(struct jp_scan *sc)
{
	skip_ws(sc);
	if (read_string(sc, true) < 0)
		return -1;
	skip_ws(sc);
	if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
		return -1;
	advance(sc);
	return 0;
}

/* One value: its entry, and for a container, its opening. Returns 1 if
 * the value opened a non-empty container, 0 for a complete value. */
static int
scan_value(struct jp_scan *sc)
{
	uint32_t parent = sc->depth ? sc->stack[sc->depth - 1].entry : JP_NONE;
	uint32_t index = sc->depth ? sc->stack[sc->depth - 1].count : 0;
	char c;

	skip_ws(sc);
	if (sc->pos >= sc->len)
		return -1;
	c = sc->s[sc->pos];
	if (add_entry(sc, parent, index, c == '{' ? 1 : c == '[' ? 2 : 0) < 0)
		return -1;
	if (c != '{' && c != '[')
		return skip_scalar(sc);
	advance(sc);
	skip_ws(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == (c == '{' ? '}' : ']')) {
		advance(sc);
		return 0;
	}
	if (push(sc, (uint32_t)sc->jp->n - 1) < 0)
		return -1;
	if (c == '{' && read_member_key(sc) < 0)
		return -1;
	return 1;
}

/* After a value: a ',' starts the next member, a closer ends containers. */
static int
scan_after(struct jp_scan *sc)
{
	while (sc->depth > 0) {
		struct jp_frame *top = &sc->stack[sc->depth - 1];
		bool is_obj = sc->jp->v[top->entry].kind == 1;
		char c;

		skip_ws(sc);
		if (sc->pos >= sc->len)
			return -1;
		c = sc->s[sc->pos];
		advance(sc);
		if (c == ',') {
			top->count++;
			return is_obj ? read_member_key(sc) : 0;
		}
		if (c != (is_obj ? '}' : ']'))
			return -1;
		sc->depth--;
	}
	return 1;
}

static int
scan(struct jp_scan *sc)
{
	for (;;) {
		int rc = scan_value(sc);

		if (rc < 0)
			return -1;
		if (rc == 1)
			continue;
		rc = scan_after(sc);
		if (rc < 0)
			return -1;
		if (rc == 1)
			return 0;
	}
}

struct cg_jsonpos *
jsonpos_index(const char *text, size_t len)
{
	struct jp_scan sc = { .s = text, .len = len, .line = 1, .col = 1 };
	struct cg_jsonpos *jp = calloc(1, sizeof(*jp));
	int rc;

	if (jp == NULL)
		return NULL;
	sc.jp = jp;
	rc = scan(&sc);
	free(sc.stack);
	free(sc.key);
	if (rc < 0) {
		jsonpos_free(jp);
		return NULL;
	}
	return jp;
}

/* --- lookup -------------------------------------------------------------- */

static bool
parse_index(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/* Child of entry `at` named by one raw pointer segment, or JP_NONE. */
static uint32_t
child(const struct cg_jsonpos *jp, uint32_t at, const char *seg, size_t n,
    char *buf)
{
	size_t len = 0;
	uint32_t index = 0;
	uint64_t h;
	size_t slot;

	for (size_t i = 0; i < n; i++) {
		if (seg[i] == '~' && i + 1 < n && (seg[i + 1] == '0' ||
		    seg[i + 1] == '1')) {
			buf[len++] = seg[++i] == '0' ? '~' : '/';
		} else {
			buf[len++] = seg[i];
		}
	}
	if (jp->v[at].kind == 0)
		return JP_NONE;
	if (jp->v[at].kind == 2) {
		if (!parse_index(buf, len, &index))
			return JP_NONE;
		h = jp_hash(at, NULL, 0, index, true);
	} else {
		h = jp_hash(at, buf, len, 0, false);
	}
	slot = find_slot(jp, h, at, buf, len, index);
	return jp->slots[slot] == 0 ? JP_NONE : jp->slots[slot] - 1;
}

int
jsonpos_lookup(const struct cg_jsonpos *pos, const char *pointer, int *line,
    int *col)
{
	uint32_t at = 0;
	int exact = pointer != NULL && (pointer[0] == '/' || pointer[0] == '\0');
	char *buf;

	if (pos == NULL || pos->n == 0)
		return -1;
	if (exact && pointer[0] == '/' && (buf = malloc(strlen(pointer))) != NULL) {
		const char *p = pointer;

		while (*p == '/') {
			size_t n = strcspn(p + 1, "/");
			uint32_t next = child(pos, at, p + 1, n, buf);

			if (next == JP_NONE) {
				exact = 0;
				break;
			}
			at = next;
			p += 1 + n;
		}
		free(buf);
	} else if (exact && pointer[0] == '/') {
		exact = 0;
	}
	*line = pos->v[at].line;
	*col = pos->v[at].col;
	return exact ? 0 : 1;
}

void
jsonpos_free(struct cg_jsonpos *pos)
{
	if (pos == NULL)
		return;
	free(pos->v);
	free(pos->pool);
	free(pos->slots);
	free(pos);
}
