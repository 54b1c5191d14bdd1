/*
 * Landlock: the filesystem allowlists of the policy (read, write, exec plus
 * the implicit grants for the program and its loader), TCP bind/connect
 * denied (ABI 4), and abstract unix sockets and signals scoped to the
 * sandbox (ABI 6). The ruleset is built in the gateway at prepare time, so
 * the child only calls landlock_restrict_self() on an inherited fd.
 *
 * Every access right the running kernel knows is "handled", so anything
 * the rules do not grant is denied; a right of a newer ABI than the kernel
 * has is simply unknown to it (best effort, as the Landlock docs advise),
 * and the attestation records the ABI that was used.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/internal.h"

/* Debian 12's linux/landlock.h stops at ABI 2; define what came later. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif
#ifndef LANDLOCK_CREATE_RULESET_VERSION
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#endif

/* The ABI 6 layout of struct landlock_ruleset_attr; the kernel takes the
 * size, so an older kernel rejects fields it does not know unless zero. */
struct cg_landlock_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define FS_READ (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_WRITE (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
	LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_DIR | \
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
	LANDLOCK_ACCESS_FS_MAKE_SYM | LANDLOCK_ACCESS_FS_REFER)
#define FS_EXEC (LANDLOCK_ACCESS_FS_EXECUTE | FS_READ)
/* Rights that make sense on a regular file (others are EINVAL there). */
#define FS_FILE_RIGHTS (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | \
	LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | \
	LANDLOCK_ACCESS_FS_IOCTL_DEV)

int
sandbox_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

static uint64_t
handled_fs(int abi)
{
	uint64_t fs = (1ULL << 13) - 1;

	if (abi >= 2)
		fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return fs;
}

static int
add_path_rule(int ruleset, const char *path, uint64_t access, uint64_t handled,
    struct cg_error *err)
{
	struct landlock_path_beneath_attr pb = { 0 };
	struct stat st;
	int fd, rc;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return cg_error_set(err, "landlock: %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		close(fd);
		return cg_error_set(err, "landlock: %s: %s", path, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		access &= FS_FILE_RIGHTS;
	pb.allowed_access = access & handled;
	pb.parent_fd = fd;
	rc = (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	close(fd);
	if (rc != 0)
		return cg_error_set(err, "landlock: rule for %s: %s", path, strerror(errno));
	return 0;
}

static bool
under_proc(const char *path)
{
	return strcmp(path, "/proc") == 0 || strncmp(path, "/proc/", 6) == 0;
}

/* Remembers a /proc grant for the child, which has a /proc of its own. */
static int
defer_proc(struct cg_sandbox_plan *plan, const char *path, uint64_t access)
{
	uint64_t *grown = realloc(plan->proc_access,
	    (plan->proc_paths.n + 1) * sizeof(*grown));

	if (grown == NULL)
		return -1;
	plan->proc_access = grown;
	grown[plan->proc_paths.n] = access;
	return sandbox_path_list_add_dup(&plan->proc_paths, path);
}

static int
add_list(struct cg_sandbox_plan *plan, const struct cg_path_list *list,
    uint64_t access, uint64_t handled, struct cg_error *err)
{
	for (size_t i = 0; i < list->n; i++) {
		if (under_proc(list->paths[i])) {
			if (defer_proc(plan, list->paths[i], access & handled) != 0)
				return cg_error_set(err, "out of memory");
		} else if (add_path_rule(plan->ruleset_fd, list->paths[i], access,
		    handled, err) != 0) {
			return -1;
		}
	}
	return 0;
}

int
sandbox_landlock_prepare(const struct cg_sandbox_config *cfg,
    struct cg_sandbox_plan *plan, struct cg_error *err)
{
	struct cg_landlock_ruleset_attr attr = { 0 };
	int abi = sandbox_landlock_abi();
	uint64_t fs;
	int fd;

	plan->landlock_abi = abi;
	plan->ruleset_fd = -1;
	if (abi < 1)
		return 0;
	fs = attr.handled_access_fs = handled_fs(abi);
	if (abi >= 4)
		attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
		    LANDLOCK_ACCESS_NET_CONNECT_TCP;
	if (abi >= 6)
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr,
	    abi >= 6 ? sizeof(attr) : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t), 0);
	if (fd < 0)
		return cg_error_set(err, "landlock: create ruleset: %s", strerror(errno));
	plan->ruleset_fd = fd;
	/* /dev/null is what programs open when they mean "nothing". */
	if (add_path_rule(fd, "/dev/null", LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_WRITE_FILE, fs, err) != 0 ||
	    add_list(plan, &plan->implicit, LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_EXECUTE, fs, err) != 0 ||
	    add_list(plan, &cfg->read, FS_READ, fs, err) != 0 ||
	    add_list(plan, &cfg->write, FS_READ | FS_WRITE, fs, err) != 0 ||
	    add_list(plan, &cfg->exec, FS_EXEC, fs, err) != 0)
		return -1;
	plan->planned |= CG_LAYER_LANDLOCK;
	if (abi >= 4)
		plan->planned |= CG_LAYER_LANDLOCK_NET;
	if (abi >= 6)
		plan->planned |= CG_LAYER_LANDLOCK_SCOPE;
	return 0;
}

/* Child side, after its /proc is mounted: rules for the /proc grants. A
 * path the new /proc does not have is skipped (nothing to grant). */
int
sandbox_landlock_proc_enter(const struct cg_sandbox_plan *plan, int ruleset_fd)
{
	for (size_t i = 0; ruleset_fd >= 0 && i < plan->proc_paths.n; i++) {
		struct landlock_path_beneath_attr pb = { 0 };
		struct stat st;
		int fd = open(plan->proc_paths.paths[i], O_PATH | O_CLOEXEC);

		if (fd < 0)
			continue;
		pb.allowed_access = plan->proc_access[i];
		if (fstat(fd, &st) != 0 || (!S_ISDIR(st.st_mode) &&
		    (pb.allowed_access &= FS_FILE_RIGHTS) == 0)) {
			close(fd);
			continue;
		}
		pb.parent_fd = fd;
		if (syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH,
		    &pb, 0) != 0) {
			int e = errno;

			close(fd);
			return e;
		}
		close(fd);
	}
	return 0;
}

/* Child side: no_new_privs is already set (sandbox_enter's order). */
int
sandbox_landlock_enter(const struct cg_sandbox_plan *plan, int ruleset_fd,
    uint32_t *applied)
{
	if (ruleset_fd < 0)
		return 0;
	if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) != 0)
		return errno;
	if (close(ruleset_fd) != 0)
		return errno;
	*applied |= plan->planned & (CG_LAYER_LANDLOCK | CG_LAYER_LANDLOCK_NET |
	    CG_LAYER_LANDLOCK_SCOPE);
	return 0;
}
