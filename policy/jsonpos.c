/* TEMPORARY minimal index, replaced by the schema branch's jsonpos.c. */
#include "policy/jsonpos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry { char *ptr; int line, col; };
struct cg_jsonpos { struct entry *e; size_t n, cap; };
struct scan { const char *s; size_t len, i; int line, col; };

static void adv(struct scan *sc) { if (sc->s[sc->i] == '\n') { sc->line++; sc->col = 1; } else if (((unsigned char)sc->s[sc->i] & 0xc0) != 0x80) sc->col++; sc->i++; }
static void ws(struct scan *sc) { while (sc->i < sc->len && strchr(" \t\r\n", sc->s[sc->i]) && sc->s[sc->i]) adv(sc); }
static int add(struct cg_jsonpos *p, const char *ptr, int line, int col) {
	if (p->n == p->cap) { size_t nc = p->cap ? p->cap * 2 : 64; struct entry *ne = realloc(p->e, nc * sizeof(*ne)); if (!ne) return -1; p->e = ne; p->cap = nc; }
	p->e[p->n].ptr = strdup(ptr); if (!p->e[p->n].ptr) return -1;
	p->e[p->n].line = line; p->e[p->n].col = col; p->n++; return 0;
}
static int str(struct scan *sc, char *out, size_t outlen) {
	size_t o = 0; adv(sc);
	while (sc->i < sc->len && sc->s[sc->i] != '"') {
		char ch = sc->s[sc->i];
		if (ch == '\\') { adv(sc); ch = sc->s[sc->i]; if (ch == 'n') ch = '\n'; else if (ch == 't') ch = '\t'; else if (ch == 'u') { ch = '?'; for (int k = 0; k < 4; k++) adv(sc); } }
		if (out && o + 3 < outlen) { if (ch == '~') { out[o++] = '~'; out[o++] = '0'; } else if (ch == '/') { out[o++] = '~'; out[o++] = '1'; } else out[o++] = ch; }
		adv(sc);
	}
	if (out) out[o] = 0;
	if (sc->i < sc->len) adv(sc);
	return 0;
}
static int value(struct cg_jsonpos *p, struct scan *sc, char *ptr, size_t plen, int depth) {
	ws(sc); if (sc->i >= sc->len || depth > 512) return -1;
	if (add(p, ptr, sc->line, sc->col) != 0) return -1;
	char c = sc->s[sc->i]; size_t base = strlen(ptr);
	if (c == '{') { adv(sc); ws(sc);
		while (sc->i < sc->len && sc->s[sc->i] != '}') {
			char key[512]; ws(sc); str(sc, key, sizeof(key)); ws(sc); adv(sc);
			if (base + strlen(key) + 2 < plen) { ptr[base] = '/'; strcpy(ptr + base + 1, key); }
			if (value(p, sc, ptr, plen, depth + 1) != 0) return -1;
			ptr[base] = 0; ws(sc); if (sc->i < sc->len && sc->s[sc->i] == ',') adv(sc); ws(sc);
		}
		if (sc->i < sc->len) adv(sc);
	} else if (c == '[') { adv(sc); ws(sc); size_t idx = 0;
		while (sc->i < sc->len && sc->s[sc->i] != ']') {
			char num[32]; int k = snprintf(num, sizeof(num), "/%zu", idx++);
			if (base + (size_t)k + 1 < plen) strcpy(ptr + base, num);
			if (value(p, sc, ptr, plen, depth + 1) != 0) return -1;
			ptr[base] = 0; ws(sc); if (sc->i < sc->len && sc->s[sc->i] == ',') adv(sc); ws(sc);
		}
		if (sc->i < sc->len) adv(sc);
	} else if (c == '"') { str(sc, NULL, 0); }
	else { while (sc->i < sc->len && !strchr(",]} \t\r\n", sc->s[sc->i])) adv(sc); }
	return 0;
}
struct cg_jsonpos *jsonpos_index(const char *text, size_t len) {
	struct cg_jsonpos *p = calloc(1, sizeof(*p)); struct scan sc = { text, len, 0, 1, 1 }; char ptr[4096] = "";
	if (!p) return NULL;
	if (value(p, &sc, ptr, sizeof(ptr), 0) != 0 && p->n == 0) { jsonpos_free(p); return NULL; }
	return p;
}
int jsonpos_lookup(const struct cg_jsonpos *p, const char *pointer, int *line, int *col) {
	char buf[4096]; strncpy(buf, pointer, sizeof(buf) - 1); buf[sizeof(buf) - 1] = 0;
	for (;;) {
		for (size_t i = 0; i < p->n; i++) if (strcmp(p->e[i].ptr, buf) == 0) { *line = p->e[i].line; *col = p->e[i].col; return 0; }
		char *sl = strrchr(buf, '/'); if (!sl) return -1; *sl = 0;
	}
}
void jsonpos_free(struct cg_jsonpos *p) { if (!p) return; for (size_t i = 0; i < p->n; i++) free(p->e[i].ptr); free(p->e); free(p); }
