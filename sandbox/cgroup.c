/*
 * A cgroup for the sandbox, where one can be had: the rlimits bound each
 * process, a cgroup bounds the sandbox as a whole (memory of all its
 * processes together, their number).
 *
 * "Can be had" means the gateway may create a child of its own cgroup and
 * move the client there without privileges it does not already have:
 *   - cgroup v2: its cgroup directory is writable and already delegates
 *     the memory and pids controllers (cgroup.subtree_control); capgate
 *     never enables controllers itself, which would need moving the
 *     gateway out of its own cgroup;
 *   - cgroup v1: the memory and pids hierarchies' directories of the
 *     gateway are writable (typically root, or a delegated hierarchy).
 * Otherwise the layer is missing, which policies allow by default ("cgroup"
 * degrades unless required). The gateway (sandbox_spawn_start) creates
 * capgate-<gateway pid>-<init pid> and writes its limits while the child
 * enters its sandbox. The program child joins it itself, before it reports
 * READY and so before the program runs code of its own (the init, capgate's
 * code, stays out): it writes "0" to descriptors the gateway opened and
 * passed (sandbox_cgroup_send, sandbox_cgroup_enter). "0" is the writer,
 * so no pid is named: a pid read from a message could belong to another
 * process by the time of the write, if the program had been killed from
 * outside and its pid reused. The kernel judges such a write by the
 * credentials of the descriptor's opener (Linux 5.16 and later, v1 and
 * v2), so the child needs no privilege of its own; on older kernels the
 * write fails and the layer is missing. sandbox_plan_free() removes the
 * cgroup, so a plan is kept until the client has been reaped.
 *
 * The file written is cgroup.procs in v2 and tasks in v1. A write to
 * cgroup.procs moves a whole thread group under the kernel's global
 * cgroup_threadgroup_rwsem, whose write side waits for an RCU grace period
 * when no other migration ran just before: 4 to 35 ms on the test machine,
 * which made a single `capgate run` as root ten times slower than a run
 * that followed another (bench/run's spawn loop did not see it). A v1
 * tasks write of "0" moves only the writing thread and the kernel skips
 * that lock (0.02 ms). The program child is a fork's only thread and has
 * not exec'd, so that thread is the whole process, and every thread or
 * process it starts later is created inside. v2 accepts thread moves only
 * inside threaded subtrees, so there the whole-group write stays.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdpass.h"
#include "sandbox/internal.h"

/* The hierarchies a sandbox's cgroup may live in: cgroup v2, or the v1
 * memory and pids controllers. /proc/self/mountinfo and /proc/self/cgroup
 * are each read once per prepare, for all three. */
enum { HIER_V2, HIER_MEMORY, HIER_PIDS, HIER_N };
static const char *const hier_controller[HIER_N] = { NULL, "memory", "pids" };

struct hier {
	char mnt[512];              /* mount point, "" if not mounted */
	char path[512];             /* this process's path in it, "" if none */
};

/* Whether list, split at any of seps, names controller (list is cut). */
static bool
lists(char *list, const char *seps, const char *controller)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(list, seps, &save); tok != NULL;
	    tok = strtok_r(NULL, seps, &save))
		if (strcmp(tok, controller) == 0)
			return true;
	return false;
}

/* The mount point of cgroup2, and of the v1 hierarchies whose super
 * options name memory and pids. */
static void
scan_mounts(struct hier *h)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char root[256], mnt[512], fstype[64], source[256], opts[512];
		const char *dash = strstr(line, " - ");

		/* only cgroup and cgroup2 mounts are wanted: the others are
		 * passed over before the (slower) field split */
		if (dash == NULL || strncmp(dash + 3, "cgroup", 6) != 0 ||
		    sscanf(line, "%*s %*s %*s %255s %511s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %255s %511s", fstype, source, opts) != 3 ||
		    strcmp(root, "/") != 0)
			continue;
		for (int i = 0; i < HIER_N; i++) {
			char copy[512];

			if (h[i].mnt[0] != '\0')
				continue;
			snprintf(copy, sizeof(copy), "%s", opts);
			if (i == HIER_V2 ? strcmp(fstype, "cgroup2") == 0 :
			    strcmp(fstype, "cgroup") == 0 && lists(copy, ",", hier_controller[i]))
				snprintf(h[i].mnt, sizeof(h[i].mnt), "%s", mnt);
		}
	}
	fclose(f);
}

/*
 * Whether line, one line of /proc/PID/cgroup ("N:controllers:/path" for a
 * v1 hierarchy, "0::/path" for v2), is the one of the hierarchy of
 * controller (NULL: v2); if so its path goes to out.
 */
bool
sandbox_cgroup_own_line(const char *line, const char *controller, char *out,
    size_t len)
{
	const char *c1 = strchr(line, ':'), *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
	char list[512];
	bool match;

	if (c2 == NULL || (size_t)(c2 - c1 - 1) >= sizeof(list))
		return false;
	if (controller == NULL) {
		match = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
	} else {
		memcpy(list, c1 + 1, (size_t)(c2 - c1 - 1));
		list[c2 - c1 - 1] = '\0';
		match = lists(list, ",", controller);
	}
	if (match)
		snprintf(out, len, "%.*s", (int)strcspn(c2 + 1, "\n"), c2 + 1);
	return match;
}

/* This process's path in each hierarchy. */
static void
scan_own(struct hier *h)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[1024];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		for (int i = 0; i < HIER_N; i++)
			if (h[i].path[0] == '\0')
				sandbox_cgroup_own_line(line, hier_controller[i],
				    h[i].path, sizeof(h[i].path));
	fclose(f);
}

static bool
base_dir(const struct hier *h, char *out, size_t len)
{
	if (h->mnt[0] == '\0' || h->path[0] == '\0')
		return false;
	if ((size_t)snprintf(out, len, "%s%s", h->mnt, strcmp(h->path, "/") == 0 ?
	    "" : h->path) >= len)
		return false;
	return access(out, W_OK) == 0;
}

static bool
delegates(const char *dir, const char *controller)
{
	char path[PATH_MAX + 32], buf[256];
	FILE *f;
	bool found;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	if ((f = fopen(path, "re")) == NULL)
		return false;
	found = fgets(buf, sizeof(buf), f) != NULL && lists(buf, " \n", controller);
	fclose(f);
	return found;
}

static int
add_dir(struct cg_sandbox_plan *plan, const char *base, const char *join,
    const char *mem_file, const char *pids_file)
{
	struct cg_cgroup_dir *d = &plan->cgroups[plan->n_cgroups];
	const struct cg_sandbox_limits *l = &plan->limits;

	d->join = join;
	d->base = strdup(base);
	if (d->base == NULL)
		return -1;
	if (mem_file != NULL && l->memory_mb != 0) {
		d->files[d->n_files] = mem_file;
		d->values[d->n_files++] = l->memory_mb * 1024 * 1024;
	}
	if (pids_file != NULL && l->processes != 0) {
		d->files[d->n_files] = pids_file;
		d->values[d->n_files++] = l->processes;
	}
	plan->n_cgroups++;
	return 0;
}

/* The v1 directories: one per hierarchy, and one holding both limits when
 * memory and pids are mounted together (one hierarchy, "memory,pids"): a
 * second plan of the same directory would fail its mkdir. */
int
sandbox_cgroup_plan_v1(struct cg_sandbox_plan *plan, const char *mem,
    const char *pids)
{
	if (strcmp(mem, pids) == 0)
		return add_dir(plan, mem, "tasks", "memory.limit_in_bytes", "pids.max");
	if (add_dir(plan, mem, "tasks", "memory.limit_in_bytes", NULL) != 0 ||
	    add_dir(plan, pids, "tasks", NULL, "pids.max") != 0)
		return -1;
	return 0;
}

/* Empty cgroups left by gateways that died without cleaning up (killed
 * with SIGKILL): removed when their gateway pid is gone. rmdir refuses a
 * cgroup that still has processes, so a live sandbox is never touched. */
void
sandbox_cgroup_sweep(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX + 300];
		int gw;

		if (strncmp(e->d_name, "capgate-", 8) != 0 ||
		    sscanf(e->d_name, "capgate-%d-", &gw) != 1 || gw <= 0 || gw == getpid() ||
		    kill(gw, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		(void)rmdir(path);
	}
	closedir(d);
}

int
sandbox_cgroup_prepare(struct cg_sandbox_plan *plan, struct cg_error *err)
{
	char v2[PATH_MAX], mem[PATH_MAX], pids[PATH_MAX];
	struct hier h[HIER_N];

	memset(h, 0, sizeof(h));
	scan_mounts(h);
	scan_own(h);
	if (base_dir(&h[HIER_V2], v2, sizeof(v2)) && delegates(v2, "memory") &&
	    delegates(v2, "pids")) {
		if (add_dir(plan, v2, "cgroup.procs", "memory.max", "pids.max") != 0)
			return cg_error_set(err, "out of memory");
	} else if (base_dir(&h[HIER_MEMORY], mem, sizeof(mem)) &&
	    base_dir(&h[HIER_PIDS], pids, sizeof(pids))) {
		if (sandbox_cgroup_plan_v1(plan, mem, pids) != 0)
			return cg_error_set(err, "out of memory");
	} else {
		return 0;
	}
	for (size_t i = 0; i < plan->n_cgroups; i++)
		sandbox_cgroup_sweep(plan->cgroups[i].base);
	plan->planned |= CG_LAYER_CGROUP;
	return 0;
}

static int
write_value(const char *dir, const char *file, unsigned long long value)
{
	char path[PATH_MAX + 64], text[32];
	int fd, n, e = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	n = snprintf(text, sizeof(text), "%llu", value);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (write(fd, text, (size_t)n) != n)
		e = errno != 0 ? errno : EIO;
	if (close(fd) != 0 && e == 0)
		e = errno;
	return e;
}

/* Gateway side, after clone: a new cgroup per hierarchy, named after the
 * init, and its limits (spawn_start); the program is moved in later
 * (sandbox_cgroup_send). 0 or an errno. */
int
sandbox_cgroup_create(struct cg_sandbox_plan *plan, pid_t init)
{
	for (size_t i = 0; i < plan->n_cgroups; i++) {
		struct cg_cgroup_dir *d = &plan->cgroups[i];
		int e = 0;

		if (asprintf(&d->dir, "%s/capgate-%d-%d", d->base, (int)getpid(),
		    (int)init) < 0) {
			d->dir = NULL;
			return ENOMEM;
		}
		if (mkdir(d->dir, 0755) != 0)
			return errno;
		d->created = true;
		for (int k = 0; k < d->n_files && e == 0; k++)
			e = write_value(d->dir, d->files[k], d->values[k]);
		if (e != 0)
			return e;
	}
	return 0;
}

/* A cgroup that fails is a missing layer: fatal only if required. */
int
sandbox_cgroup_failed(struct cg_sandbox_plan *plan, int e, struct cg_error *err)
{
	plan->cgroup_applied = false;
	plan->cgroup_failed = true;
	if (plan->required & CG_LAYER_CGROUP)
		return cg_error_set(err, "cgroup: %s", strerror(e));
	return 0;
}

/* Gateway side, from sandbox_spawn_finish: the message the program child
 * waits for at its step 11 when the plan has cgroups. "c" carries one
 * descriptor per directory, of the file the program joins through (its
 * join); "n" (a cgroup that could not be made or opened, and may degrade)
 * carries none. 0, or -1 with err set. */
int
sandbox_cgroup_send(struct cg_sandbox_plan *plan, int status,
    struct cg_error *err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CG_CGROUPS_MAX)];
		struct cmsghdr align;
	} u;
	int fds[CG_CGROUPS_MAX];
	char path[PATH_MAX + 64], tag = 'c';
	struct iovec iov = { &tag, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t nfd = 0;
	ssize_t n;
	int e = 0;

	if (plan->n_cgroups == 0)
		return 0;
	for (size_t i = 0; i < plan->n_cgroups && !plan->cgroup_failed; i++) {
		if (!plan->cgroups[i].created) {
			e = ENOENT;
			break;
		}
		snprintf(path, sizeof(path), "%s/%s", plan->cgroups[i].dir,
		    plan->cgroups[i].join);
		if ((fds[nfd] = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
			e = errno;
			break;
		}
		nfd++;
	}
	if (e != 0 || plan->cgroup_failed) {
		tag = 'n';
		while (nfd > 0)
			close(fds[--nfd]);
		if (e != 0 && sandbox_cgroup_failed(plan, e, err) != 0)
			return -1;
	}
	if (nfd > 0) {
		memset(&u, 0, sizeof(u));
		cg_attach_fds(&mh, u.buf, fds, nfd);
	}
	do
		n = sendmsg(status, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		e = errno;
	while (nfd > 0)
		close(fds[--nfd]);
	/* A child that died meanwhile (EPIPE) is reported by the spawn's
	 * next read. */
	if (n < 0 && e != EPIPE)
		return cg_error_set(err, "cgroup: sending its descriptors: %s",
		    strerror(e));
	return 0;
}

/* Child side (the program child, step 11; allocates nothing): joins the
 * cgroups through the descriptors from sandbox_cgroup_send. Returns an
 * errno when the message itself is wrong (the spawn fails); *joined says
 * whether the program is now in every one of them, *join_err why not. */
int
sandbox_cgroup_enter(int status, size_t expected, bool *joined, int *join_err)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * CG_CGROUPS_MAX)];
		struct cmsghdr align;
	} u;
	char tag = 0;
	struct iovec iov = { &tag, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	int fds[CG_CGROUPS_MAX];
	size_t nfd = 0;
	ssize_t n;
	int e = 0;

	*joined = false;
	*join_err = 0;
	do
		n = recvmsg(status, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    k > CG_CGROUPS_MAX - nfd)
			continue;
		memcpy(fds + nfd, CMSG_DATA(c), k * sizeof(int));
		nfd += k;
	}
	if (n != 1 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    (tag == 'c' && nfd != expected) || (tag != 'c' && (tag != 'n' || nfd != 0)))
		e = EPROTO;
	/* "0" is this process: no pid to go stale. */
	for (size_t i = 0; i < nfd && e == 0 && *join_err == 0; i++)
		if (write(fds[i], "0", 1) != 1)
			*join_err = errno != 0 ? errno : EIO;
	for (size_t i = 0; i < nfd; i++)
		if (close(fds[i]) != 0 && e == 0)
			e = errno;
	if (e == 0 && tag == 'c' && *join_err == 0)
		*joined = true;
	return e;
}

/* Removes the cgroups; they must be empty (the client reaped). */
void
sandbox_cgroup_release(struct cg_sandbox_plan *plan)
{
	for (size_t i = 0; i < plan->n_cgroups; i++) {
		struct cg_cgroup_dir *d = &plan->cgroups[i];

		if (d->created && rmdir(d->dir) == 0)
			d->created = false;
		free(d->dir);
		free(d->base);
		d->dir = d->base = NULL;
	}
	plan->n_cgroups = 0;
	plan->cgroup_applied = false;
}
