/*
 * Namespaces and credentials. The child is cloned into new user, pid, net,
 * ipc, uts and mount namespaces at once (clone3 in spawn.c); the gateway
 * needs no privilege for that because the user namespace comes first and
 * grants the others. The gateway then writes the child's uid/gid maps:
 *
 *   - as an ordinary user, the user's own uid and gid map to themselves
 *     (the only mapping an unprivileged writer may set; setgroups is
 *     denied first, as the kernel requires);
 *   - as root, the child becomes nobody (65534) inside and outside, and
 *     drops root's supplementary groups. Mapping root to anything would
 *     make every root-owned file on the host owner-accessible to the
 *     client, with Landlock as the only wall left.
 *
 * The child keeps its namespace capabilities only long enough to make its
 * mounts private, mount a /proc of its own pid namespace (so that a
 * granted /proc shows no host process) and set a hostname; then it sets
 * its ids and drops every capability, bounding and ambient sets included.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/internal.h"

#define CG_NOBODY 65534

int
sandbox_ns_prepare(struct cg_sandbox_plan *plan, struct cg_error *err)
{
	plan->clone_flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |
	    CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS;
	plan->outer_uid = geteuid();
	plan->outer_gid = getegid();
	if (plan->outer_uid == 0) {
		plan->outer_uid = plan->outer_gid = CG_NOBODY;
		plan->drop_groups = true;
	}
	plan->inner_uid = plan->outer_uid;
	plan->inner_gid = plan->outer_gid;
	plan->planned |= CG_LAYER_NAMESPACES | CG_LAYER_PROC | CG_LAYER_CREDS;
	(void)err;
	return 0;
}

static int
write_proc(pid_t pid, const char *file, const char *text, struct cg_error *err)
{
	char path[64];
	size_t len = strlen(text);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return cg_error_set(err, "%s: %s", path, strerror(errno));
	n = write(fd, text, len);
	if (n != (ssize_t)len) {
		int e = n < 0 ? errno : EIO;

		close(fd);
		return cg_error_set(err, "writing %s: %s", path, strerror(e));
	}
	if (close(fd) != 0)
		return cg_error_set(err, "%s: %s", path, strerror(errno));
	return 0;
}

int
sandbox_ns_write_maps(const struct cg_sandbox_plan *plan, pid_t pid,
    struct cg_error *err)
{
	char map[64];

	if ((plan->clone_flags & CLONE_NEWUSER) == 0)
		return 0;
	if (!plan->drop_groups && write_proc(pid, "setgroups", "deny", err) != 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)plan->inner_uid,
	    (unsigned)plan->outer_uid);
	if (write_proc(pid, "uid_map", map, err) != 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)plan->inner_gid,
	    (unsigned)plan->outer_gid);
	return write_proc(pid, "gid_map", map, err);
}

/* Child: private mounts, then the minimal view (view.c) with a /proc that
 * shows only the sandbox, or, without a view, that /proc over the host's. */
int
sandbox_ns_mounts_enter(const struct cg_sandbox_plan *plan, uint32_t *applied)
{
	if ((plan->clone_flags & CLONE_NEWNS) == 0)
		return 0;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return errno;
	if ((plan->clone_flags & CLONE_NEWPID) == 0)
		return 0;
	if (plan->n_view_ops > 0) {
		int e = sandbox_view_enter(plan, applied);

		if (e != 0 || (*applied & CG_LAYER_ROOTFS))
			return e;
	}
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
		if (plan->required & CG_LAYER_PROC)
			return errno;
		return 0;
	}
	*applied |= CG_LAYER_PROC;
	return 0;
}

int
sandbox_ns_hostname_enter(const struct cg_sandbox_plan *plan)
{
	if ((plan->clone_flags & CLONE_NEWUTS) == 0)
		return 0;
	return sethostname("capgate", 7) != 0 ? errno : 0;
}

/* The bounding set, while we may still have CAP_SETPCAP. Without it (no
 * user namespace, not root) every drop fails with EPERM, which is harmless:
 * such a process has no capabilities to keep and no_new_privs follows.
 * Dropping a capability that is not in the set succeeds, so the set is not
 * read first; EINVAL means past the kernel's last capability. */
static int
drop_bounding_set(void)
{
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
			return errno == EINVAL || errno == EPERM ? 0 : errno;
	return 0;
}

static int
drop_capabilities(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
	    errno != EINVAL)
		return errno;
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) != 0)
		return errno;
	return 0;
}

/*
 * Child: final ids and no supplementary groups where we may drop them,
 * before any mount: as root the child starts as host uid 0, unmapped in
 * its namespace, and could create no file in its own tmpfs. The namespace
 * capabilities survive (inside, uid 0 is not mapped, so no "root" rule
 * clears them) until sandbox_caps_enter() drops them. Raw syscalls:
 * glibc's wrappers broadcast id changes to every thread it believes
 * exists, and after clone3 from a threaded gateway those threads are not
 * in the child (the broadcast would wait for them forever).
 */
int
sandbox_ids_enter(const struct cg_sandbox_plan *plan)
{
	int e = drop_bounding_set();

	if (e != 0)
		return e;
	if (plan->drop_groups && syscall(SYS_setgroups, 0, NULL) != 0)
		return errno;
	if (syscall(SYS_setresgid, plan->inner_gid, plan->inner_gid, plan->inner_gid) != 0)
		return errno;
	if (syscall(SYS_setresuid, plan->inner_uid, plan->inner_uid, plan->inner_uid) != 0)
		return errno;
	return 0;
}

/* Child: no capabilities in any set, once the mounts are done. */
int
sandbox_caps_enter(void)
{
	return drop_capabilities();
}
