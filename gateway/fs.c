/*
 * The scoped file built-ins: builtin:fs.read, fs.write, fs.list, fs.stat
 * and fs.open.
 *
 * Why this is safe for an untrusted requester: the gateway, not the
 * requester and not a string comparison, decides what a path names. Each
 * channel's scope root is opened once, when the gateway starts, as an
 * O_PATH directory fd; every path is then resolved from that fd by the
 * kernel with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 * RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV), which refuses absolute paths,
 * any ".." that would leave the root, every symlink (including one swapped
 * in while the call runs: the kernel checks each component as it walks it),
 * procfs magic links such as /proc/self/root, and any mount point below
 * the root (a /proc or a bind mount someone placed in the tree). Before that, a path with a NUL
 * byte, a component over NAME_MAX or a length over PATH_MAX is refused
 * outright. What is opened must be a regular file (or, for fs.list, a
 * directory): it is first opened O_PATH and inspected, then reopened with
 * O_NONBLOCK|O_NOCTTY and checked to be the same inode, so a FIFO, a
 * device or a socket in the tree is never opened for I/O (a FIFO would
 * block the gateway). Sizes are bounded by the scope's max_bytes before
 * anything is read; writing needs "write": true in the scope; an fd is
 * attached to a reply only where the policy declares it (fs.open, or
 * "fds": true for fs.read), read-only unless the scope allows writing.
 * fs.read's fd is a sealed memfd copy, so the requester can neither write
 * through it nor change the file's attributes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/util.h"
#include "gateway/gateway.h"
#include "gateway/handlers.h"

#define FS_DEFAULT_MAX_BYTES (1024u * 1024u)
#define FS_LIST_MAX 1024
#define FS_INLINE_MAX (CG_FRAME_MAX / 2)  /* base64 and JSON must fit a frame */
#define FS_RESOLVE_TRIES 32

struct fs_scope {
	int dirfd;
	uint64_t max_bytes;
	bool write;
	bool fds;
};

static void
scope_of(const struct cg_call *call, struct fs_scope *s)
{
	const struct cg_channel *ch = call->channel;
	json_t *mb = json_object_get(ch->scope, "max_bytes");

	s->dirfd = call->gw->scope_fds[ch - call->gw->policy->channels];
	s->max_bytes = mb ? (uint64_t)json_integer_value(mb) : FS_DEFAULT_MAX_BYTES;
	s->write = json_is_true(json_object_get(ch->scope, "write"));
	s->fds = json_is_true(json_object_get(ch->scope, "fds"));
}

static void
fail(struct cg_result *res, enum cg_status st, const char *reason)
{
	res->status = st;
	res->reason = reason;
}

/* The path member, checked before the kernel sees it: a string without
 * NUL bytes, not longer than PATH_MAX, no component longer than NAME_MAX. */
static const char *
arg_path(const struct cg_call *call, struct cg_result *res, const char *dflt)
{
	json_t *v = json_object_get(call->args, "path");
	const char *p;
	size_t len, comp = 0;

	if (v == NULL && dflt != NULL)
		return dflt;
	if (!json_is_string(v)) {
		fail(res, CG_STATUS_INVALID, "path-missing");
		return NULL;
	}
	p = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len != strlen(p) || len >= PATH_MAX) {
		fail(res, CG_STATUS_DENIED, "bad-path");
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		comp = p[i] == '/' ? 0 : comp + 1;
		if (comp > NAME_MAX) {
			fail(res, CG_STATUS_DENIED, "name-too-long");
			return NULL;
		}
	}
	return p;
}

/*
 * openat2 beneath dirfd. The kernel answers EAGAIN when a rename anywhere
 * raced with a ".." it walked and it cannot prove the walk stayed beneath
 * the root; that is retried a bounded number of times and then reported as
 * an escape (fail closed).
 */
static int
resolve(int dirfd, const char *path, uint64_t flags, uint64_t mode)
{
	struct open_how how = { 0 };
	int tries = 0;
	long fd;

	how.flags = flags | O_CLOEXEC;
	how.mode = flags & O_CREAT ? mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
	do
		fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR ||
	    (errno == EAGAIN && ++tries < FS_RESOLVE_TRIES)));
	if (fd < 0 && errno == EAGAIN)
		errno = EXDEV;
	return (int)fd;
}

/* The audit reason for a failed resolution, and what the client sees. */
static void
fail_errno(struct cg_result *res, int e)
{
	switch (e) {
	case EXDEV:
		fail(res, CG_STATUS_DENIED, "scope-escape");
		break;
	case ELOOP:
		fail(res, CG_STATUS_DENIED, "symlink");
		break;
	case ENAMETOOLONG:
		fail(res, CG_STATUS_DENIED, "name-too-long");
		break;
	case ENOENT:
	case ENOTDIR:
		fail(res, CG_STATUS_FAILED, "not-found");
		break;
	case EACCES:
	case EPERM:
	case EROFS:
		fail(res, CG_STATUS_DENIED, "permission");
		break;
	default:
		fail(res, CG_STATUS_FAILED, "io-error");
		break;
	}
}

/*
 * Opens path beneath the scope for I/O with flags (O_RDONLY, O_RDWR, ...),
 * only if it is a regular file (or, with want_dir, a directory). Returns
 * the fd with *st filled, or -1 with res failed.
 */
static int
scope_open(const struct fs_scope *s, const char *path, int flags, bool want_dir,
    struct stat *st, struct cg_result *res)
{
	struct stat pre;
	bool existed = false;
	int fd = resolve(s->dirfd, path, O_PATH, 0);

	if (fd >= 0) {
		existed = fstat(fd, &pre) == 0;
		close(fd);
		if (!existed || (want_dir ? !S_ISDIR(pre.st_mode) :
		    !S_ISREG(pre.st_mode))) {
			fail(res, CG_STATUS_DENIED, want_dir ? "not-a-directory" :
			    "not-a-file");
			return -1;
		}
	} else if (errno != ENOENT || !(flags & O_CREAT)) {
		fail_errno(res, errno);
		return -1;
	}
	fd = resolve(s->dirfd, path, (uint64_t)flags | O_NOCTTY | O_NONBLOCK |
	    O_NOFOLLOW | (want_dir ? O_DIRECTORY : 0), 0600);
	if (fd < 0) {
		fail_errno(res, errno);
		return -1;
	}
	if (fstat(fd, st) != 0 || (want_dir ? !S_ISDIR(st->st_mode) :
	    !S_ISREG(st->st_mode)) || (existed && (st->st_dev != pre.st_dev ||
	    st->st_ino != pre.st_ino))) {
		close(fd);
		fail(res, CG_STATUS_DENIED, "changed-during-call");
		return -1;
	}
	return fd;
}

/* A sealed memfd holding the first len bytes of fd: the requester gets
 * the data, not the file. */
static int
sealed_copy(int fd, uint64_t len)
{
	int m = memfd_create("capgate-read", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	off_t off = 0;

	if (m < 0)
		return -1;
	while ((uint64_t)off < len) {
		ssize_t n = sendfile(m, fd, &off, len - (uint64_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	if (ftruncate(m, off) != 0 || lseek(m, 0, SEEK_SET) != 0 ||
	    fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	    F_SEAL_SEAL) != 0) {
		close(m);
		return -1;
	}
	return m;
}

/* Text that is UTF-8 travels as "data", anything else as "base64". */
static json_t *
inline_content(const unsigned char *buf, size_t n)
{
	json_t *text = json_stringn((const char *)buf, n);
	size_t b64len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *b64;
	json_t *out;

	if (text != NULL && memchr(buf, 0, n) == NULL)
		return json_pack("{s:o,s:I}", "data", text, "size", (json_int_t)n);
	json_decref(text);
	if ((b64 = malloc(b64len)) == NULL)
		return NULL;
	sodium_bin2base64(b64, b64len, buf, n, sodium_base64_VARIANT_ORIGINAL);
	out = json_pack("{s:s,s:I}", "base64", b64, "size", (json_int_t)n);
	free(b64);
	return out;
}

static void
read_inline(int fd, uint64_t size, struct cg_result *res)
{
	unsigned char *buf;
	ssize_t n;

	if (size > FS_INLINE_MAX) {
		fail(res, CG_STATUS_DENIED, "too-big-for-a-frame");
		return;
	}
	if ((buf = malloc(size + 1)) == NULL) {
		fail(res, CG_STATUS_FAILED, "out-of-memory");
		return;
	}
	n = cg_read_full(fd, buf, size);
	if (n < 0 || (res->data = inline_content(buf, (size_t)n)) == NULL)
		fail(res, CG_STATUS_FAILED, "io-error");
	free(buf);
}

static void
run_read(const struct cg_call *call, struct cg_result *res)
{
	struct fs_scope s;
	struct stat st;
	const char *path;
	bool want_fd = json_is_true(json_object_get(call->args, "fd"));
	int fd, m;

	scope_of(call, &s);
	if ((path = arg_path(call, res, NULL)) == NULL)
		return;
	if (want_fd && !s.fds) {
		fail(res, CG_STATUS_DENIED, "fd-not-declared");
		return;
	}
	if ((fd = scope_open(&s, path, O_RDONLY, false, &st, res)) < 0)
		return;
	if ((uint64_t)st.st_size > s.max_bytes) {
		fail(res, CG_STATUS_DENIED, "too-big");
	} else if (!want_fd) {
		read_inline(fd, (uint64_t)st.st_size, res);
	} else if ((m = sealed_copy(fd, (uint64_t)st.st_size)) < 0) {
		fail(res, CG_STATUS_FAILED, "memfd");
	} else {
		res->fds[0] = m;
		res->nfds = 1;
		res->data = json_pack("{s:I,s:i}", "size", (json_int_t)st.st_size,
		    "fd", 0);
	}
	close(fd);
}

static void
run_write(const struct cg_call *call, struct cg_result *res)
{
	json_t *data = json_object_get(call->args, "data");
	bool append = json_is_true(json_object_get(call->args, "append"));
	struct fs_scope s;
	struct stat st;
	const char *path;
	size_t len;
	int fd;

	scope_of(call, &s);
	if ((path = arg_path(call, res, NULL)) == NULL)
		return;
	if (!s.write) {
		fail(res, CG_STATUS_DENIED, "read-only-scope");
		return;
	}
	if (!json_is_string(data)) {
		fail(res, CG_STATUS_INVALID, "data-missing");
		return;
	}
	len = json_string_length(data);
	if (len > s.max_bytes) {
		fail(res, CG_STATUS_DENIED, "too-big");
		return;
	}
	fd = scope_open(&s, path, O_WRONLY | O_CREAT | (append ? O_APPEND : 0),
	    false, &st, res);
	if (fd < 0)
		return;
	if (append && (uint64_t)st.st_size + len > s.max_bytes)
		fail(res, CG_STATUS_DENIED, "too-big");
	else if ((!append && ftruncate(fd, 0) != 0) ||
	    cg_write_full(fd, json_string_value(data), len) != (ssize_t)len)
		fail(res, CG_STATUS_FAILED, "io-error");
	else
		res->data = json_pack("{s:I}", "written", (json_int_t)len);
	close(fd);
}

static const char *
type_name(mode_t m)
{
	return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink" :
	    "other";
}

static void
run_stat(const struct cg_call *call, struct cg_result *res)
{
	struct fs_scope s;
	struct stat st;
	const char *path;
	int fd;

	scope_of(call, &s);
	if ((path = arg_path(call, res, NULL)) == NULL)
		return;
	fd = resolve(s.dirfd, path, O_PATH | O_NOFOLLOW, 0);
	if (fd < 0) {
		fail_errno(res, errno);
		return;
	}
	if (fstat(fd, &st) != 0)
		fail(res, CG_STATUS_FAILED, "io-error");
	else
		res->data = json_pack("{s:s,s:I,s:I}", "type", type_name(st.st_mode),
		    "size", (json_int_t)st.st_size, "mtime_ms",
		    (json_int_t)st.st_mtim.tv_sec * 1000 +
		    st.st_mtim.tv_nsec / 1000000);
	close(fd);
}

static json_t *
list_entries(DIR *d, int dfd, bool *truncated)
{
	json_t *arr = json_array();
	struct dirent *e;
	struct stat st;

	while (arr != NULL && (e = readdir(d)) != NULL) {
		json_t *name;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (json_array_size(arr) == FS_LIST_MAX) {
			*truncated = true;
			break;
		}
		/* Names that are not UTF-8 cannot be JSON strings: left out. */
		if ((name = json_string(e->d_name)) == NULL)
			continue;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			st.st_mode = 0, st.st_size = 0;
		json_array_append_new(arr, json_pack("{s:o,s:s,s:I}", "name", name,
		    "type", type_name(st.st_mode), "size", (json_int_t)st.st_size));
	}
	return arr;
}

static void
run_list(const struct cg_call *call, struct cg_result *res)
{
	struct fs_scope s;
	struct stat st;
	bool truncated = false;
	const char *path;
	json_t *arr;
	DIR *d;
	int fd;

	scope_of(call, &s);
	if ((path = arg_path(call, res, ".")) == NULL)
		return;
	if ((fd = scope_open(&s, path, O_RDONLY, true, &st, res)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		fail(res, CG_STATUS_FAILED, "io-error");
		return;
	}
	arr = list_entries(d, dirfd(d), &truncated);
	closedir(d);
	if (arr == NULL)
		fail(res, CG_STATUS_FAILED, "out-of-memory");
	else
		res->data = json_pack("{s:o,s:b}", "entries", arr, "truncated",
		    truncated);
}

static void
run_open(const struct cg_call *call, struct cg_result *res)
{
	bool want_write = json_is_true(json_object_get(call->args, "write"));
	bool create = json_is_true(json_object_get(call->args, "create"));
	struct fs_scope s;
	struct stat st;
	const char *path;
	int fd;

	scope_of(call, &s);
	if ((path = arg_path(call, res, NULL)) == NULL)
		return;
	if ((want_write || create) && !s.write) {
		fail(res, CG_STATUS_DENIED, "read-only-scope");
		return;
	}
	fd = scope_open(&s, path, (want_write ? O_RDWR : O_RDONLY) |
	    (create ? O_CREAT : 0), false, &st, res);
	if (fd < 0)
		return;
	if ((uint64_t)st.st_size > s.max_bytes) {
		close(fd);
		fail(res, CG_STATUS_DENIED, "too-big");
		return;
	}
	/* Blocking I/O is the requester's business once it holds the fd. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	res->fds[0] = fd;
	res->nfds = 1;
	res->data = json_pack("{s:I,s:b,s:i}", "size", (json_int_t)st.st_size,
	    "write", want_write, "fd", 0);
}

/* At policy load: the scope is an object naming a root, with known keys. */
static int
fs_check(const struct cg_channel *ch, struct cg_error *err)
{
	static const char *const keys[] = { "root", "max_bytes", "write", "fds",
	    NULL };
	json_t *v, *mb;
	const char *key;

	if (ch->scope == NULL || ch->scope_root == NULL)
		return cg_error_set(err, "%s needs \"scope\": {\"root\": DIR, ...}",
		    ch->handler);
	json_object_foreach(ch->scope, key, v) {
		size_t i;
		for (i = 0; keys[i] != NULL && strcmp(keys[i], key) != 0; i++)
			;
		if (keys[i] == NULL)
			return cg_error_set(err, "unknown scope key \"%s\" (expected "
			    "root, max_bytes, write, fds)", key);
	}
	mb = json_object_get(ch->scope, "max_bytes");
	if (mb != NULL && (!json_is_integer(mb) || json_integer_value(mb) < 0 ||
	    json_integer_value(mb) > (json_int_t)1 << 40))
		return cg_error_set(err, "\"max_bytes\" must be an integer from 0 "
		    "to 2^40");
	if ((v = json_object_get(ch->scope, "write")) != NULL && !json_is_boolean(v))
		return cg_error_set(err, "\"write\" must be true or false");
	if ((v = json_object_get(ch->scope, "fds")) != NULL && !json_is_boolean(v))
		return cg_error_set(err, "\"fds\" must be true or false");
	return 0;
}

int
fs_open_scopes(struct cg_gateway *gw, struct cg_error *err)
{
	const struct cg_policy *p = gw->policy;

	gw->scope_fds = malloc((p->nchannels + 1) * sizeof(*gw->scope_fds));
	if (gw->scope_fds == NULL)
		return cg_error_set(err, "out of memory");
	/* every entry is -1 before any root is opened: on an error below,
	 * fs_close_scopes() closes what was opened and nothing else */
	for (size_t i = 0; i < p->nchannels; i++)
		gw->scope_fds[i] = -1;
	for (size_t i = 0; i < p->nchannels; i++) {
		const struct cg_channel *ch = &p->channels[i];
		if (ch->route != CG_ROUTE_BUILTIN ||
		    strncmp(ch->handler, "builtin:fs.", 11) != 0)
			continue;
		gw->scope_fds[i] = open(ch->scope_root, O_PATH | O_DIRECTORY |
		    O_CLOEXEC);
		if (gw->scope_fds[i] < 0)
			return cg_error_set(err, "channel %s: cannot open scope root "
			    "%s: %s", ch->name, ch->scope_root, strerror(errno));
	}
	return 0;
}

void
fs_close_scopes(struct cg_gateway *gw)
{
	if (gw->scope_fds == NULL || gw->policy == NULL)
		return;
	for (size_t i = 0; i < gw->policy->nchannels; i++)
		if (gw->scope_fds[i] >= 0)
			close(gw->scope_fds[i]);
	free(gw->scope_fds);
	gw->scope_fds = NULL;
}

const struct cg_handler fs_handlers[FS_HANDLERS] = {
	{ "builtin:fs.read", CG_KIND_BIT(CG_CHAN_INVOKE), fs_check, run_read },
	{ "builtin:fs.write", CG_KIND_BIT(CG_CHAN_INVOKE), fs_check, run_write },
	{ "builtin:fs.list", CG_KIND_BIT(CG_CHAN_INVOKE), fs_check, run_list },
	{ "builtin:fs.stat", CG_KIND_BIT(CG_CHAN_INVOKE), fs_check, run_stat },
	{ "builtin:fs.open", CG_KIND_BIT(CG_CHAN_INVOKE), fs_check, run_open },
};
