/*
 * Path lookups for one prepare, each asked of the kernel once.
 *
 * The ELF walk resolves every file it opens (realpath), the library search
 * stats candidates, and the view resolves every granted path component by
 * component. They ask about the same prefixes again and again (/usr,
 * /usr/lib, /lib -> usr/lib): for node, 226 lstat/readlink/stat calls of
 * 74 distinct paths, each a path walk from / in the kernel. The cache
 * keeps each answer (a stat, an errno, a link's target) for the prepare
 * that owns it and is freed with it, so a path changed on the host during
 * one prepare is seen by the next one; within one prepare the answers are
 * as old as a single walk's would be.
 *
 * sandbox_lookup_realpath() follows realpath(3): symlinks, "." and ".."
 * resolved on the physical path, every component must exist, a trailing
 * "/" requires a directory, at most LOOKUP_MAX_LINKS links (ELOOP).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/internal.h"

#define LOOKUP_MAX_LINKS 40

struct cg_lookup_entry {
	char *path;
	uint64_t hash;
	int err;                /* 0, or lstat's errno */
	struct stat st;
	char *target;           /* a link's target, once read */
	int target_err;
};

#define HASH_EMPTY 1469598103934665603ull    /* FNV-1a of "" */

/* FNV-1a, continued: hash_more(hash of "a", "/b") is the hash of "a/b". */
static uint64_t
hash_more(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* The index slot for hash h: empty (0) or holding path (entry + 1). The
 * index has twice as many slots as entries can fill, a power of two. */
static uint32_t *
slot(struct cg_lookup *c, const char *path, uint64_t h)
{
	size_t mask = c->cap * 2 - 1;

	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint32_t k = c->index[i];

		if (k == 0 || (c->v[k - 1].hash == h && strcmp(c->v[k - 1].path, path) == 0))
			return &c->index[i];
	}
}

static int
grow(struct cg_lookup *c)
{
	size_t cap = c->cap != 0 ? c->cap * 2 : 64;
	struct cg_lookup_entry *v = realloc(c->v, cap * sizeof(*v));
	uint32_t *index;

	if (v == NULL)
		return -1;
	c->v = v;
	index = calloc(cap * 2, sizeof(*index));
	if (index == NULL)
		return -1;
	free(c->index);
	c->index = index;
	c->cap = cap;
	for (size_t i = 0; i < c->n; i++)
		*slot(c, c->v[i].path, c->v[i].hash) = (uint32_t)i + 1;
	return 0;
}

/* The entry for path (whose hash is h), asking the kernel the first time;
 * NULL: no memory. */
static struct cg_lookup_entry *
entry_hashed(struct cg_lookup *c, const char *path, uint64_t h)
{
	struct cg_lookup_entry *e;
	uint32_t *k;

	if (c->n == c->cap && grow(c) != 0)
		return NULL;
	k = slot(c, path, h);
	if (*k != 0)
		return &c->v[*k - 1];
	e = &c->v[c->n];
	memset(e, 0, sizeof(*e));
	e->path = strdup(path);
	if (e->path == NULL)
		return NULL;
	e->hash = h;
	e->err = lstat(path, &e->st) == 0 ? 0 : errno;
	*k = (uint32_t)++c->n;
	return e;
}

static struct cg_lookup_entry *
entry(struct cg_lookup *c, const char *path)
{
	return entry_hashed(c, path, hash_more(HASH_EMPTY, path, strlen(path)));
}

static int
lstat_entry(struct cg_lookup_entry *e, struct stat *st)
{
	if (e == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (e->err != 0) {
		errno = e->err;
		return -1;
	}
	*st = e->st;
	return 0;
}

int
sandbox_lookup_lstat(struct cg_lookup *c, const char *path, struct stat *st)
{
	return lstat_entry(entry(c, path), st);
}

/* The target of the link e names, read the first time it is asked for. */
static const char *
entry_link(struct cg_lookup_entry *e)
{
	char buf[PATH_MAX];
	ssize_t n;

	if (e == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (e->err != 0 || !S_ISLNK(e->st.st_mode)) {
		errno = e->err != 0 ? e->err : EINVAL;
		return NULL;
	}
	if (e->target == NULL && e->target_err == 0) {
		n = readlink(e->path, buf, sizeof(buf) - 1);
		if (n < 0) {
			e->target_err = errno;
		} else {
			buf[n] = '\0';
			e->target = strdup(buf);
			if (e->target == NULL) {
				errno = ENOMEM;
				return NULL;
			}
		}
	}
	if (e->target == NULL)
		errno = e->target_err;
	return e->target;
}

const char *
sandbox_lookup_link(struct cg_lookup *c, const char *path)
{
	return entry_link(entry(c, path));
}

/* On failure: errno set, and out names where the walk stopped. */
static int
walk_fail(int e, const char *cur, char *out, size_t outlen)
{
	if (outlen > 0)
		snprintf(out, outlen, "%s", cur[0] != '\0' ? cur : "/");
	errno = e;
	return -1;
}

int
sandbox_lookup_walk(struct cg_lookup *c, const char *path, char *out,
    size_t outlen, struct stat *st, cg_lookup_visit visit, void *ctx)
{
	char cur[PATH_MAX] = "", rest[PATH_MAX], joined[PATH_MAX];
	size_t len = 0;         /* of cur, the resolved prefix ("" is /) */
	uint64_t h = HASH_EMPTY, hnext;  /* cur's hash, carried along */
	struct cg_lookup_entry *e;
	const char *p;
	int links = 0;

	if (path == NULL || path[0] == '\0')
		return walk_fail(path == NULL ? EINVAL : ENOENT, "", out, outlen);
	if (path[0] != '/') {
		if (getcwd(cur, sizeof(cur)) == NULL)
			return walk_fail(errno, "", out, outlen);
		len = strcmp(cur, "/") == 0 ? 0 : strlen(cur);
		cur[len] = '\0';
		h = hash_more(HASH_EMPTY, cur, len);
	}
	if (strlen(path) >= sizeof(rest))
		return walk_fail(ENAMETOOLONG, path, out, outlen);
	memcpy(rest, path, strlen(path) + 1);
	p = rest;
	for (;;) {
		size_t n;

		p += strspn(p, "/");
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 1 && p[0] == '.') {
			p += n;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			while (len > 0 && cur[len - 1] != '/')
				len--;
			if (len > 0)
				len--;
			cur[len] = '\0';
			h = hash_more(HASH_EMPTY, cur, len);
			p += n;
			continue;
		}
		if (len + 1 + n >= sizeof(cur))
			return walk_fail(ENAMETOOLONG, cur, out, outlen);
		cur[len] = '/';
		memcpy(cur + len + 1, p, n);
		cur[len + 1 + n] = '\0';
		hnext = hash_more(h, cur + len, 1 + n);
		p += n;
		e = entry_hashed(c, cur, hnext);
		if (lstat_entry(e, st) != 0)
			return walk_fail(errno, cur, out, outlen);
		if (S_ISLNK(st->st_mode)) {
			const char *target = entry_link(e);
			size_t tlen;

			if (target == NULL)
				return walk_fail(errno, cur, out, outlen);
			if (++links > LOOKUP_MAX_LINKS)
				return walk_fail(ELOOP, cur, out, outlen);
			if (visit != NULL && visit(ctx, cur, target) != 0)
				return walk_fail(ECANCELED, cur, out, outlen);
			tlen = strlen(target);
			if (tlen + strlen(p) + 1 > sizeof(joined))
				return walk_fail(ENAMETOOLONG, cur, out, outlen);
			memcpy(joined, target, tlen);
			memcpy(joined + tlen, p, strlen(p) + 1);
			memcpy(rest, joined, tlen + strlen(p) + 1);
			p = rest;
			/* the link's directory, or / for an absolute target */
			if (target[0] == '/') {
				len = 0;
				h = HASH_EMPTY;
			}
			cur[len] = '\0';
			continue;
		}
		/* Followed by anything, a trailing "/" included: a directory. */
		if (*p != '\0') {
			if (!S_ISDIR(st->st_mode))
				return walk_fail(ENOTDIR, cur, out, outlen);
			if (visit != NULL && visit(ctx, cur, NULL) != 0)
				return walk_fail(ECANCELED, cur, out, outlen);
		}
		len += 1 + n;
		h = hnext;
	}
	if (len == 0) {
		if (lstat_entry(entry_hashed(c, "/", hash_more(HASH_EMPTY, "/", 1)), st) != 0)
			return walk_fail(errno, "/", out, outlen);
		cur[0] = '/';
		cur[1] = '\0';
		len = 1;
	}
	if (len >= outlen)
		return walk_fail(ENAMETOOLONG, "", out, 0);
	memcpy(out, cur, len + 1);
	return 0;
}

int
sandbox_lookup_realpath(struct cg_lookup *c, const char *path, char *out,
    size_t outlen)
{
	struct stat st;

	return sandbox_lookup_walk(c, path, out, outlen, &st, NULL, NULL);
}

/* stat(2): the walk follows a final link too, and ends on its lstat. */
int
sandbox_lookup_stat(struct cg_lookup *c, const char *path, struct stat *st)
{
	char real[PATH_MAX];

	return sandbox_lookup_walk(c, path, real, sizeof(real), st, NULL, NULL);
}

void
sandbox_lookup_free(struct cg_lookup *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].path);
		free(c->v[i].target);
	}
	free(c->v);
	free(c->index);
	c->v = NULL;
	c->index = NULL;
	c->n = c->cap = 0;
}
