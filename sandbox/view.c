/*
 * The minimal filesystem view: the client's root is an empty tmpfs into
 * which only what the policy grants (and what the loader needs) is
 * bind-mounted, read-only unless it is a "write" path, plus a /proc of the
 * sandbox's own pid namespace. Landlock already denies opening anything
 * else; the view also hides it from stat() and from connect() to pathname
 * sockets (D-Bus, journald), which Landlock does not cover.
 *
 * The gateway computes the view (view_prepare): every granted path is
 * resolved component by component, so that the symlinks on the way (the
 * merged-/usr links /lib -> usr/lib, a library's soname link) are recreated
 * in the view and the loader finds files by the names it uses. The child
 * only replays the list (sandbox_view_enter), following bubblewrap's
 * sequence: tmpfs on /tmp, pivot into it with the host root at /oldroot,
 * bind from /oldroot into /newroot, drop /oldroot, pivot into /newroot.
 * Nothing is ever created inside a bind mount: mount points under a bound
 * directory already exist on the host, so the host is never written.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/internal.h"

struct view_builder {
	struct cg_path_list dirs, files, links, targets, ro, rw;
	struct cg_lookup *lk;           /* the prepare's lookups (lookup.c) */
	struct cg_error *err;
};

static int
add_link(struct view_builder *b, const char *path, const char *target)
{
	if (sandbox_path_list_has(&b->links, path))
		return 0;
	if (sandbox_path_list_add(&b->links, path) != 0 ||
	    sandbox_path_list_add_dup(&b->targets, target) != 0)
		return cg_error_set(b->err, "out of memory");
	return 0;
}

/* The walk's visitor: the directories it passes and the links it follows
 * are recreated in the view. */
static int
record_step(void *ctx, const char *path, const char *target)
{
	struct view_builder *b = ctx;

	if (target != NULL)
		return add_link(b, path, target);
	if (sandbox_path_list_add(&b->dirs, path) != 0)
		return cg_error_set(b->err, "out of memory");
	return 0;
}

/*
 * Resolves path one component at a time (lookup.c), recording the
 * directories it passes and the symlinks it follows; the resolved path
 * goes to out.
 */
static int
resolve_chain(struct view_builder *b, const char *path, char *out,
    size_t outlen, struct stat *st)
{
	if (sandbox_lookup_walk(b->lk, path, out, outlen, st, record_step, b) == 0)
		return 0;
	if (errno == ECANCELED)
		return -1;      /* record_step said why */
	return cg_error_set(b->err, "view: %s: %s", out, errno == ELOOP ?
	    "too many levels of symbolic links" : strerror(errno));
}

/* A granted path: its chain, then a bind of what it resolves to. */
static int
grant(struct view_builder *b, const char *path, bool rw)
{
	char real[PATH_MAX];
	struct stat st;

	if (resolve_chain(b, path, real, sizeof(real), &st) != 0)
		return -1;
	if (strcmp(real, "/proc") == 0 || strncmp(real, "/proc/", 6) == 0)
		return 0;       /* the view has a /proc of its own */
	if (sandbox_path_list_add(S_ISDIR(st.st_mode) ? &b->dirs : &b->files, real) != 0 ||
	    sandbox_path_list_add(rw ? &b->rw : &b->ro, real) != 0)
		return cg_error_set(b->err, "out of memory");
	return 0;
}

/* Only the chain: a name the loader or the program will use. */
static int
reference(struct view_builder *b, const char *path)
{
	char real[PATH_MAX];
	struct stat st;

	return resolve_chain(b, path, real, sizeof(real), &st);
}

/* The merged-/usr links at the top (/bin, /lib, /lib64, ...). */
static int
top_links(struct view_builder *b)
{
	DIR *d = opendir("/");
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return cg_error_set(b->err, "view: /: %s", strerror(errno));
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char path[NAME_MAX + 2];
		const char *target;

		if (e->d_type != DT_LNK)
			continue;
		snprintf(path, sizeof(path), "/%s", e->d_name);
		target = sandbox_lookup_link(b->lk, path);
		if (target == NULL)
			continue;
		rc = add_link(b, path, target);
	}
	closedir(d);
	return rc;
}

/* Is path strictly below a bind target? Then the host provides it. */
static bool
covered(const struct view_builder *b, const char *path)
{
	const struct cg_path_list *l[2] = { &b->ro, &b->rw };

	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < l[k]->n; i++) {
			size_t n = strlen(l[k]->paths[i]);

			if (strcmp(l[k]->paths[i], "/") == 0 ||
			    (strncmp(path, l[k]->paths[i], n) == 0 && path[n] == '/'))
				return true;
		}
	return false;
}

/* A bind under an ancestor bind of the same kind adds nothing. */
static bool
redundant(const struct cg_path_list *same, const char *path)
{
	for (size_t i = 0; i < same->n; i++) {
		size_t n = strlen(same->paths[i]);

		if (strcmp(same->paths[i], path) != 0 && (strcmp(same->paths[i], "/") == 0 ||
		    (strncmp(path, same->paths[i], n) == 0 && path[n] == '/')))
			return true;
	}
	return false;
}

static int
cmp_op(const void *a, const void *b)
{
	const struct cg_view_op *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (c != 0)
		return c;
	return (int)x->kind - (int)y->kind;
}

static int
push(struct cg_sandbox_plan *plan, enum cg_view_kind kind, const char *path,
    const char *target, struct cg_error *err)
{
	struct cg_view_op *op = &plan->view_ops[plan->n_view_ops];

	op->kind = kind;
	op->path = strdup(path);
	if (asprintf(&op->dst, "/newroot%s", path) < 0)
		op->dst = NULL;
	if (target != NULL)
		op->src = strdup(target);
	else if (asprintf(&op->src, "/oldroot%s", path) < 0)
		op->src = NULL;
	plan->n_view_ops++;
	if (op->path == NULL || op->dst == NULL || op->src == NULL)
		return cg_error_set(err, "out of memory");
	return 0;
}

static int
emit_ops(const struct view_builder *b, struct cg_sandbox_plan *plan, struct cg_error *err)
{
	size_t cap = b->dirs.n + b->files.n + b->links.n + b->ro.n + b->rw.n + 2, first_bind;
	int rc = 0;

	plan->view_ops = calloc(cap, sizeof(*plan->view_ops));
	if (plan->view_ops == NULL)
		return cg_error_set(err, "out of memory");
	rc |= push(plan, CG_VIEW_DIR, "/proc", NULL, err);
	for (size_t i = 0; i < b->dirs.n; i++)
		if (!covered(b, b->dirs.paths[i]))
			rc |= push(plan, CG_VIEW_DIR, b->dirs.paths[i], NULL, err);
	for (size_t i = 0; i < b->files.n; i++)
		if (!covered(b, b->files.paths[i]))
			rc |= push(plan, CG_VIEW_FILE, b->files.paths[i], NULL, err);
	for (size_t i = 0; i < b->links.n; i++)
		if (!covered(b, b->links.paths[i]))
			rc |= push(plan, CG_VIEW_LINK, b->links.paths[i], b->targets.paths[i], err);
	/* Structure first, parents before children; then binds likewise. */
	qsort(plan->view_ops, plan->n_view_ops, sizeof(*plan->view_ops), cmp_op);
	first_bind = plan->n_view_ops;
	for (size_t i = 0; i < b->ro.n; i++)
		if (!redundant(&b->ro, b->ro.paths[i]) && !sandbox_path_list_has(&b->rw, b->ro.paths[i]))
			rc |= push(plan, CG_VIEW_BIND_RO, b->ro.paths[i], NULL, err);
	for (size_t i = 0; i < b->rw.n; i++)
		if (!redundant(&b->rw, b->rw.paths[i]))
			rc |= push(plan, CG_VIEW_BIND_RW, b->rw.paths[i], NULL, err);
	qsort(plan->view_ops + first_bind, plan->n_view_ops - first_bind,
	    sizeof(*plan->view_ops), cmp_op);
	return rc;
}

static void
builder_free(struct view_builder *b)
{
	sandbox_path_list_free(&b->dirs);
	sandbox_path_list_free(&b->files);
	sandbox_path_list_free(&b->links);
	sandbox_path_list_free(&b->targets);
	sandbox_path_list_free(&b->ro);
	sandbox_path_list_free(&b->rw);
}

int
sandbox_view_prepare(const struct cg_sandbox_config *cfg,
    struct cg_sandbox_plan *plan, struct cg_lookup *lk, struct cg_error *err)
{
	struct view_builder b = { .lk = lk, .err = err };
	int rc = top_links(&b);

	for (size_t i = 0; rc == 0 && i < plan->implicit.n; i++)
		rc = grant(&b, plan->implicit.paths[i], false);
	for (size_t i = 0; rc == 0 && i < plan->refs.n; i++)
		rc = reference(&b, plan->refs.paths[i]);
	for (size_t i = 0; rc == 0 && i < cfg->read.n; i++)
		rc = grant(&b, cfg->read.paths[i], false);
	for (size_t i = 0; rc == 0 && i < cfg->exec.n; i++)
		rc = grant(&b, cfg->exec.paths[i], false);
	for (size_t i = 0; rc == 0 && i < cfg->write.n; i++)
		rc = grant(&b, cfg->write.paths[i], true);
	if (rc == 0)
		rc = grant(&b, "/dev/null", true);
	if (rc == 0)
		rc = emit_ops(&b, plan, err);
	builder_free(&b);
	if (rc == 0)
		plan->planned |= CG_LAYER_ROOTFS;
	return rc;
}

void
sandbox_view_free(struct cg_sandbox_plan *plan)
{
	for (size_t i = 0; i < plan->n_view_ops; i++) {
		free(plan->view_ops[i].path);
		free(plan->view_ops[i].dst);
		free(plan->view_ops[i].src);
	}
	free(plan->view_ops);
	plan->view_ops = NULL;
	plan->n_view_ops = 0;
}

/* ---- child side: replays the ops; no allocation ---- */

static int
bind(const struct cg_view_op *op)
{
	struct mount_attr attr = { 0 };

	if (mount(op->src, op->dst, NULL, MS_BIND | MS_REC, NULL) != 0)
		return errno;
	attr.attr_set = MOUNT_ATTR_NOSUID;
	if (op->kind == CG_VIEW_BIND_RO)
		attr.attr_set |= MOUNT_ATTR_RDONLY;
	if (mount_setattr(AT_FDCWD, op->dst, AT_RECURSIVE, &attr, sizeof(attr)) != 0)
		return errno;
	return 0;
}

static int
replay(const struct cg_sandbox_plan *plan)
{
	for (size_t i = 0; i < plan->n_view_ops; i++) {
		const struct cg_view_op *op = &plan->view_ops[i];
		int fd, e = 0;

		switch (op->kind) {
		case CG_VIEW_DIR:
			if (mkdir(op->dst, 0755) != 0 && errno != EEXIST)
				e = errno;
			break;
		case CG_VIEW_FILE:
			fd = open(op->dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0 || close(fd) != 0)
				e = errno;
			break;
		case CG_VIEW_LINK:
			if (symlink(op->src, op->dst) != 0)
				e = errno;
			break;
		case CG_VIEW_BIND_RO:
		case CG_VIEW_BIND_RW:
			e = bind(op);
			break;
		}
		if (e != 0)
			return e;
	}
	return 0;
}

int
sandbox_view_enter(const struct cg_sandbox_plan *plan, uint32_t *applied)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
	    MOUNT_ATTR_NODEV };
	int e;

	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=256k") != 0) {
		/* Nothing changed yet: a view the policy lets degrade is skipped. */
		return (plan->required & CG_LAYER_ROOTFS) ? errno : 0;
	}
	if (chdir("/tmp") != 0 || mkdir("newroot", 0755) != 0 || mkdir("oldroot", 0755) != 0 ||
	    mount("newroot", "newroot", NULL, MS_BIND | MS_REC, NULL) != 0 ||
	    syscall(SYS_pivot_root, ".", "oldroot") != 0 || chdir("/") != 0)
		return errno;
	if ((e = replay(plan)) != 0)
		return e;
	if (mount("proc", "/newroot/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0)
		*applied |= CG_LAYER_PROC;
	else if (plan->required & CG_LAYER_PROC)
		return errno;
	if (umount2("/oldroot", MNT_DETACH) != 0 || chdir("/newroot") != 0 ||
	    syscall(SYS_pivot_root, ".", ".") != 0 || umount2(".", MNT_DETACH) != 0 ||
	    chdir("/") != 0)
		return errno;
	/* The view's own skeleton (the tmpfs) cannot be written to. */
	if (mount_setattr(AT_FDCWD, "/", 0, &ro, sizeof(ro)) != 0)
		return errno;
	*applied |= CG_LAYER_ROOTFS;
	return 0;
}
