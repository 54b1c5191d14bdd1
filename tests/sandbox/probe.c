/*
 * What a compromised front-end would try, one attempt per run:
 *
 *   probe ATTEMPT [ARG]
 *
 * prints one line "ATTEMPT VERDICT detail" on stdout, where VERDICT is
 * BLOCKED (the attempt failed), ALLOWED (it worked: a hole) or OK / FAIL
 * for the controls that must work. A seccomp violation kills the probe
 * before it can print anything; the harness sees that and the gateway's
 * notification event. Forbidden calls are made harmlessly where possible
 * (bad fd, bad pointer), as bubblewrap's try-syscall does, so a call that
 * is let through shows as EBADF / EFAULT / EINVAL rather than doing harm.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <linux/capability.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <poll.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *attempt;

static int
report(const char *verdict, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
report(const char *verdict, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("%s %s %s\n", attempt, verdict, buf);
	fflush(stdout);
	return 0;
}

/* A call that returned: blocked if it failed, ALLOWED if it worked. */
static int
verdict_rc(long rc, int e)
{
	if (rc < 0)
		return report("BLOCKED", "errno=%d (%s)", e, strerror(e));
	return report("ALLOWED", "rc=%ld", rc);
}

/* Harmless try: EPERM/EACCES/ENOSYS mean blocked, anything else allowed. */
static int
verdict_try(long rc, int e)
{
	if (rc < 0 && (e == EPERM || e == EACCES || e == ENOSYS))
		return report("BLOCKED", "errno=%d (%s)", e, strerror(e));
	return report("ALLOWED", "rc=%ld errno=%d (%s)", rc, e, strerror(e));
}

/* errno must be read after the call: argument order is unspecified. */
#define RC(call) do { long rc_ = (long)(call); int e_ = errno; \
	return verdict_rc(rc_, e_); } while (0)
#define TRY(call) do { long rc_ = (long)(call); int e_ = errno; \
	return verdict_try(rc_, e_); } while (0)

static int
try_open(const char *path, int flags)
{
	int fd = open(path, flags, 0600);

	return verdict_rc(fd, errno);
}

static int
try_list(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	long n;

	if (fd < 0)
		return verdict_rc(-1, errno);
	n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
	return verdict_rc(n, errno);
}

static int
try_exec(const char *path)
{
	char *argv[] = { (char *)(uintptr_t)path, NULL };

	execve(path, argv, environ);
	return verdict_try(-1, errno);
}

static int
try_exec_memfd(void)
{
	static const char text[] = "#!/bin/sh\necho hi\n";
	char *argv[] = { (char *)"x", NULL };
	int fd = (int)syscall(SYS_memfd_create, "x", 0);

	if (fd < 0)
		return verdict_rc(-1, errno);
	if (write(fd, text, sizeof(text) - 1) < 0)
		return report("FAIL", "write memfd: %s", strerror(errno));
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	return verdict_try(-1, errno);
}

static int
try_socket(int family)
{
	int fd = socket(family, SOCK_STREAM, 0);

	if (fd < 0 && (errno == ESOCKTNOSUPPORT || errno == EPROTONOSUPPORT ||
	    errno == EINVAL))
		fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0 && (errno == ESOCKTNOSUPPORT || errno == EPROTONOSUPPORT ||
	    errno == EINVAL))
		fd = socket(family, SOCK_RAW, 0);
	if (fd < 0 && errno == EAFNOSUPPORT)
		return report("BLOCKED", "family %d not supported", family);
	return verdict_rc(fd, errno);
}

static int
try_connect_unix(const char *path, int abstract)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0)
		return verdict_rc(-1, errno);
	if (abstract) {
		memcpy(sa.sun_path + 1, path, strlen(path));
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path));
	} else {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
		len = sizeof(sa);
	}
	RC(connect(fd, (struct sockaddr *)&sa, len));
}

static int
try_i386(void)
{
	long rc;

	/* i386 getpid (20) through the 32-bit entry point. */
	__asm__ volatile ("int $0x80" : "=a"(rc) : "a"(20L) : "memory");
	if (rc < 0)
		return verdict_rc(-1, (int)-rc);
	return report("ALLOWED", "i386 getpid=%ld", rc);
}

/* i386 socket (359): AF_UNIX, SOCK_STREAM through the 32-bit entry point. */
static int
try_i386_socket(void)
{
	long rc;

	__asm__ volatile ("int $0x80" : "=a"(rc) : "a"(359L), "b"(1L), "c"(1L), "d"(0L)
	    : "memory");
	if (rc < 0)
		return verdict_rc(-1, (int)-rc);
	return report("ALLOWED", "i386 socket=%ld", rc);
}

static int
check_fds(void)
{
	char found[256] = "";

	for (int fd = 0; fd < 1024; fd++) {
		if (fd <= 3 || fcntl(fd, F_GETFD) < 0)
			continue;
		snprintf(found + strlen(found), sizeof(found) - strlen(found), " %d", fd);
	}
	if (found[0] != '\0')
		return report("ALLOWED", "open fds:%s", found);
	return report("BLOCKED", "only 0-3 open");
}

static int
check_env(void)
{
	for (char **e = environ; *e != NULL; e++)
		if (strncmp(*e, "CAPGATE_PROBE_OK=", 17) != 0 && strncmp(*e, "PATH=", 5) != 0)
			return report("ALLOWED", "leaked %.60s", *e);
	if (getenv("CAPGATE_PROBE_OK") == NULL)
		return report("FAIL", "allowed variable missing");
	return report("BLOCKED", "only the allowed variables");
}

static int
fork_bomb(void)
{
	int n = 0;

	for (; n < 2000; n++) {
		pid_t p = fork();

		if (p == 0) {
			pause();
			_exit(0);
		}
		if (p < 0)
			return report("BLOCKED", "fork failed after %d: %s", n, strerror(errno));
	}
	return report("ALLOWED", "%d processes", n);
}

/* Touches every page through a volatile pointer: the compiler may not
 * drop writes to memory that is never read again. */
static void
touch(char *m, size_t len)
{
	volatile char *v = m;

	for (size_t i = 0; i < len; i += 4096)
		v[i] = 1;
}

static int
eat_memory(void)
{
	size_t total = 0, chunk = 16u << 20;

	while (total < (4ull << 30)) {
		char *p = malloc(chunk);

		if (p == NULL)
			return report("BLOCKED", "malloc failed after %zu MB", total >> 20);
		touch(p, chunk);
		total += chunk;
	}
	return report("ALLOWED", "%zu MB", total >> 20);
}

/*
 * Memory RLIMIT_DATA does not count, each mapped at 256 MB and touched up
 * to 128 MB, twice the tests' memory_mb: a stack made with MAP_GROWSDOWN,
 * and shared anonymous memory (shmem).
 */
static int
eat_unaccounted(int flags)
{
	size_t len = 256u << 20, want = 128u << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return report("BLOCKED", "mmap: %s", strerror(errno));
	touch(p + len - want, want);
	return report("ALLOWED", "%zu MB touched", want >> 20);
}

/* 64 KiB a frame, touched; the sum is returned so that no frame can be
 * folded into its caller. */
static unsigned long
recurse(unsigned depth)
{
	volatile char frame[64 * 1024];

	for (size_t i = 0; i < sizeof(frame); i += 4096)
		frame[i] = (char)depth;
	return depth == 0 ? 0 : recurse(depth - 1) + (unsigned char)frame[0];
}

/* 32 MB of main stack, in a child, so the parent can say how it ended:
 * an 8 MB RLIMIT_STACK stops it with SIGSEGV. */
static int
deep_stack(void)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return report("FAIL", "fork: %s", strerror(errno));
	if (pid == 0)
		_exit(recurse(512) == 0 ? 3 : 0);
	if (waitpid(pid, &status, 0) != pid)
		return report("FAIL", "waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return report("ALLOWED", "32 MB of stack");
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV)
		return report("BLOCKED", "stack overflow stopped by SIGSEGV");
	return report("FAIL", "child ended with status %#x", status);
}

/* Memory the policy still grants: private anonymous and, under runtime,
 * a small shared anonymous mapping (interpreters use them). */
static int
control_mmap(const char *kind)
{
	int flags = kind != NULL && strcmp(kind, "shared") == 0 ? MAP_SHARED : MAP_PRIVATE;
	char *p = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return report("FAIL", "mmap: %s", strerror(errno));
	touch(p, 1u << 20);
	return report("OK", "1 MB mapped");
}

/* Four processes of 48 MB each: within a per-process limit of 64 MB,
 * beyond a 64 MB limit on the sandbox as a whole. */
static int
memory_family(void)
{
	int p[2], got = 0, status;
	char c;

	if (pipe(p) != 0)
		return report("FAIL", "pipe");
	for (int i = 0; i < 4; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return report("FAIL", "fork: %s", strerror(errno));
		if (pid == 0) {
			char *m = malloc(48u << 20);

			if (m == NULL)
				_exit(1);
			touch(m, 48u << 20);
			if (write(p[1], "x", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
	}
	close(p[1]);
	/* A child the OOM killer took never writes; the others keep the pipe
	 * open, so wait with a deadline rather than for EOF. */
	while (got < 4) {
		struct pollfd pf = { p[0], POLLIN, 0 };

		if (poll(&pf, 1, 3000) != 1 || read(p[0], &c, 1) != 1)
			break;
		got++;
	}
	if (got == 4)
		return report("ALLOWED", "4 x 48 MB held at once");
	while (waitpid(-1, &status, WNOHANG) > 0)
		;
	return report("BLOCKED", "only %d of 4 processes got their memory", got);
}

static int
big_file(const char *dir)
{
	char path[512], buf[65536];
	size_t total = 0;
	int fd;

	signal(SIGXFSZ, SIG_IGN);
	snprintf(path, sizeof(path), "%s/big", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return report("FAIL", "cannot create %s: %s", path, strerror(errno));
	memset(buf, 'x', sizeof(buf));
	while (total < (1ull << 30)) {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n < 0)
			return report("BLOCKED", "write failed after %zu MB: %s",
			    total >> 20, strerror(errno));
		total += (size_t)n;
	}
	return report("ALLOWED", "%zu MB written", total >> 20);
}

static void *
thread_main(void *arg)
{
	return arg;
}

static int
control_threads(void)
{
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		if (pthread_create(&t[i], NULL, thread_main, NULL) != 0)
			return report("FAIL", "pthread_create");
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return report("OK", "4 threads");
}

static int
control_fork(void)
{
	int status;
	pid_t p = fork();

	if (p < 0)
		return report("FAIL", "fork: %s", strerror(errno));
	if (p == 0)
		_exit(7);
	if (waitpid(p, &status, 0) != p || !WIFEXITED(status) || WEXITSTATUS(status) != 7)
		return report("FAIL", "wait");
	return report("OK", "forked and reaped");
}

static int
control_clock(void)
{
	struct timespec a, b, d = { 0, 10 * 1000 * 1000 };

	clock_gettime(CLOCK_MONOTONIC, &a);
	nanosleep(&d, NULL);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 10000000L)
		return report("FAIL", "slept too little");
	return report("OK", "slept 10 ms, time %ld", (long)time(NULL));
}

static int
control_compute(void)
{
	volatile uint64_t x = 1;
	char *p = malloc(32u << 20);

	for (int i = 0; i < 10000000; i++)
		x = x * 6364136223846793005ull + 1;
	if (p == NULL)
		return report("FAIL", "malloc 32 MB");
	memset(p, 1, 32u << 20);
	free(p);
	return report("OK", "x=%llu", (unsigned long long)x);
}

static int
control_gateway(void)
{
	char buf[16] = "";
	int type = 0;
	socklen_t len = sizeof(type);

	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET)
		return report("FAIL", "fd 3 is not a seqpacket socket");
	if (send(3, "ping", 4, 0) != 4 || recv(3, buf, sizeof(buf) - 1, 0) != 4 ||
	    strcmp(buf, "pong") != 0)
		return report("FAIL", "no pong on fd 3: %s", strerror(errno));
	return report("OK", "ping/pong on fd 3");
}

static int
see_host_pids(const char *hostpid)
{
	char path[64];

	/* In our own pid namespace the init is 1 and we are its first child. */
	if (getpid() != 2 || getppid() != 1)
		return report("ALLOWED", "my pid is %d", (int)getpid());
	snprintf(path, sizeof(path), "/proc/%s/status", hostpid != NULL ? hostpid : "1");
	if (kill(hostpid != NULL ? atoi(hostpid) : 1, 0) == 0 && hostpid != NULL)
		return report("ALLOWED", "host pid %s answers", hostpid);
	return try_open(path, O_RDONLY);
}

static int
proc_pids(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	if (d == NULL)
		return verdict_rc(-1, errno);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] >= '0' && e->d_name[0] <= '9' && getpid() != atoi(e->d_name) &&
		    atoi(e->d_name) != 1)
			return report("ALLOWED", "saw pid %s", e->d_name);
	return report("BLOCKED", "only my own pid and the init");
}

static int
tcp_connect(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(22),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return verdict_rc(-1, errno);
	RC(connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
}

static int
key_fd(void)
{
	char buf[16] = "";

	if (read(4, buf, sizeof(buf) - 1) != 4 || strcmp(buf, "key!") != 0)
		return report("FAIL", "fd 4 did not carry the key");
	for (int fd = 5; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			return report("FAIL", "fd %d is open", fd);
	return report("OK", "key on fd 4, nothing above");
}

/* The cgroups of the process or thread whose /proc file path is, on one
 * line, into buf; 0, or -1 with buf saying why. */
static int
read_cgroups(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		snprintf(buf, len, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0) {
		snprintf(buf, len, "%s: nothing read", path);
		return -1;
	}
	buf[n] = '\0';
	for (char *c = buf; *c != '\0'; c++)
		if (*c == '\n')
			*c = ' ';
	return 0;
}

static void *
thread_cgroups(void *buf)
{
	return (void *)(intptr_t)read_cgroups("/proc/thread-self/cgroup", buf, 400);
}

/* The program's own cgroups, as the kernel has them from its first
 * instruction: /proc/self/cgroup on one line. A thread and a child it
 * starts must be in the same ones (the program joined them as a single
 * thread: v1 moves only the writing thread). */
static int
cgroup_self(void)
{
	static char self[400], thread[400];
	char child[400];
	pthread_t t;
	void *ret;
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;

	if (read_cgroups("/proc/self/cgroup", self, sizeof(self)) != 0)
		return report("FAIL", "%s", self);
	if (pthread_create(&t, NULL, thread_cgroups, thread) != 0)
		return report("FAIL", "pthread_create");
	pthread_join(t, &ret);
	if (ret != NULL)
		return report("FAIL", "%s", thread);
	if (strcmp(self, thread) != 0)
		return report("FAIL", "a thread is elsewhere: %s against %s", thread, self);
	if (pipe(pipefd) != 0 || (pid = fork()) < 0)
		return report("FAIL", "fork: %s", strerror(errno));
	if (pid == 0) {
		close(pipefd[0]);
		if (read_cgroups("/proc/self/cgroup", child, sizeof(child)) != 0)
			child[0] = '\0';
		n = write(pipefd[1], child, strlen(child));
		_exit(n < 0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], child, sizeof(child) - 1);
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	child[n > 0 ? n : 0] = '\0';
	if (strcmp(self, child) != 0)
		return report("FAIL", "a child is elsewhere: %s against %s", child, self);
	return report("OK", "%s", self);
}

/* Capabilities left in any set (runtime profile: capget, PR_CAPBSET_READ). */
static int
caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) != 0)
		return report("FAIL", "capget: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		if (d[i].effective || d[i].permitted || d[i].inheritable)
			return report("ALLOWED", "capabilities %x/%x/%x", d[i].effective,
			    d[i].permitted, d[i].inheritable);
	for (int c = 0; c < 64; c++) {
		int in = prctl(PR_CAPBSET_READ, c, 0, 0, 0);

		if (in < 0)
			break;
		if (in == 1)
			return report("ALLOWED", "capability %d in the bounding set", c);
	}
	if (getuid() == 0 || geteuid() == 0)
		return report("ALLOWED", "uid 0");
	return report("BLOCKED", "no capabilities, uid %d", (int)getuid());
}

static int
run(const char *a, const char *arg)
{
	pid_t ppid = arg != NULL ? atoi(arg) : 1;
	char x;

	if (!strcmp(a, "read-shadow")) return try_open("/etc/shadow", O_RDONLY);
	if (!strcmp(a, "read-passwd")) return try_open("/etc/passwd", O_RDONLY);
	if (!strcmp(a, "read-home")) return try_open("/root/.bashrc", O_RDONLY);
	if (!strcmp(a, "write-tmp")) return try_open("/tmp/capgate-probe-write", O_WRONLY | O_CREAT);
	if (!strcmp(a, "write-devshm")) return try_open("/dev/shm/capgate-probe", O_WRONLY | O_CREAT);
	if (!strcmp(a, "write-self")) return try_open("/proc/self/exe", O_WRONLY);
	if (!strcmp(a, "write-arg")) return try_open(arg, O_WRONLY | O_CREAT);
	if (!strcmp(a, "read-arg")) return try_open(arg, O_RDONLY);
	/* Modes Landlock does not govern, on files the client owns: its own
	 * stdout (a host object) and a file in its write grant. */
	if (!strcmp(a, "fchmod-stdout-setuid")) RC(syscall(SYS_fchmod, 1, 04755));
	if (!strcmp(a, "chmod-world-writable")) RC(syscall(SYS_fchmodat, AT_FDCWD, arg, 0666));
	if (!strcmp(a, "chmod-plain")) {
		int fd = open(arg, O_WRONLY | O_CREAT, 0600);
		long rc = fd < 0 ? -1 : syscall(SYS_fchmodat, AT_FDCWD, arg, 0640);
		return report(rc == 0 ? "OK" : "FAIL", "errno=%d", rc == 0 ? 0 : errno);
	}
	if (!strcmp(a, "fallocate-keep-size")) {
		int fd = open(arg, O_WRONLY | O_CREAT, 0600);
		if (fd < 0)
			return report("BLOCKED", "open: errno=%d", errno);
		RC(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 256L << 20));
	}
	if (!strcmp(a, "fallocate-plain")) {
		int fd = open(arg, O_WRONLY | O_CREAT, 0600);
		long rc = fd < 0 ? -1 : fallocate(fd, 0, 0, 4096);
		return report(rc == 0 ? "OK" : "FAIL", "errno=%d", rc == 0 ? 0 : errno);
	}
	if (!strcmp(a, "list-root")) return try_list("/");
	if (!strcmp(a, "list-dev")) return try_list("/dev");
	if (!strcmp(a, "read-proc-parent")) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/environ", (int)ppid);
		return try_open(p, O_RDONLY);
	}
	if (!strcmp(a, "read-proc-1")) return try_open("/proc/1/environ", O_RDONLY);
	if (!strcmp(a, "read-sys")) return try_open("/sys/kernel/notes", O_RDONLY);
	if (!strcmp(a, "read-kmsg")) return try_open("/dev/kmsg", O_RDONLY);
	if (!strcmp(a, "exec-shell")) return try_exec("/bin/sh");
	if (!strcmp(a, "exec-arg")) return try_exec(arg);
	if (!strcmp(a, "key-fd")) return key_fd();
	if (!strcmp(a, "cgroup-self")) return cgroup_self();
	if (!strcmp(a, "lease")) {
		int fd = open("/dev/null", O_RDONLY);
		TRY(fcntl(fd, F_SETLEASE, F_RDLCK));
	}
	if (!strcmp(a, "cpu-burn")) {
		volatile unsigned long spin = 0;
		time_t start = time(NULL);
		while (time(NULL) - start < 30)
			spin++;
		return report("ALLOWED", "burnt 30 s of CPU");
	}
	if (!strcmp(a, "exec-flood")) {
		int n = 0;
		for (; n < 100; n++)
			execve("/bin/sh", (char *[]){ (char *)"sh", NULL }, environ);
		return report("ALLOWED", "survived %d exec attempts", n);
	}
	if (!strcmp(a, "socket-flood")) {
		int n = 0;
		for (; n < 100; n++)
			socket(AF_UNIX, SOCK_STREAM, 0);
		return report("ALLOWED", "survived %d socket attempts", n);
	}
	if (!strcmp(a, "child-violation")) {
		int status;
		pid_t p = fork();
		if (p == 0) {
			ptrace(PTRACE_TRACEME, 0, 0, 0);
			_exit(0);
		}
		waitpid(p, &status, 0);
		sleep(1);
		return report("ALLOWED", "the family survived a child's violation");
	}
	if (!strcmp(a, "caps")) return caps();
	if (!strcmp(a, "exec-self")) return try_exec("/proc/self/exe");
	if (!strcmp(a, "exec-memfd")) return try_exec_memfd();
	if (!strcmp(a, "socket")) return try_socket(atoi(arg));
	if (!strcmp(a, "stat-shadow")) {
		struct stat st;
		RC(stat("/etc/shadow", &st));
	}
	if (!strcmp(a, "pathname")) return try_connect_unix(arg, 0);
	if (!strcmp(a, "dbus")) return try_connect_unix("/run/dbus/system_bus_socket", 0);
	if (!strcmp(a, "abstract")) return try_connect_unix(arg, 1);
	if (!strcmp(a, "ptrace")) RC(ptrace(PTRACE_ATTACH, ppid, 0, 0));
	if (!strcmp(a, "process_vm_readv")) {
		struct iovec l = { &x, 1 }, r = { (void *)4096, 1 };
		RC(process_vm_readv(ppid, &l, 1, &r, 1, 0));
	}
	if (!strcmp(a, "kill-parent")) RC(kill(ppid, SIGTERM));
	if (!strcmp(a, "host-pids")) return see_host_pids(arg);
	if (!strcmp(a, "mount")) TRY(mount("none", "/", "tmpfs", 0, NULL));
	if (!strcmp(a, "unshare-user")) TRY(unshare(CLONE_NEWUSER));
	if (!strcmp(a, "clone-user")) {
		long rc = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
		if (rc == 0) _exit(0);
		return verdict_try(rc, errno);
	}
	if (!strcmp(a, "chroot")) TRY(chroot("/"));
	if (!strcmp(a, "bpf")) TRY(syscall(SYS_bpf, BPF_PROG_LOAD, NULL, 0));
	if (!strcmp(a, "io_uring")) TRY(syscall(SYS_io_uring_setup, 1, NULL));
	if (!strcmp(a, "userfaultfd")) TRY(syscall(SYS_userfaultfd, 0));
	if (!strcmp(a, "keyctl")) TRY(syscall(SYS_keyctl, 0, 0, 0, 0, 0));
	if (!strcmp(a, "perf_event_open"))
		TRY(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
	if (!strcmp(a, "personality")) TRY(syscall(SYS_personality, 0xffffffff));
	if (!strcmp(a, "tiocsti")) TRY(ioctl(0, TIOCSTI, "x"));
	if (!strcmp(a, "tiocsti-high"))  /* upper bits set: must not pass as another request */
		TRY(syscall(SYS_ioctl, 0, 0xffffffff00000000ul | TIOCSTI, "x"));
	if (!strcmp(a, "i386")) return try_i386();
	if (!strcmp(a, "proc-pids")) return proc_pids();
	if (!strcmp(a, "tcp-connect")) return tcp_connect();
	if (!strcmp(a, "x32")) TRY(syscall(39 | 0x40000000));
	if (!strcmp(a, "i386-socket")) return try_i386_socket();
	if (!strcmp(a, "x32-socket")) TRY(syscall(41 | 0x40000000, AF_UNIX, SOCK_STREAM, 0));
	if (!strcmp(a, "module")) TRY(syscall(SYS_finit_module, -1, "", 0));
	if (!strcmp(a, "leaked-fds")) return check_fds();
	if (!strcmp(a, "leaked-env")) return check_env();
	if (!strcmp(a, "fork-bomb")) return fork_bomb();
	if (!strcmp(a, "memory")) return eat_memory();
	if (!strcmp(a, "memory-family")) return memory_family();
	if (!strcmp(a, "peer-pidfd")) {
		int pfd = -1;
		socklen_t len = sizeof(pfd);

		/* SO_PEERPIDFD (77): a pidfd of whoever holds the other end of
		 * fd 3, the gateway; the high bits of the level are ignored by
		 * the kernel and must not get it past the filter either */
		RC(syscall(SYS_getsockopt, 3, (long)SOL_SOCKET | (1L << 32), 77L, &pfd, &len));
	}
	if (!strcmp(a, "mmap-growsdown")) return eat_unaccounted(MAP_PRIVATE | MAP_GROWSDOWN);
	if (!strcmp(a, "mmap-shared-anon")) return eat_unaccounted(MAP_SHARED);
	if (!strcmp(a, "stack-deep")) return deep_stack();
	if (!strcmp(a, "mmap")) return control_mmap(arg);
	if (!strcmp(a, "big-file")) return big_file(arg);
	if (!strcmp(a, "stdout")) return report("OK", "hello from the sandbox");
	if (!strcmp(a, "compute")) return control_compute();
	if (!strcmp(a, "clock")) return control_clock();
	if (!strcmp(a, "fork")) return control_fork();
	if (!strcmp(a, "threads")) return control_threads();
	if (!strcmp(a, "gateway")) return control_gateway();
	return report("FAIL", "unknown attempt");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: probe ATTEMPT [ARG]\n");
		return 2;
	}
	attempt = argv[1];
	run(argv[1], argc > 2 ? argv[2] : NULL);
	return 0;
}
