/*
 * The seccomp layer, built with libseccomp in the gateway and exported as
 * BPF so that the child installs it with one seccomp() call.
 *
 * Design: the default action, and the action for a foreign architecture
 * (i386 `int 0x80`, the x32 syscall bit), is a user notification, not a
 * silent kill: the gateway receives the syscall number and arguments,
 * records them, kills the client and only then answers (notify.c). execve
 * and execveat also fall to that notification, which lets the gateway
 * allow exactly one exec, the one capgate's own code issues, and deny every
 * later one. A few syscalls that libraries probe get ENOSYS in the filter
 * itself (clone3, so that glibc falls back to clone, whose flags we can
 * check; io_uring_setup in the runtime profile, so that libuv falls back).
 *
 * Arguments are compared over all 64 bits: ioctl requests and socket
 * families are ints to the kernel, so they are masked to their low 32 bits
 * exactly as the kernel truncates them, and any upper bits cannot make an
 * allowed value out of a forbidden one.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/internal.h"

/* Never allowed, whatever a policy says (config.c rejects them by name). */
static const char *const never_names[] = {
	"io_uring_setup", "io_uring_enter", "io_uring_register", "bpf",
	"userfaultfd", "perf_event_open", "keyctl", "add_key", "request_key",
	"ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2",
	"mount_setattr", "move_mount", "open_tree", "fsopen", "fsconfig",
	"fsmount", "fspick", "pivot_root", "unshare", "setns", "chroot",
	"personality", "init_module", "finit_module", "delete_module",
	"kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "acct",
	"quotactl", "quotactl_fd", "open_by_handle_at", "name_to_handle_at",
	"iopl", "ioperm", "syslog", "vhangup", "settimeofday", "clock_settime",
	"adjtimex", "clock_adjtime", "sethostname", "setdomainname",
	"pidfd_getfd", "kcmp", "fanotify_init", "lookup_dcookie", "uselib",
	"modify_ldt", "vm86", "vm86old", "seccomp", "clone3",
};

/* Every profile: what sandbox_enter itself calls after the filter is in
 * place, and what any process needs to exist and exit. */
static const char *const base_names[] = {
	"read", "write", "readv", "writev", "close", "exit", "exit_group",
	"sendmsg", "recvmsg", "rt_sigreturn", "rt_sigaction", "rt_sigprocmask",
	"sigaltstack", "brk", "munmap", "mprotect", "madvise", "futex",
	"restart_syscall", "getpid", "gettid",
};

/* strict: compute, talk to the gateway on fd 3, start through the loader. */
static const char *const strict_names[] = {
	"pread64", "pwrite64", "lseek", "fstat", "newfstatat", "statx",
	"access", "faccessat", "faccessat2", "readlink", "readlinkat", "mremap",
	"nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres",
	"gettimeofday", "time", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "getresuid", "getresgid", "getgroups", "sched_yield",
	"sched_getaffinity", "uname", "getrandom", "arch_prctl",
	"set_tid_address", "set_robust_list", "get_robust_list", "rseq",
	"getrlimit", "setrlimit", "dup", "dup2", "dup3", "pipe", "pipe2", "poll",
	"ppoll", "select", "pselect6", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd2",
	"kill", "tgkill", "tkill", "getcwd", "sendto", "recvfrom", "sendmmsg",
	"recvmmsg", "shutdown", "getsockname", "getpeername",
	"wait4", "waitid", "membarrier", "timerfd_create", "timerfd_settime",
	"timerfd_gettime", "alarm", "setitimer", "getitimer", "rt_sigtimedwait",
	"rt_sigsuspend", "pause", "sysinfo", "getrusage", "times",
	"sched_getparam", "sched_getscheduler", "getpgrp", "getpgid", "getsid",
	"getpriority", "vfork",
};

/* runtime: what interpreters need; files stay confined by Landlock. */
static const char *const runtime_names[] = {
	"creat", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "link", "linkat", "symlink", "symlinkat",
	"ftruncate", "truncate", "fsync", "fdatasync", "sync_file_range",
	"getdents", "getdents64", "statfs", "fstatfs", "fadvise64",
	"sendfile", "copy_file_range", "splice", "tee", "readahead",
	"memfd_create",
	"chdir", "fchdir", "umask", "utimensat",
	"flock", "mincore", "msync", "mlock", "munlock", "timer_create",
	"timer_settime", "timer_gettime", "timer_getoverrun", "timer_delete",
	"rt_sigqueueinfo", "rt_tgsigqueueinfo", "capget", "get_mempolicy",
	"set_mempolicy", "mbind", "setpgid", "sched_setaffinity", "setpriority",
	"pkey_alloc", "pkey_free", "pkey_mprotect", "getxattr", "lgetxattr",
	"fgetxattr", "listxattr", "llistxattr", "flistxattr", "preadv",
	"pwritev", "preadv2", "pwritev2", "sched_getattr", "getcpu",
	"epoll_pwait2", "eventfd", "signalfd4", "close_range",
};

static const unsigned long ioctl_allowed[] = {
	TCGETS, TIOCGWINSZ, FIONREAD, FIONBIO, FIOCLEX, FIONCLEX,
};

/* fcntl without leases (a lease on a file the client can read stalls a
 * host process opening it for writing), F_NOTIFY or F_SETOWN/F_SETSIG. */
static const unsigned long fcntl_allowed[] = {
	F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK,
	F_SETLK, F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_ADD_SEALS,
	F_GET_SEALS, F_GETPIPE_SZ, F_SETPIPE_SZ,
};

/* getsockopt at SOL_SOCKET: what a socket's user asks of it (its type,
 * error, buffers, timeouts, peer's credentials). Not SO_PEERPIDFD, which on
 * fd 3 would hand the client a pidfd of the gateway, nor SO_PEERSEC, nor
 * other levels: the profiles' sockets are AF_UNIX, where those only answer
 * errors. Level and name are ints: compared on their low 32 bits, as the
 * kernel reads them. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
static const unsigned long sockopt_allowed[] = {
	SO_TYPE, SO_ERROR, SO_DOMAIN, SO_PROTOCOL, SO_ACCEPTCONN, SO_RCVBUF,
	SO_SNDBUF, SO_RCVLOWAT, SO_SNDLOWAT, SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW,
	SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW, SO_PASSCRED, SO_PEERCRED, SO_KEEPALIVE,
	SO_LINGER, SO_REUSEADDR, SO_PEEK_OFF, SO_COOKIE,
};

static const unsigned long prctl_strict[] = { PR_SET_NAME, PR_GET_NAME };
static const unsigned long prctl_runtime[] = {
	PR_GET_DUMPABLE, PR_SET_VMA, PR_GET_NO_NEW_PRIVS, PR_CAPBSET_READ,
	PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_SECCOMP, PR_SET_TIMERSLACK,
	PR_GET_TIMERSLACK,
};

#define CLONE_NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | \
	CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)
#define OPEN_WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | \
	020000000 /* O_TMPFILE without O_DIRECTORY */)

bool
sandbox_syscall_never(const char *name)
{
	for (size_t i = 0; i < CG_ARRAY_LEN(never_names); i++)
		if (strcmp(never_names[i], name) == 0)
			return true;
	return false;
}

static int
allow_names(scmp_filter_ctx ctx, const char *const *names, size_t n,
    struct cg_error *err)
{
	for (size_t i = 0; i < n; i++) {
		int nr = seccomp_syscall_resolve_name(names[i]);
		int rc;

		if (nr == __NR_SCMP_ERROR)
			continue;       /* not on this architecture */
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc != 0)
			return cg_error_set(err, "seccomp: allow %s: %s", names[i],
			    strerror(-rc));
	}
	return 0;
}

/* Allows syscall nr when argument `arg` (low 32 bits) is one of values. */
static int
allow_arg_in(scmp_filter_ctx ctx, int nr, unsigned arg,
    const unsigned long *values, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct scmp_arg_cmp cmp = { arg, SCMP_CMP_MASKED_EQ, 0xffffffffu,
		    values[i] & 0xffffffffu };
		int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);

		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
allow_sockopts(scmp_filter_ctx ctx)
{
	for (size_t i = 0; i < CG_ARRAY_LEN(sockopt_allowed); i++) {
		struct scmp_arg_cmp cmp[2] = {
			{ 1, SCMP_CMP_MASKED_EQ, 0xffffffffu, SOL_SOCKET },
			{ 2, SCMP_CMP_MASKED_EQ, 0xffffffffu, sockopt_allowed[i] },
		};
		int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(getsockopt), 2, cmp);

		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * The chmod family, with the mode checked: never set-user-ID, set-group-ID
 * or sticky, never writable by others. Landlock does not govern modes, and
 * the client's stdio may be host files or the user's terminal, which it
 * owns as far as the kernel is concerned: a compromised client must not
 * make them setuid or world-writable (fchmod on fd 1, or chmod through
 * /proc/self/fd). Any other mode goes to the default action.
 *
 * fallocate only with mode 0: with FALLOC_FL_KEEP_SIZE the kernel allocates
 * blocks past the end of the file without checking RLIMIT_FSIZE, so a
 * write grant could take the disk under any file_size_mb.
 */
#define CHMOD_FORBIDDEN_BITS (S_ISUID | S_ISGID | S_ISVTX | S_IWOTH)

static int
add_mode_checks(scmp_filter_ctx ctx)
{
	int rc;

	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(chmod), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, CHMOD_FORBIDDEN_BITS, 0))) != 0 ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fchmod), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, CHMOD_FORBIDDEN_BITS, 0))) != 0 ||
	    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fchmodat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, CHMOD_FORBIDDEN_BITS, 0))) != 0)
		return rc;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fallocate), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0));
}

/*
 * mmap, in every profile, never with MAP_GROWSDOWN: the kernel counts such
 * a mapping as stack, which RLIMIT_DATA (memory_mb) does not bound and
 * RLIMIT_STACK bounds only for the main stack, so one mmap of a growsdown
 * region could hold any amount of memory when no cgroup bounds the sandbox.
 * strict also has no shared anonymous memory (MAP_SHARED, or any type but
 * MAP_PRIVATE, with MAP_ANONYMOUS): it is shmem, which RLIMIT_DATA does not
 * count either. File mappings stay (the loader maps libraries; strict opens
 * files read-only, and its view has no writable or memory-backed file).
 * runtime keeps shared anonymous memory and memfd, which interpreters use:
 * there only a cgroup bounds them (docs/SANDBOX.md, known limits).
 */
#define MAP_TYPE_BITS 0x0f

static int
add_mmap_checks(scmp_filter_ctx ctx, enum cg_sandbox_profile profile)
{
	int rc;

	if (profile != CG_PROFILE_STRICT)
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
		    SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_GROWSDOWN, 0));
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_GROWSDOWN | MAP_ANONYMOUS, 0))) != 0)
		return rc;
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A3(SCMP_CMP_MASKED_EQ, MAP_GROWSDOWN | MAP_ANONYMOUS | MAP_TYPE_BITS,
	    MAP_ANONYMOUS | MAP_PRIVATE));
}

static bool
is_mode_checked(int nr)
{
	return nr == SCMP_SYS(chmod) || nr == SCMP_SYS(fchmod) ||
	    nr == SCMP_SYS(fchmodat) || nr == SCMP_SYS(fallocate);
}

static int
add_checked(scmp_filter_ctx ctx, enum cg_sandbox_profile profile)
{
	int rc = 0;

	/* Threads and fork, never new namespaces. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0));
	rc |= allow_arg_in(ctx, SCMP_SYS(ioctl), 1, ioctl_allowed,
	    CG_ARRAY_LEN(ioctl_allowed));
	rc |= allow_arg_in(ctx, SCMP_SYS(prctl), 0, prctl_strict,
	    CG_ARRAY_LEN(prctl_strict));
	rc |= allow_arg_in(ctx, SCMP_SYS(fcntl), 1, fcntl_allowed,
	    CG_ARRAY_LEN(fcntl_allowed));
	/* Query or lower this process's own limits (the hard limits are set
	 * by sandbox_enter and cannot be raised without privilege). */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
	    SCMP_A0(SCMP_CMP_EQ, 0));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* The client library waits for answers with a receive timeout on its
	 * gateway socket (one syscall per frame instead of poll + recv): only
	 * SOL_SOCKET / SO_RCVTIMEO (both layouts), nothing else. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2,
	    SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET), SCMP_A2(SCMP_CMP_EQ, SO_RCVTIMEO_OLD));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2,
	    SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET), SCMP_A2(SCMP_CMP_EQ, SO_RCVTIMEO_NEW));
	rc |= allow_sockopts(ctx);
	if (profile == CG_PROFILE_STRICT) {
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0));
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
		    SCMP_A1(SCMP_CMP_MASKED_EQ, OPEN_WRITE_FLAGS, 0));
		return rc;
	}
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 0);
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 0);
	rc |= allow_arg_in(ctx, SCMP_SYS(prctl), 0, prctl_runtime,
	    CG_ARRAY_LEN(prctl_runtime));
	/* Connected pairs only: a datagram socket could be pointed (connect,
	 * sendto) at a pathname socket such as /dev/log, which Landlock does
	 * not cover. */
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 2,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_UNIX),
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_STREAM));
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 2,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, AF_UNIX),
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_SEQPACKET));
	if (profile == CG_PROFILE_RUNTIME) {
		rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
		    SCMP_SYS(io_uring_setup), 0);
		rc |= add_mode_checks(ctx);
	}
	return rc;
}

/* For custom profiles: the checked form of a listed syscall. */
static int
add_custom_checked(scmp_filter_ctx ctx, int nr)
{
	if (nr == SCMP_SYS(clone))
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1,
		    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0));
	if (nr == SCMP_SYS(ioctl))
		return allow_arg_in(ctx, nr, 1, ioctl_allowed, CG_ARRAY_LEN(ioctl_allowed));
	if (nr == SCMP_SYS(prctl))
		return allow_arg_in(ctx, nr, 0, prctl_strict, CG_ARRAY_LEN(prctl_strict));
	if (nr == SCMP_SYS(fcntl))
		return allow_arg_in(ctx, nr, 1, fcntl_allowed, CG_ARRAY_LEN(fcntl_allowed));
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 1, SCMP_A0(SCMP_CMP_EQ, 0));
}

/* Whether profile (strict or runtime) already allows nr with its
 * arguments checked: a policy that names it keeps the checks (strict stays
 * read-only, fd 3 gives no pidfd, runtime's socket pairs stay connected). */
static bool
profile_checks(enum cg_sandbox_profile profile, int nr)
{
	return nr == SCMP_SYS(ioctl) || nr == SCMP_SYS(clone) ||
	    nr == SCMP_SYS(prctl) || nr == SCMP_SYS(prlimit64) ||
	    nr == SCMP_SYS(fcntl) || nr == SCMP_SYS(getsockopt) ||
	    nr == SCMP_SYS(setsockopt) || nr == SCMP_SYS(openat) ||
	    nr == SCMP_SYS(open) || (profile == CG_PROFILE_RUNTIME &&
	    (nr == SCMP_SYS(socketpair) || is_mode_checked(nr)));
}

/* Syscalls a policy adds by name; the argument-checked ones keep checks. */
static int
add_extra(scmp_filter_ctx ctx, const struct cg_sandbox_config *cfg,
    struct cg_error *err)
{
	static const unsigned long families[] = { AF_UNIX, AF_INET, AF_INET6 };
	int mode_checks = 0;

	for (size_t i = 0; i < cfg->n_syscalls; i++) {
		int nr = cfg->syscalls[i], rc;

		if (nr == SCMP_SYS(mmap) || (cfg->profile != CG_PROFILE_CUSTOM &&
		    profile_checks(cfg->profile, nr)))
			continue;       /* already present, with their checks */
		if (nr == SCMP_SYS(ioctl) || nr == SCMP_SYS(clone) ||
		    nr == SCMP_SYS(prctl) || nr == SCMP_SYS(prlimit64) ||
		    nr == SCMP_SYS(fcntl))
			rc = add_custom_checked(ctx, nr);
		else if (is_mode_checked(nr))
			rc = mode_checks++ ? 0 : add_mode_checks(ctx);  /* once, for all four */
		else if (nr == SCMP_SYS(socket) || nr == SCMP_SYS(socketpair))
			rc = allow_arg_in(ctx, nr, 0, families, CG_ARRAY_LEN(families));
		else
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
		if (rc != 0 && rc != -EEXIST)
			return cg_error_set(err, "seccomp: syscall %d: %s", nr, strerror(-rc));
	}
	if (cfg->profile == CG_PROFILE_CUSTOM &&
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0)
		return cg_error_set(err, "seccomp: clone3 rule failed");
	return 0;
}

static int
export_filter(scmp_filter_ctx ctx, struct cg_sandbox_config *cfg,
    struct cg_error *err)
{
	int fd = memfd_create("capgate-bpf", MFD_CLOEXEC);
	off_t size;
	int rc;

	if (fd < 0)
		return cg_error_set(err, "seccomp: memfd: %s", strerror(errno));
	rc = seccomp_export_bpf(ctx, fd);
	size = lseek(fd, 0, SEEK_END);
	if (rc != 0 || size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
	    size / (off_t)sizeof(struct sock_filter) > 0xffff) {
		close(fd);
		return cg_error_set(err, "seccomp: export failed (%s)", strerror(rc ? -rc : EINVAL));
	}
	cfg->filter = malloc((size_t)size);
	if (cfg->filter == NULL || pread(fd, cfg->filter, (size_t)size, 0) != size) {
		close(fd);
		return cg_error_set(err, "seccomp: reading the exported filter failed");
	}
	close(fd);
	cfg->filter_len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	return 0;
}

static int
build_rules(scmp_filter_ctx ctx, const struct cg_sandbox_config *cfg,
    struct cg_error *err)
{
	if (allow_names(ctx, base_names, CG_ARRAY_LEN(base_names), err) != 0)
		return -1;
	if (add_mmap_checks(ctx, cfg->profile) != 0)
		return cg_error_set(err, "seccomp: adding the mmap checks failed");
	if (cfg->profile != CG_PROFILE_CUSTOM &&
	    allow_names(ctx, strict_names, CG_ARRAY_LEN(strict_names), err) != 0)
		return -1;
	if (cfg->profile == CG_PROFILE_RUNTIME &&
	    allow_names(ctx, runtime_names, CG_ARRAY_LEN(runtime_names), err) != 0)
		return -1;
	if (cfg->profile != CG_PROFILE_CUSTOM && add_checked(ctx, cfg->profile) != 0)
		return cg_error_set(err, "seccomp: adding argument checks failed");
	if (add_extra(ctx, cfg, err) != 0)
		return -1;
	if (cfg->allow_exec &&
	    (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(execve), 0) != 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(execveat), 0) != 0))
		return cg_error_set(err, "seccomp: allowing exec failed");
	return 0;
}

/* The policy's filter, compiled once. */
int
sandbox_seccomp_compile(struct cg_sandbox_config *cfg, struct cg_error *err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_NOTIFY);
	int rc;

	if (ctx == NULL)
		return cg_error_set(err, "seccomp: seccomp_init failed");
	/* Foreign architectures (i386, x32) take the same road as any other
	 * forbidden call: notify, record, kill. NNP is ours to set. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_NOTIFY) != 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) != 0) {
		seccomp_release(ctx);
		return cg_error_set(err, "seccomp: setting filter attributes failed");
	}
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	rc = build_rules(ctx, cfg, err);
	if (rc == 0)
		rc = export_filter(ctx, cfg, err);
	seccomp_release(ctx);
	return rc;
}

/*
 * libseccomp takes 0.3 to 0.4 ms of CPU to compile a profile in a new
 * process (probing the kernel, building its database, generating the
 * BPF): 2.4M of the 3.9M user instructions `capgate run /bin/true` ran
 * (docs/PERFORMANCE.md, spawn). So the filters of the built-in profiles
 * without extra syscalls, which depend on nothing else in a policy, are
 * compiled when capgate is built, by this same function and the same
 * libseccomp (seccomp_gen.c), and a policy that uses one takes a copy.
 *
 * Any other filter is compiled here. Nothing needs it before
 * sandbox_prepare(), so it is compiled on a thread of its own while the
 * gateway loads the rest of the policy, opens its audit log and resolves
 * the client's program. The syscall names were checked by the parser
 * already; what can still fail here (memory, libseccomp) is reported by
 * sandbox_seccomp_wait() and fails the prepare, before any process exists.
 * One compile at a time: libseccomp keeps process-wide state (the
 * kernel's API level) that it fills in on first use.
 */
struct cg_seccomp_build {
	pthread_t thread;
	bool running;               /* started and not joined */
	int rc;
	struct cg_error err;
	struct cg_sandbox_config *cfg;
};

static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;

static void *
build_thread(void *arg)
{
	struct cg_seccomp_build *b = arg;

	pthread_mutex_lock(&build_lock);
	b->rc = sandbox_seccomp_compile(b->cfg, &b->err);
	pthread_mutex_unlock(&build_lock);
	return NULL;
}

const struct cg_seccomp_prebuilt *
sandbox_seccomp_prebuilt(const struct cg_sandbox_config *cfg)
{
	if (cfg->n_syscalls != 0)
		return NULL;
	for (size_t i = 0; i < cg_seccomp_prebuilt_n; i++) {
		const struct cg_seccomp_prebuilt *p = &cg_seccomp_prebuilt[i];

		if (p->profile == cfg->profile && p->allow_exec == cfg->allow_exec)
			return p;
	}
	return NULL;
}

int
sandbox_seccomp_start(struct cg_sandbox_config *cfg, struct cg_error *err)
{
	struct cg_seccomp_build *b = calloc(1, sizeof(*b));
	const struct cg_seccomp_prebuilt *pre = sandbox_seccomp_prebuilt(cfg);
	sigset_t all, old;

	if (b == NULL)
		return cg_error_set(err, "out of memory");
	b->cfg = cfg;
	cfg->build = b;
	if (pre != NULL) {
		size_t size = (size_t)pre->len * sizeof(*pre->filter);

		cfg->filter = malloc(size);
		if (cfg->filter == NULL)
			return cg_error_set(err, "out of memory");
		memcpy(cfg->filter, pre->filter, size);
		cfg->filter_len = pre->len;
		return 0;
	}
	/* The thread takes no signals: the gateway reads its own from a
	 * signalfd, which needs them blocked in every thread. */
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) != 0)
		return cg_error_set(err, "pthread_sigmask failed");
	b->running = pthread_create(&b->thread, NULL, build_thread, b) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!b->running)
		build_thread(b);    /* no thread to be had: compile here */
	return 0;
}

int
sandbox_seccomp_wait(const struct cg_sandbox_config *cfg, struct cg_error *err)
{
	struct cg_seccomp_build *b = cfg->build;

	if (b == NULL)
		return cg_error_set(err, "seccomp: the policy has no filter");
	if (b->running) {
		pthread_join(b->thread, NULL);
		b->running = false;
	}
	if (b->rc != 0) {
		if (err != NULL)
			*err = b->err;
		return -1;
	}
	return 0;
}

void
sandbox_seccomp_stop(struct cg_sandbox_config *cfg)
{
	if (cfg->build == NULL)
		return;
	(void)sandbox_seccomp_wait(cfg, NULL);
	free(cfg->build);
	cfg->build = NULL;
}

int
sandbox_config_compiled(const struct cg_sandbox_config *cfg,
    struct cg_error *err)
{
	return sandbox_seccomp_wait(cfg, err);
}

/*
 * The filter may still be compiling (sandbox_seccomp_start) when the child
 * is cloned: the child needs it only at step 12, so it gets it over its
 * status socket from sandbox_spawn_finish() (sandbox_seccomp_send), and
 * the compiling overlaps the child's namespaces and mounts.
 */
int
sandbox_seccomp_prepare(const struct cg_sandbox_config *cfg,
    struct cg_sandbox_plan *plan, struct cg_error *err)
{
	if (cfg->build == NULL)
		return cg_error_set(err, "seccomp: the policy has no filter");
	plan->seccomp_cfg = cfg;
	plan->planned |= CG_LAYER_SECCOMP;
	return 0;
}

/* Gateway: the compiled filter, into the plan (for the attestation) and
 * to the child, as one message. 0, or -1 with err if it did not compile.
 * A failed send is not reported here: the child is gone, and its status
 * message (or its death) says why. */
int
sandbox_seccomp_send(struct cg_sandbox_plan *plan, int status,
    struct cg_error *err)
{
	const struct cg_sandbox_config *cfg = plan->seccomp_cfg;
	size_t size;
	ssize_t n;

	if (cfg == NULL)
		return 0;
	if (sandbox_seccomp_wait(cfg, err) != 0)
		return -1;
	plan->seccomp_cfg = NULL;
	if (cfg->filter == NULL || cfg->filter_len > BPF_MAXINSNS)
		return cg_error_set(err, "seccomp: the policy has no usable filter");
	size = (size_t)cfg->filter_len * sizeof(struct sock_filter);
	do
		n = send(status, cfg->filter, size, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	/* A child that died meanwhile (EPIPE) is reported by the spawn's
	 * next read; anything else would leave it waiting for its filter. */
	if (n < 0 && errno != EPIPE)
		return cg_error_set(err, "seccomp: sending the filter: %s",
		    strerror(errno));
	if (n >= 0 && (size_t)n != size)
		return cg_error_set(err, "seccomp: the filter was cut in sending");
	plan->filter_len = cfg->filter_len;
	return 0;
}

/* Child side: the filter goes in last; it arrives over the status socket
 * (into a static buffer: the child allocates nothing); the listener comes
 * back in *fd. */
int
sandbox_seccomp_enter(int status, int *notify_fd)
{
	static struct sock_filter filter[BPF_MAXINSNS];
	struct iovec iov = { filter, sizeof(filter) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct sock_fprog prog = { .filter = filter };
	ssize_t n;
	long fd;

	*notify_fd = -1;
	do
		n = recvmsg(status, &mh, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno;
	if (n == 0 || (mh.msg_flags & MSG_TRUNC) ||
	    (size_t)n % sizeof(struct sock_filter) != 0)
		return EPROTO;
	prog.len = (unsigned short)((size_t)n / sizeof(struct sock_filter));
	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0)
		return errno;
	*notify_fd = (int)fd;
	return 0;
}
