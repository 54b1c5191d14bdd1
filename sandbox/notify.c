/*
 * The gateway's side of the seccomp user notifications.
 *
 * Every notification is answered, and the answer is decided from the
 * syscall number and architecture alone: the handler never decides on the
 * client's memory, so a client cannot confuse it with arguments that
 * change under it (an exec's path is copied for the audit log only).
 * Two kinds of call are refused with EPERM and the client lives on: a
 * second exec, and a socket the profile does not allow (socket() and
 * socketpair(), native architecture only). libc makes such sockets on its
 * own (the nscd probe behind getpwuid(), syslog()), and OpenSSH's sandbox
 * and systemd's RestrictAddressFamilies answer them with an error for the
 * same reason. After CG_SANDBOX_DENIED_MAX refusals the client is killed,
 * so refusals cannot flood the log. Anything else that reached the
 * notification is outside the profile: the client is killed through its
 * pidfd first and the call answered after, so the syscall never returns
 * into client code. SECCOMP_IOCTL_NOTIF_ID_VALID confirms that a
 * notification still belongs to a live task before the handler acts on
 * its pid. The handler never blocks: it polls the fd first, and a
 * notification whose task died meanwhile yields ENOENT.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sandbox/internal.h"

#define X32_SYSCALL_BIT 0x40000000

static int
check_sizes(struct cg_error *err)
{
	static int checked;
	struct seccomp_notif_sizes sz;

	if (checked)
		return 0;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) != 0)
		return cg_error_set(err, "SECCOMP_GET_NOTIF_SIZES: %s", strerror(errno));
	/* The kernel copies its own struct sizes; never more than ours. */
	if (sz.seccomp_notif > sizeof(struct seccomp_notif) ||
	    sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp))
		return cg_error_set(err, "the kernel's seccomp notification is larger "
		    "than capgate knows");
	checked = 1;
	return 0;
}

/* 1: got one; 0: none pending (or its task died); -1: the fd is broken. */
int
sandbox_notify_recv(int fd, struct seccomp_notif *n, struct cg_error *err)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int rc;

	if (check_sizes(err) != 0)
		return -1;
	rc = poll(&p, 1, 0);
	if (rc < 0)
		return errno == EINTR ? 0 : cg_error_set(err, "poll: %s", strerror(errno));
	if (p.revents & POLLNVAL)
		return cg_error_set(err, "seccomp listener fd is not open");
	if (!(p.revents & POLLIN)) {
		if (p.revents & (POLLHUP | POLLERR))
			return cg_error_set(err, "no task is left under the seccomp filter");
		return 0;
	}
	memset(n, 0, sizeof(*n));
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, n) != 0) {
		if (errno == ENOENT || errno == EINTR)
			return 0;
		return cg_error_set(err, "SECCOMP_IOCTL_NOTIF_RECV: %s", strerror(errno));
	}
	return 1;
}

int
sandbox_notify_respond(int fd, uint64_t id, int error, uint32_t flags)
{
	struct seccomp_notif_resp r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.error = error;
	r.flags = flags;
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &r) != 0 && errno != ENOENT)
		return -1;
	return 0;
}

bool
sandbox_notify_is_exec(const struct seccomp_notif *n)
{
	return n->data.arch == AUDIT_ARCH_X86_64 &&
	    (n->data.nr == SCMP_SYS(execve) || n->data.nr == SCMP_SYS(execveat));
}

/* A socket the profile does not allow; on i386 and x32 a kill, as ever. */
static bool
is_socket(const struct seccomp_notif *n)
{
	return n->data.arch == AUDIT_ARCH_X86_64 &&
	    (n->data.nr == SCMP_SYS(socket) || n->data.nr == SCMP_SYS(socketpair));
}

void
sandbox_notify_describe(const struct seccomp_notif *n, struct cg_sandbox_event *ev)
{
	uint32_t arch = n->data.arch;
	char *name;

	ev->pid = (pid_t)n->pid;
	ev->arch = arch;
	ev->nr = n->data.nr;
	ev->ip = n->data.instruction_pointer;
	memcpy(ev->args, n->data.args, sizeof(ev->args));
	/* An x32 call arrives with the x86-64 arch and the x32 bit set. */
	if (arch == AUDIT_ARCH_X86_64 && (n->data.nr & X32_SYSCALL_BIT))
		arch = SCMP_ARCH_X32;
	name = seccomp_syscall_resolve_num_arch(arch, n->data.nr);
	snprintf(ev->name, sizeof(ev->name), "%s%s", arch == SCMP_ARCH_X32 ? "x32:" :
	    arch == AUDIT_ARCH_I386 ? "i386:" : "", name != NULL ? name : "unknown");
	free(name);
}

/*
 * Copies the path an exec was asked for, for the record: up to the end of
 * its page first, so that a path next to an unmapped page still reads.
 * Kept only if the notification is still live afterwards (the pid was the
 * caller's while we read). Non-printable bytes become '?'.
 */
static void
copy_exec_path(int notify_fd, const struct seccomp_notif *n, struct cg_sandbox_event *ev)
{
	uint64_t addr = n->data.nr == SCMP_SYS(execveat) ? n->data.args[1] : n->data.args[0];
	size_t want = sizeof(ev->exec_path) - 1, first = 4096 - (addr & 4095), got = 0;
	struct iovec local, remote;
	ssize_t r;

	if (addr == 0)
		return;
	if (first > want)
		first = want;
	local = (struct iovec){ ev->exec_path, first };
	remote = (struct iovec){ (void *)(uintptr_t)addr, first };
	r = process_vm_readv((pid_t)n->pid, &local, 1, &remote, 1, 0);
	if (r > 0) {
		got = (size_t)r;
		if (memchr(ev->exec_path, '\0', got) == NULL && got < want) {
			local = (struct iovec){ ev->exec_path + got, want - got };
			remote = (struct iovec){ (void *)(uintptr_t)(addr + got), want - got };
			r = process_vm_readv((pid_t)n->pid, &local, 1, &remote, 1, 0);
			if (r > 0)
				got += (size_t)r;
		}
	}
	ev->exec_path[got] = '\0';
	if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id) != 0) {
		ev->exec_path[0] = '\0';
		return;
	}
	for (char *c = ev->exec_path; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	if (ev->exec_path[0] == '\0' && n->data.nr == SCMP_SYS(execveat))
		snprintf(ev->exec_path, sizeof(ev->exec_path), "(fd %d)", (int)n->data.args[0]);
}

static void
kill_client(struct cg_child *child, const struct seccomp_notif *n)
{
	syscall(SYS_pidfd_send_signal, child->pidfd, SIGKILL, NULL, 0);
	/* Without a pid namespace the caller may be a descendant that the
	 * pidfd's death does not take along; its id is checked live first. */
	if ((pid_t)n->pid != child->pid &&
	    ioctl(child->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &n->id) == 0)
		kill((pid_t)n->pid, SIGKILL);
}

int
sandbox_notify_handle(struct cg_child *child, struct cg_sandbox_event *ev,
    struct cg_error *err)
{
	struct seccomp_notif n;
	bool exec;
	int rc;

	memset(ev, 0, sizeof(*ev));
	rc = sandbox_notify_recv(child->notify_fd, &n, err);
	if (rc <= 0)
		return rc;
	sandbox_notify_describe(&n, ev);
	if (sandbox_notify_is_exec(&n) && child->allow_exec) {
		copy_exec_path(child->notify_fd, &n, ev);
		ev->kind = CG_SANDBOX_EVENT_EXEC_ALLOWED;
		ev->action = CG_SANDBOX_ACTION_CONTINUED;
		return sandbox_notify_respond(child->notify_fd, n.id, 0,
		    SECCOMP_USER_NOTIF_FLAG_CONTINUE) == 0 ? 0 :
		    cg_error_set(err, "answering a notification: %s", strerror(errno));
	}
	exec = sandbox_notify_is_exec(&n);
	if (exec)
		copy_exec_path(child->notify_fd, &n, ev);
	ev->kind = exec ? CG_SANDBOX_EVENT_EXEC_DENIED : CG_SANDBOX_EVENT_VIOLATION;
	if ((exec || is_socket(&n)) && ++child->denied <= CG_SANDBOX_DENIED_MAX) {
		ev->action = CG_SANDBOX_ACTION_DENIED;
	} else {
		ev->action = CG_SANDBOX_ACTION_KILLED;
		kill_client(child, &n);
	}
	if (sandbox_notify_respond(child->notify_fd, n.id, -EPERM, 0) != 0)
		return cg_error_set(err, "answering a notification: %s", strerror(errno));
	return 0;
}

const char *
sandbox_event_kind_name(enum cg_sandbox_event_kind kind)
{
	switch (kind) {
	case CG_SANDBOX_EVENT_NONE: return "none";
	case CG_SANDBOX_EVENT_EXEC_ALLOWED: return "exec-allowed";
	case CG_SANDBOX_EVENT_EXEC_DENIED: return "exec-denied";
	case CG_SANDBOX_EVENT_VIOLATION: return "violation";
	}
	return "unknown";
}

const char *
sandbox_action_name(enum cg_sandbox_action action)
{
	switch (action) {
	case CG_SANDBOX_ACTION_NONE: return "none";
	case CG_SANDBOX_ACTION_CONTINUED: return "continued";
	case CG_SANDBOX_ACTION_DENIED: return "denied";
	case CG_SANDBOX_ACTION_KILLED: return "killed";
	}
	return "unknown";
}

json_t *
sandbox_event_json(const struct cg_sandbox_event *ev)
{
	json_t *args = json_array(), *o;

	for (size_t i = 0; args != NULL && i < 6; i++)
		json_array_append_new(args, json_integer((json_int_t)ev->args[i]));
	o = json_pack("{s:s, s:s, s:i, s:s, s:i, s:I, s:o*}",
	    "kind", sandbox_event_kind_name(ev->kind),
	    "action", sandbox_action_name(ev->action),
	    "syscall", ev->nr, "name", ev->name, "pid", (int)ev->pid,
	    "arch", (json_int_t)ev->arch, "args", args);
	if (o != NULL && ev->exec_path[0] != '\0')
		json_object_set_new(o, "exec_path_claimed", json_string(ev->exec_path));
	return o;
}
