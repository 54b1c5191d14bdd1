/*
 * The sandbox's init: pid 1 of the pid namespace, capgate's own code (the
 * cloned child after the sandbox layers, no exec of its own).
 *
 * Why it exists: pid 1 ignores every signal it has no handler for, and
 * cannot die of its own signal. A program that is pid 1 therefore ignores
 * the SIGTERM the gateway forwards, dies of SIGSEGV when it abort()s, and
 * cannot kill itself. With this init the program is pid 2, an ordinary
 * process, and `capgate run -- PROGRAM` exits like a shell would: with
 * PROGRAM's code, or 128+N if signal N killed it.
 *
 * Confinement: the init runs every layer the program does (namespaces,
 * ids, view, limits, no capabilities, no_new_privs, Landlock). Instead of
 * the program's seccomp filter it installs its own, built here and far
 * narrower than any profile (wait, kill, sigtimedwait, exit), with
 * KILL_PROCESS as the default: so no profile has to grant fork, kill or
 * wait to the program for the init's sake, and nothing in the namespace
 * runs without a filter once the program's code runs. The program child
 * installs the policy's filter (with the listener) itself, after the fork.
 * The init reads nothing from the program; its only inputs are signals
 * and its children's exit statuses.
 *
 * The report: with a pid namespace the init is the namespace's reaper, so
 * once the program has ended it kills whatever else is left (kill(-1)
 * from pid 1 reaches every other process of the namespace) and reaps
 * until wait says ECHILD: then nothing the program started is alive. It
 * writes the program's status to the report pipe (its only descriptor)
 * and only then exits, so the gateway learns the status without waiting
 * for the kernel to tear the namespaces down (unmounting the view, freeing
 * the network namespace), as bubblewrap's pid 1 reports over an eventfd.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/internal.h"

#if defined(__x86_64__)
#define INIT_AUDIT_ARCH AUDIT_ARCH_X86_64
#define INIT_NR_LIMIT 0x40000000u       /* x32 calls carry this bit */
#elif defined(__aarch64__)
#define INIT_AUDIT_ARCH AUDIT_ARCH_AARCH64
#define INIT_NR_LIMIT 0xffffffffu
#else
#error "the sandbox init's filter needs this architecture's AUDIT_ARCH"
#endif

#define INIT_ALLOW(nr) \
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), \
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/* The report pipe's number in the init once fds 0-4 are closed. */
#define INIT_REPORT_FD 0
#define INIT_ARG0_LO offsetof(struct seccomp_data, args[0])
#define INIT_ARG0_HI (offsetof(struct seccomp_data, args[0]) + 4)
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the sandbox init's filter reads the low word of args[0] first"
#endif

/* Everything the init calls after it is installed; anything else kills. */
static const struct sock_filter init_filter[] = {
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, INIT_AUDIT_ARCH, 1, 0),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, INIT_NR_LIMIT, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	INIT_ALLOW(SYS_rt_sigtimedwait),
	INIT_ALLOW(SYS_wait4),
	INIT_ALLOW(SYS_kill),
	INIT_ALLOW(SYS_exit_group),
	INIT_ALLOW(SYS_exit),
	INIT_ALLOW(SYS_restart_syscall),
	INIT_ALLOW(SYS_rt_sigreturn),
	/* write(INIT_REPORT_FD, ...) only: the status report */
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 0, 5),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, INIT_ARG0_LO),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, INIT_REPORT_FD, 0, 3),
	BPF_STMT(BPF_LD | BPF_W | BPF_ABS, INIT_ARG0_HI),
	BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
};

/* Init: the descriptors are the program's, not ours; holding the status
 * socket would hide the exec (its EOF) from the gateway. The report pipe,
 * if any, is kept as INIT_REPORT_FD, the one fd the filter lets it write. */
static int
init_close_fds(int status, int ruleset, int report)
{
	for (int fd = 0; fd < CG_SANDBOX_FIRST_FREE_FD; fd++)
		if (close(fd) != 0 && errno != EBADF)
			return errno;
	/* Landlock has usually closed the ruleset already. */
	if (ruleset >= 0 && close(ruleset) != 0 && errno != EBADF)
		return errno;
	if (close(status) != 0)
		return errno;
	if (report >= 0 && (dup2(report, INIT_REPORT_FD) != INIT_REPORT_FD ||
	    close(report) != 0))
		return errno;
	return 0;
}

static int
init_install_filter(void)
{
	struct sock_fprog prog = { .len = CG_ARRAY_LEN(init_filter),
	    .filter = (struct sock_filter *)(uintptr_t)init_filter };

	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0 ? errno : 0;
}

/* Reaps every child that has exited; returns the program's exit code for
 * capgate (128+N for signal N) once the program is among them, else -1. */
static int
init_reap(pid_t program)
{
	int status, code = -1;
	pid_t pid;

	while ((pid = (pid_t)syscall(SYS_wait4, -1, &status, WNOHANG, NULL)) > 0 ||
	    (pid < 0 && errno == EINTR)) {
		if (pid != program)
			continue;
		if (WIFEXITED(status))
			code = WEXITSTATUS(status);
		else if (WIFSIGNALED(status))
			code = 128 + WTERMSIG(status);
	}
	return code;
}

/*
 * The program has ended with code. With a report pipe (pid namespace
 * only: kill(-1) outside one would reach every process of the user), kill
 * and reap everything left until there is no child at all, then report.
 * ECHILD proves the namespace holds only the init: every process in it
 * descends from the init, an exiting process's children are handed to the
 * init before it can be reaped, and kill(-1) is atomic with fork (a fork
 * either finishes before the kill, and the new process is killed, or
 * fails). __WALL: children with another exit signal count too.
 */
/* Not declared noreturn: a sanitizer's instrumentation of a call to a
 * noreturn function makes syscalls the filter does not allow. */
static void
init_finish(int code, bool report)
{
	if (report) {
		pid_t pid;

		do {
			(void)syscall(SYS_kill, -1L, (long)SIGKILL);
			pid = (pid_t)syscall(SYS_wait4, -1L, NULL, (long)__WALL, NULL);
		} while (pid > 0 || errno == EINTR);
		/* Nothing to do if it fails: the gateway then waits for
		 * our exit, as without a report. The fd goes as a long: the
		 * filter checks all 64 bits, and an int passed through
		 * syscall()'s varargs may leave the upper half undefined. */
		(void)syscall(SYS_write, (long)INIT_REPORT_FD, &code, (long)sizeof(code));
	}
	syscall(SYS_exit_group, (long)code);
}

void
sandbox_init_run(pid_t program, int status, int ruleset, int report)
{
	sigset_t all;
	siginfo_t si;
	int code;

	/* Every signal stays blocked (sandbox_enter blocked them before the
	 * fork): blocked signals are queued even for pid 1, and are taken
	 * here one by one instead of by handlers. */
	sigfillset(&all);
	/* Not dumpable since before the fork (fork_program): the program
	 * (same uid) cannot open /proc/1/mem or /proc/1/fd even where /proc
	 * is granted and Yama is off. */
	if (init_close_fds(status, ruleset, report) != 0 ||
	    init_install_filter() != 0)
		syscall(SYS_exit_group, 127);
	for (;;) {
		int sig = (int)syscall(SYS_rt_sigtimedwait, &all, &si, NULL, _NSIG / 8);

		if (sig < 0)
			continue;       /* EINTR */
		if (sig != SIGCHLD) {
			/* The program may be gone already (ESRCH): the
			 * SIGCHLD that follows ends the loop. */
			(void)syscall(SYS_kill, program, sig);
			continue;
		}
		if ((code = init_reap(program)) >= 0)
			init_finish(code, report >= 0);
	}
}
