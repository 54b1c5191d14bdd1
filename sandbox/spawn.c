/*
 * sandbox_spawn() and, in the child, sandbox_enter().
 *
 * The child is made with clone3(CLONE_PIDFD | namespaces): the gateway gets
 * a pidfd at once (no pid-reuse race) and the child is pid 1 of its own pid
 * namespace. After the layers it forks: the parent stays as the init
 * (init.c: forwards signals, reaps orphans, exits with the program's
 * status), the child goes on to the seccomp filter and the exec, so the
 * program is an ordinary process that signals can kill.
 *
 * Parent and child talk over one SOCK_SEQPACKET socketpair ("status"):
 *   parent → child   one byte once the uid/gid maps are written;
 *   parent → child   with a cgroup planned, the descriptors the program
 *                    joins it through (sandbox_cgroup_send);
 *   parent → child   the seccomp filter (sandbox_seccomp_send);
 *   child → parent   READY from the program child (the layers applied,
 *                    the seccomp listener fd attached, its pid in the
 *                    kernel's SCM_CREDENTIALS) or FAILED (step, errno);
 *   EOF              the child's end is close-on-exec and the init
 *                    closed its copy: exec succeeded.
 * With a pid namespace the init also gets the write end of a pipe
 * ("report", init.c) on which it writes the program's status once nothing
 * else is left in the namespace; sandbox_report_read() reads it.
 * The child's first execve stops in the seccomp notification; the parent
 * answers it with SECCOMP_USER_NOTIF_FLAG_CONTINUE. That is safe here
 * because the child is single-threaded and runs only capgate's code until
 * that exec: no one can swap the arguments underneath (the TOCTOU the
 * kernel documentation warns about needs an attacker already running).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fdpass.h"
#include "common/util.h"
#include "sandbox/internal.h"

#define SPAWN_TIMEOUT_MS 10000

static const char *const step_names[] = {
	[CG_STEP_SYNC] = "waiting for the uid/gid maps",
	[CG_STEP_SESSION] = "new session",
	[CG_STEP_IDS] = "uid/gid",
	[CG_STEP_MOUNTS] = "filesystem view",
	[CG_STEP_HOSTNAME] = "hostname",
	[CG_STEP_RLIMITS] = "resource limits",
	[CG_STEP_FDS] = "file descriptors",
	[CG_STEP_CAPS] = "dropping capabilities",
	[CG_STEP_NNP] = "no_new_privs",
	[CG_STEP_LANDLOCK] = "Landlock",
	[CG_STEP_INIT] = "starting the init",
	[CG_STEP_CGROUP] = "joining the cgroup",
	[CG_STEP_SECCOMP] = "seccomp filter",
	[CG_STEP_REPORT] = "reporting to the gateway",
	[CG_STEP_EXEC] = "exec",
};

const char *
sandbox_step_name(int step)
{
	if (step <= 0 || (size_t)step >= CG_ARRAY_LEN(step_names) || step_names[step] == NULL)
		return "unknown step";
	return step_names[step];
}

/* Child: one message, optionally with one fd. sendmsg is in every seccomp
 * profile, so this works before and after the filter. 0 or an errno. */
static int
child_send(int fd, const struct cg_child_msg *msg, int pass_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u = { { 0 } };
	struct iovec iov = { (void *)(uintptr_t)msg, sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (pass_fd >= 0)
		cg_attach_fds(&mh, u.buf, &pass_fd, 1);
	for (;;) {
		ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL);

		if (n == (ssize_t)sizeof(*msg))
			return 0;
		if (n >= 0 || errno != EINTR)
			return n < 0 ? errno : EIO;
	}
}

static void __attribute__((noreturn))
child_fail(int fd, int step, int e)
{
	struct cg_child_msg msg = { .kind = CG_CHILD_FAILED, .step = (uint32_t)step,
	    .err = e };

	(void)child_send(fd, &msg, -1);     /* nothing more to do if it fails */
	_exit(127);
}

/* Child: signal state is inherited through exec; start from a clean one. */
static int
reset_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		if (sigaction(sig, &sa, NULL) != 0 && errno != EINVAL)
			return errno;
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL) != 0 ? errno : 0;
}

/*
 * The gateway may have other threads (a policy's own seccomp filter
 * compiles on one, sandbox_seccomp_start; the audit log opens on another)
 * and one may have held a lock of libc's, malloc's for instance, at the
 * moment the child was cloned: the child's copy of that lock is held
 * forever. glibc's fork() takes the malloc locks for its atfork handlers
 * and would wait on it; _Fork() takes no lock and runs no handler, which
 * is all the child needs, since it allocates nothing.
 */
static pid_t
fork_nolock(void)
{
#ifdef CG_HAVE__FORK
	return _Fork();
#else
	return (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0UL);
#endif
}

/*
 * Child: splits into the init (this process, which never returns from
 * here) and the program (which returns to finish sandbox_enter). Signals
 * are blocked across the fork so that none is lost before the init waits
 * for them; the program unblocks them.
 */
static void
fork_program(int status, int ruleset, int report)
{
	pid_t init = getpid(), pid;
	sigset_t all, none;

	sigfillset(&all);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &all, NULL) != 0)
		child_fail(status, CG_STEP_INIT, errno);
	/* The init is not dumpable from its first instant as two processes:
	 * a program that ran before the init got to it could open the init's
	 * /proc files (its report pipe, its memory) where /proc is granted.
	 * The program is made dumpable again, as it was. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		child_fail(status, CG_STEP_INIT, errno);
	if ((pid = fork_nolock()) < 0)
		child_fail(status, CG_STEP_INIT, errno);
	if (pid > 0)
		sandbox_init_run(pid, status, ruleset, report);
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
		child_fail(status, CG_STEP_INIT, errno);
	/* The report is the init's word; the program never holds it. */
	if (report >= 0 && close(report) != 0)
		child_fail(status, CG_STEP_INIT, errno);
	/* Without a pid namespace the init's death does not end us. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		child_fail(status, CG_STEP_INIT, errno);
	if (getppid() != init)
		child_fail(status, CG_STEP_INIT, ESRCH);
	if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
		child_fail(status, CG_STEP_INIT, errno);
}

static uint32_t
namespaces_applied(uint64_t flags)
{
	uint32_t applied = 0;

	if (flags & CLONE_NEWUSER)
		applied |= CG_LAYER_USERNS;
	if (flags & CLONE_NEWPID)
		applied |= CG_LAYER_PIDNS;
	if (flags & CLONE_NEWNET)
		applied |= CG_LAYER_NETNS;
	if (flags & CLONE_NEWIPC)
		applied |= CG_LAYER_IPCNS;
	if (flags & CLONE_NEWUTS)
		applied |= CG_LAYER_UTSNS;
	if (flags & CLONE_NEWNS)
		applied |= CG_LAYER_MNTNS;
	return applied;
}

/*
 * The child, between clone and exec: every layer in a fixed order. Never
 * returns; any failure is reported to the gateway and ends the child.
 * No allocation and only async-signal-safe calls from here on.
 */
static void __attribute__((noreturn))
sandbox_enter(const struct cg_sandbox_plan *plan, int status, int report)
{
	struct cg_child_msg msg = { .kind = CG_CHILD_READY };
	int ruleset = plan->ruleset_fd, notify = -1, join_err = 0, e;
	bool joined = false;
	uint32_t applied = 0;
	ssize_t n;
	char sync;

	/* Die with the gateway; then make signals default and unblocked. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		child_fail(status, CG_STEP_SYNC, errno);
	if ((e = reset_signals()) != 0)
		child_fail(status, CG_STEP_SYNC, e);
	/* 0. The gateway writes our uid/gid maps; nothing works before. */
	if ((n = read(status, &sync, 1)) != 1)
		child_fail(status, CG_STEP_SYNC, n < 0 ? errno : EPIPE);
	/* 1. New session: no controlling terminal, so TIOCSTI cannot push
	 *    keystrokes into the user's shell. */
	if (setsid() < 0)
		child_fail(status, CG_STEP_SESSION, errno);
	applied |= CG_LAYER_SESSION;
	/* 2. Namespaces exist since clone3; record which. Without a pid
	 *    namespace the init cannot vouch that nothing is left: no
	 *    report, the gateway waits for its exit. */
	applied |= namespaces_applied(plan->clone_flags);
	if (!(plan->clone_flags & CLONE_NEWPID) && report >= 0) {
		if (close(report) != 0)
			child_fail(status, CG_STEP_SYNC, errno);
		report = -1;
	}
	/* 3. Final uid/gid (the namespace capabilities stay until step 7). */
	if ((e = sandbox_ids_enter(plan)) != 0)
		child_fail(status, CG_STEP_IDS, e);
	/* 4. Filesystem view: private mounts, only the granted paths under
	 *    a fresh root, our own /proc, our hostname. */
	if ((e = sandbox_ns_mounts_enter(plan, &applied)) != 0)
		child_fail(status, CG_STEP_MOUNTS, e);
	if ((e = sandbox_ns_hostname_enter(plan)) != 0)
		child_fail(status, CG_STEP_HOSTNAME, e);
	/* 5. Descriptors: 0-2, gateway on 3, key on 4, nothing else, before
	 *    the limits: a busy gateway's descriptors may lie above the
	 *    client's open_files limit, and moving them needs room. The
	 *    environment is plan->envp, given to execve below. */
	if ((e = sandbox_fds_enter(plan, &status, &ruleset, &report)) != 0)
		child_fail(status, CG_STEP_FDS, e);
	applied |= CG_LAYER_FDS | CG_LAYER_ENV;
	/* 6. Resource limits, soft = hard. */
	if ((e = sandbox_limits_enter(plan)) != 0)
		child_fail(status, CG_STEP_RLIMITS, e);
	applied |= plan->planned & CG_LAYER_RLIMITS;
	/* 7. No capabilities in any set. */
	if ((e = sandbox_caps_enter()) != 0)
		child_fail(status, CG_STEP_CAPS, e);
	applied |= plan->planned & CG_LAYER_CREDS;
	/* 8. no_new_privs: no setuid or file-capability gain across exec,
	 *    and the precondition for Landlock and seccomp without privilege. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_fail(status, CG_STEP_NNP, errno);
	applied |= CG_LAYER_NNP;
	/* 9. Landlock: files, TCP, abstract sockets and signals (the /proc
	 *    grants are ours to add: only this process has that /proc). */
	if ((e = sandbox_landlock_proc_enter(plan, ruleset)) != 0 ||
	    (e = sandbox_landlock_enter(plan, ruleset, &applied)) != 0)
		child_fail(status, CG_STEP_LANDLOCK, e);
	/* 10. The init stays pid 1 and forks the program (init.c). */
	fork_program(status, ruleset, report);
	/* 11. The program joins the sandbox's cgroup itself, through the
	 *     gateway's descriptors (cgroup.c): no pid is named, so none can
	 *     have been reused by the time of the write. */
	if (plan->n_cgroups > 0) {
		if ((e = sandbox_cgroup_enter(status, plan->n_cgroups, &joined,
		    &join_err)) != 0)
			child_fail(status, CG_STEP_CGROUP, e);
		if (joined)
			applied |= CG_LAYER_CGROUP;
		msg.err = join_err;
	}
	/* 12. seccomp last: from here on only the profile's syscalls. The
	 *     filter comes from the gateway now (sandbox_seccomp_send). */
	if ((plan->planned & CG_LAYER_SECCOMP) &&
	    (e = sandbox_seccomp_enter(status, &notify)) != 0)
		child_fail(status, CG_STEP_SECCOMP, e);
	if (notify >= 0)
		applied |= CG_LAYER_SECCOMP;
	/* 13. Report what was applied, hand over the listener, exec; the
	 *     gateway learns the program's pid from this message. */
	msg.applied = applied;
	msg.landlock_abi = plan->landlock_abi;
	if ((e = child_send(status, &msg, notify)) != 0)
		child_fail(status, CG_STEP_REPORT, e);
	if (notify >= 0 && close(notify) != 0)
		child_fail(status, CG_STEP_REPORT, errno);
	execve(plan->program, plan->argv, plan->envp);
	child_fail(status, CG_STEP_EXEC, errno);
}

/* Reads one status message; returns 1 for a message, 0 for EOF. *sender
 * is the kernel's word for the sending process (0 if absent). */
static int
recv_status(int fd, struct cg_child_msg *msg, int *passed_fd, pid_t *sender,
    struct cg_error *err)
{
	char cbuf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { msg, sizeof(*msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return cg_error_set(err, "reading the child's status: %s", strerror(errno));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
		size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[4];

		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cred;

			memcpy(&cred, CMSG_DATA(c), sizeof(cred));
			*sender = cred.pid;
			continue;
		}
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    nfd > 4)
			continue;
		memcpy(fds, CMSG_DATA(c), nfd * sizeof(int));
		for (size_t i = 0; i < nfd; i++) {
			if (*passed_fd < 0 && msg->kind == CG_CHILD_READY)
				*passed_fd = fds[i];
			else
				close(fds[i]);
		}
	}
	if (n == 0)
		return 0;
	if ((size_t)n != sizeof(*msg) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return cg_error_set(err, "malformed status message from the child");
	return 1;
}

struct spawn_state {
	bool ready;
	bool exec_answered;
	bool need_exec_answer;
	int notify_fd;
};

/* The first notification must be our own execve of the program. */
static int
answer_first_exec(struct spawn_state *st, pid_t pid, struct cg_error *err)
{
	struct seccomp_notif n;
	struct cg_sandbox_event ev;

	int rc = sandbox_notify_recv(st->notify_fd, &n, err);

	if (rc <= 0)
		return rc;      /* error, or the notification vanished */
	if (!sandbox_notify_is_exec(&n) || st->exec_answered || !st->need_exec_answer ||
	    (pid_t)n.pid != pid) {
		sandbox_notify_describe(&n, &ev);
		return cg_error_set(err, "the child made syscall %s (%d) before its exec",
		    ev.name, ev.nr);
	}
	if (sandbox_notify_respond(st->notify_fd, n.id, 0,
	    SECCOMP_USER_NOTIF_FLAG_CONTINUE) != 0)
		return cg_error_set(err, "answering the child's exec: %s", strerror(errno));
	st->exec_answered = true;
	return 0;
}

static int
handle_status(struct cg_sandbox_plan *plan, int status, struct spawn_state *st,
    bool *done, struct cg_error *err)
{
	struct cg_child_msg msg = { 0 };
	pid_t sender = 0;
	int rc = recv_status(status, &msg, &st->notify_fd, &sender, err);

	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (!st->ready || (st->need_exec_answer && !st->exec_answered))
			return cg_error_set(err, "the child exited while entering the sandbox");
		*done = true;
		return 0;
	}
	if (msg.kind == CG_CHILD_FAILED)
		return cg_error_set(err, "sandbox step \"%s\" failed: %s",
		    sandbox_step_name((int)msg.step), strerror(msg.err));
	if (msg.kind != CG_CHILD_READY || st->ready)
		return cg_error_set(err, "unexpected status message from the child");
	st->ready = true;
	/* Only the program child sends READY (the init sends nothing once it
	 * runs): its credentials name the process the gateway will accept
	 * messages from. */
	if (sender <= 0 || sender == plan->pid)
		return cg_error_set(err, "the program's status message carried no "
		    "credentials");
	plan->program_pid = sender;
	/* The program joined its cgroup itself (step 11); one that could not
	 * is a missing layer, fatal only if required. */
	if (plan->n_cgroups > 0 && !plan->cgroup_failed) {
		if (msg.applied & CG_LAYER_CGROUP)
			plan->cgroup_applied = true;
		else if (sandbox_cgroup_failed(plan, msg.err > 0 ? msg.err : EPROTO, err) != 0)
			return -1;
	}
	if (!plan->cgroup_applied)
		msg.applied &= ~(uint32_t)CG_LAYER_CGROUP;
	plan->applied = msg.applied;
	/* The attestation is a fact: a required layer the child did not
	 * apply ends the spawn here, whatever the plan said. */
	for (uint32_t bit = 1; bit <= CG_LAYER_ALL; bit <<= 1)
		if (plan->required & ~msg.applied & bit)
			return cg_error_set(err, "sandbox layer \"%s\" is required by the "
			    "policy but the child could not apply it (list it under "
			    "\"degrade\" to run without it)", sandbox_layer_name(bit));
	if (plan->filter_len > 0 && st->notify_fd < 0)
		return cg_error_set(err, "the child did not pass its seccomp listener");
	return 0;
}

/* Parent: waits until the child has exec'd (EOF on status) or failed. */
static int
await_exec(struct cg_sandbox_plan *plan, int status, int pidfd,
    struct spawn_state *st, struct cg_error *err)
{
	uint64_t deadline = cg_now_ns() + (uint64_t)SPAWN_TIMEOUT_MS * 1000000;
	bool done = false;

	while (!done) {
		/* After the exec is answered, notifications belong to the
		 * program and so to the gateway's loop, not to us. */
		struct pollfd p[3] = { { status, POLLIN, 0 },
		    { st->exec_answered ? -1 : st->notify_fd, POLLIN, 0 },
		    { pidfd, POLLIN, 0 } };
		uint64_t now = cg_now_ns();
		int n;

		if (now >= deadline)
			return cg_error_set(err, "the child did not start within %d ms",
			    SPAWN_TIMEOUT_MS);
		n = poll(p, 3, (int)((deadline - now) / 1000000) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cg_error_set(err, "poll: %s", strerror(errno));
		if ((p[1].revents & POLLIN) &&
		    answer_first_exec(st, plan->program_pid, err) != 0)
			return -1;
		if ((p[0].revents & (POLLIN | POLLHUP)) &&
		    handle_status(plan, status, st, &done, err) != 0)
			return -1;
		if (!done && (p[2].revents & POLLIN) && !(p[0].revents & (POLLIN | POLLHUP)))
			return cg_error_set(err, "the child died while entering the sandbox");
	}
	return 0;
}

static pid_t
clone_child(uint64_t flags, int *pidfd)
{
	struct clone_args ca;
	pid_t pid;

	memset(&ca, 0, sizeof(ca));
	ca.flags = CLONE_PIDFD | flags;
	ca.pidfd = (uint64_t)(uintptr_t)pidfd;
	ca.exit_signal = SIGCHLD;
	pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
	/* Container runtimes' seccomp profiles answer ENOSYS to clone3;
	 * clone() takes the same flags and returns the pidfd through its
	 * parent_tid argument. Without a stack it behaves like fork. */
	if (pid < 0 && errno == ENOSYS)
		pid = (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PIDFD | flags | SIGCHLD),
		    NULL, pidfd, NULL, 0UL);
	return pid;
}

/* clone3 with every namespace; without them only if the policy allows. */
static pid_t
start_child(struct cg_sandbox_plan *plan, int status_child, int report_child,
    int *pidfd, struct cg_error *err)
{
	sigset_t all, old;
	pid_t pid;
	int e;

	/* No gateway signal handler may run in the child before it resets
	 * them; the child unblocks after reset_signals(). */
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		return cg_error_set(err, "pthread_sigmask failed");
	pid = clone_child(plan->clone_flags, pidfd);
	if (pid < 0 && (errno == EPERM || errno == EINVAL || errno == ENOSPC ||
	    errno == EUSERS) && (plan->required & CG_LAYER_NAMESPACES) == 0) {
		plan->clone_flags = 0;
		pid = clone_child(0, pidfd);
	}
	e = errno;
	if (pid == 0)
		sandbox_enter(plan, status_child, report_child);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return cg_error_set(err, "creating the namespaces failed: %s%s", strerror(e),
		    e == EPERM || e == ENOSPC ? " (are unprivileged user namespaces "
		    "disabled?)" : "");
	return pid;
}

/* The cgroup's directories and limits, while the child enters its
 * sandbox (the program joins at its step 11). */
static int
create_cgroup(struct cg_sandbox_plan *plan, pid_t init, struct cg_error *err)
{
	int e = plan->n_cgroups > 0 ? sandbox_cgroup_create(plan, init) : 0;

	return e != 0 ? sandbox_cgroup_failed(plan, e, err) : 0;
}

void
sandbox_kill_and_reap(int pidfd)
{
	siginfo_t si;

	/* ESRCH: it is already exiting; the wait still reaps it */
	syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) != 0 && errno == EINTR)
		;
	close(pidfd);
}

/*
 * sandbox_spawn() in two halves, so that a gateway can do its own start-up
 * work (open its audit log) while the child creates its namespaces and
 * applies its layers on another CPU. The program cannot run before
 * sandbox_spawn_finish(): its exec waits in the seccomp notification that
 * only _finish answers, and _abort kills the child instead.
 */
int
sandbox_spawn_start(struct cg_sandbox_plan *plan, struct cg_error *err)
{
	int sp[2], rp[2], pidfd = -1, one = 1;
	pid_t pid;

	if (plan->spawned)
		return cg_error_set(err, "a sandbox plan is for one spawn only");
	if (pipe2(rp, O_CLOEXEC | O_NONBLOCK) != 0)
		return cg_error_set(err, "pipe: %s", strerror(errno));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) {
		cg_error_set(err, "socketpair: %s", strerror(errno));
		close(rp[0]);
		close(rp[1]);
		return -1;
	}
	if (setsockopt(sp[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0) {
		cg_error_set(err, "SO_PASSCRED: %s", strerror(errno));
		close(sp[0]);
		close(sp[1]);
		close(rp[0]);
		close(rp[1]);
		return -1;
	}
	pid = start_child(plan, sp[1], rp[1], &pidfd, err);
	close(sp[1]);
	close(rp[1]);
	/* Without a pid namespace the init does not report (sandbox_enter). */
	if (pid < 0 || !(plan->clone_flags & CLONE_NEWPID)) {
		close(rp[0]);
		rp[0] = -1;
	}
	if (pid < 0) {
		close(sp[0]);
		return -1;
	}
	plan->spawned = true;
	plan->pid = pid;
	plan->status_fd = sp[0];
	plan->pidfd = pidfd;
	plan->report_fd = rp[0];
	if (sandbox_ns_write_maps(plan, pid, err) != 0 ||
	    cg_write_full(sp[0], "g", 1) != 1 ||
	    create_cgroup(plan, pid, err) != 0) {
		if (err != NULL && err->msg[0] == '\0')
			cg_error_set(err, "starting the child: %s", strerror(errno));
		sandbox_spawn_abort(plan);
		return -1;
	}
	return 0;
}

void
sandbox_spawn_abort(struct cg_sandbox_plan *plan)
{
	if (plan == NULL || plan->pidfd < 0)
		return;
	if (plan->report_fd >= 0)
		close(plan->report_fd);
	plan->report_fd = -1;
	close(plan->status_fd);
	plan->status_fd = -1;
	sandbox_kill_and_reap(plan->pidfd);
	plan->pidfd = -1;
}

int
sandbox_spawn_finish(struct cg_sandbox_plan *plan, struct cg_child *out,
    struct cg_error *err)
{
	struct spawn_state st = { .notify_fd = -1 };

	memset(out, 0, sizeof(*out));
	out->pidfd = out->notify_fd = -1;
	if (plan->pidfd < 0)
		return cg_error_set(err, "no child started from this plan");
	/* The program child reads the cgroup's descriptors, then the
	 * filter; a filter that did not compile fails the spawn. */
	if (sandbox_cgroup_send(plan, plan->status_fd, err) != 0 ||
	    sandbox_seccomp_send(plan, plan->status_fd, err) != 0) {
		sandbox_spawn_abort(plan);
		return -1;
	}
	st.need_exec_answer = plan->filter_len > 0 && !plan->allow_exec;
	if (await_exec(plan, plan->status_fd, plan->pidfd, &st, err) != 0) {
		if (err != NULL && err->msg[0] == '\0')
			cg_error_set(err, "starting the child: %s", strerror(errno));
		if (st.notify_fd >= 0)
			close(st.notify_fd);
		sandbox_spawn_abort(plan);
		return -1;
	}
	close(plan->status_fd);
	plan->status_fd = -1;
	/* The child has its copy; the gateway keeps no descriptor per client
	 * beyond the two it is handed. */
	if (plan->ruleset_fd >= 0) {
		close(plan->ruleset_fd);
		plan->ruleset_fd = -1;
	}
	out->pid = plan->pid;
	out->program_pid = plan->program_pid;
	out->pidfd = plan->pidfd;
	plan->pidfd = -1;
	out->notify_fd = st.notify_fd;
	out->allow_exec = plan->allow_exec;
	return 0;
}

int
sandbox_spawn(struct cg_sandbox_plan *plan, struct cg_child *out,
    struct cg_error *err)
{
	memset(out, 0, sizeof(*out));
	out->pidfd = out->notify_fd = -1;
	if (sandbox_spawn_start(plan, err) != 0)
		return -1;
	return sandbox_spawn_finish(plan, out, err);
}

int
sandbox_report_fd(const struct cg_sandbox_plan *plan)
{
	return plan != NULL ? plan->report_fd : -1;
}

/*
 * The init writes the program's status (shell-style, one int) once it has
 * killed and reaped everything else in the pid namespace, then exits
 * (init.c). Only the init holds the write end: the program child closes
 * its copy before it runs anything, and the init is not dumpable.
 */
int
sandbox_report_read(struct cg_sandbox_plan *plan, int *code)
{
	int value;
	ssize_t n;

	if (plan == NULL || plan->report_fd < 0)
		return 0;
	do
		n = read(plan->report_fd, &value, sizeof(value));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	/* EOF (the init died without reporting: killed) or a short read,
	 * which the init never makes: no report, ever. */
	close(plan->report_fd);
	plan->report_fd = -1;
	if (n != (ssize_t)sizeof(value) || value < 0 || value > 255)
		return 0;
	*code = value;
	return 1;
}
