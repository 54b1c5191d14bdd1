/*
 * A front-end that misbehaves on purpose, one way per run (argv[1]). It
 * speaks the protocol with the frame codec directly (not the client
 * library), so it can do what a compromised front-end would: crash
 * mid-request, flood, send garbage, replay, speak from a forked child.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gateway/frame.h"

#define GW_FD 3
#define KEY_FD 4

static struct cg_frame_session sess;
static unsigned char buf[CG_FRAME_MAX + 1];
static unsigned char last[CG_FRAME_MAX];
static size_t last_len;
static uint32_t next_id = 1;

static void
die(const char *what)
{
	fprintf(stderr, "hostile: %s: %s\n", what, strerror(errno));
	exit(99);
}

static void
read_key(void)
{
	unsigned char key[CG_SESSION_KEY_LEN];

	if (read(KEY_FD, key, sizeof(key)) != (ssize_t)sizeof(key))
		die("key");
	close(KEY_FD);
	frame_session_init(&sess, key, 0);
}

static void
send_frame(uint8_t type, const char *channel, const char *body)
{
	struct cg_frame f = { 0 };

	f.type = type;
	f.request_id = next_id++;
	f.channel = channel;
	f.channel_len = channel ? strlen(channel) : 0;
	f.body = body;
	f.body_len = body ? strlen(body) : 0;
	last_len = frame_seal(&sess, &f, last, sizeof(last));
	if (send(GW_FD, last, last_len, MSG_NOSIGNAL) != (ssize_t)last_len)
		die("send");
}

/* Receives one frame; returns its type, or -1 on EOF/bad frame. */
static int
recv_frame(struct cg_frame *f)
{
	ssize_t n = recv(GW_FD, buf, sizeof(buf), 0);

	if (n <= 0)
		return -1;
	if (frame_open(&sess, buf, (size_t)n, 0, 0, f) != CG_FRAME_OK)
		return -2;
	return f->type;
}

static void
handshake(void)
{
	struct cg_frame f;

	read_key();
	send_frame(CG_MSG_HELLO, NULL, "{\"version\":3}");
	if (recv_frame(&f) != CG_MSG_WELCOME) {
		fprintf(stderr, "hostile: no welcome\n");
		exit(98);
	}
}

/* Invokes and prints "ok BODY" or "error CODE"; returns the status. */
static int
invoke(const char *channel, const char *body)
{
	struct cg_frame f;
	int t;

	send_frame(CG_MSG_INVOKE, channel, body);
	t = recv_frame(&f);
	if (t == CG_MSG_REPLY)
		printf("ok %.*s\n", (int)f.body_len, f.body);
	else if (t == CG_MSG_ERROR)
		printf("error %s\n", frame_status_name(f.status));
	else
		printf("transport %d\n", t);
	fflush(stdout);
	return t == CG_MSG_ERROR ? f.status : t == CG_MSG_REPLY ? 0 : -1;
}

/*
 * An empty datagram carrying the write end of a pipe, which is then closed
 * here: the pipe reads end of file only once the gateway has closed the
 * copy it received. Prints "released" or "held" (after 3 s), then invokes
 * echo.
 */
static int
mode_empty_with_fd(void)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)"", 0 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
	    .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	struct pollfd pf;
	int p[2];
	char c;

	handshake();
	if (pipe(p) != 0)
		die("pipe");
	memset(&u, 0, sizeof(u));
	if ((cm = CMSG_FIRSTHDR(&mh)) == NULL)
		die("cmsg");
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
	if (sendmsg(GW_FD, &mh, MSG_NOSIGNAL) != 0)
		die("sendmsg");
	close(p[1]);
	pf.fd = p[0];
	pf.events = POLLIN;
	pf.revents = 0;
	if (poll(&pf, 1, 3000) == 1 && read(p[0], &c, 1) == 0)
		printf("released\n");
	else
		printf("held\n");
	/* the connection goes on (on_violation "deny") */
	return invoke("echo", "\"after\"") == 0 ? 0 : 1;
}

/* n invokes of a channel that answers with an fd, none of the answers
 * read; then waits to be ended. */
static int
mode_fds_no_read(const char *channel, const char *body, int n)
{
	handshake();
	for (int i = 0; i < n; i++)
		send_frame(CG_MSG_INVOKE, channel, body);
	printf("sent all\n");
	fflush(stdout);
	sleep(10);
	return 0;
}

static void
on_term(int sig)
{
	(void)sig;
	_exit(42);
}

static int
mode_fds(void)
{
	/* Before anything else: which fds did we inherit? */
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			printf("fd %d\n", fd);
	return 0;
}

static int
mode_flood_send(int n)
{
	handshake();
	for (int i = 0; i < n; i++)
		send_frame(CG_MSG_SEND, "log:line", "\"flood\"");
	/* One invoke at the end: the gateway must still answer it. */
	return invoke("echo", "\"after the flood\"") == 0 ? 0 : 1;
}

static int
mode_rate(int n)
{
	int ok = 0, limited = 0;

	handshake();
	for (int i = 0; i < n; i++) {
		struct cg_frame f;
		send_frame(CG_MSG_INVOKE, "slow", "1");
		int t = recv_frame(&f);
		if (t == CG_MSG_REPLY)
			ok++;
		else if (t == CG_MSG_ERROR && f.status == CG_STATUS_LIMITED)
			limited++;
	}
	printf("ok=%d limited=%d\n", ok, limited);
	return 0;
}

static int
mode_fork_send(void)
{
	pid_t pid;
	int st;

	handshake();
	pid = fork();
	if (pid == 0) {
		/* The child knows the key and the next sequence number: only
		 * the kernel's word on who sent the frame can stop it. */
		send_frame(CG_MSG_INVOKE, "echo", "\"from the child\"");
		_exit(0);
	}
	waitpid(pid, &st, 0);
	/* The child's frame did not advance the gateway's counter, and the
	 * parent's own counter never saw it: the parent carries on with the
	 * very sequence number the child used. */
	return invoke("echo", "\"from the parent\"") == 0 ? 0 : 1;
}

static int
mode_replay(void)
{
	handshake();
	if (invoke("echo", "\"once\"") != 0)
		return 1;
	if (send(GW_FD, last, last_len, MSG_NOSIGNAL) != (ssize_t)last_len)
		die("send");
	struct cg_frame f;
	int t = recv_frame(&f);
	printf("after replay: %d\n", t);
	return 0;
}

/*
 * A scripted session, for the limit tests: "invoke CH BODY", "send CH
 * BODY" and "sleep MS" in order, in one process (the gateway accepts
 * frames only from the process it started). Prints one line per invoke.
 */
static int
mode_calls(int argc, char **argv)
{
	handshake();
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "invoke") == 0 && i + 2 < argc) {
			invoke(argv[i + 1], argv[i + 2]);
			i += 2;
		} else if (strcmp(argv[i], "send") == 0 && i + 2 < argc) {
			send_frame(CG_MSG_SEND, argv[i + 1], argv[i + 2]);
			i += 2;
		} else if (strcmp(argv[i], "sleep") == 0 && i + 1 < argc) {
			usleep((useconds_t)atoi(argv[++i]) * 1000u);
		} else {
			fprintf(stderr, "hostile: bad call \"%s\"\n", argv[i]);
			return 97;
		}
	}
	/* A last round trip, so every send above has been decided. */
	return invoke("ping", "null") == 0 ? 0 : 1;
}

/*
 * Tampering after the MAC was computed. The frame is sealed properly (so the
 * session's counter advances as if it had been sent), altered, and sent.
 * Then, unless the gateway ended us, the same request is re-sealed and sent
 * intact: in on_violation "deny" mode it must go through.
 */
static int
mode_tamper(const char *how)
{
	struct cg_frame f = { 0 };
	unsigned char copy[CG_FRAME_MAX];
	size_t len;
	uint64_t base;

	handshake();
	base = sess.send_seq;
	f.type = CG_MSG_INVOKE;
	f.request_id = next_id++;
	f.channel = "echo";
	f.channel_len = 4;
	f.body = "\"tampered\"";
	f.body_len = strlen(f.body);
	len = frame_seal(&sess, &f, copy, sizeof(copy));
	if (strcmp(how, "bitflip") == 0) {
		copy[len - 3] ^= 0x01;                     /* inside the body */
	} else if (strcmp(how, "badmac") == 0) {
		memset(copy + 32, 0, CG_FRAME_MAC_LEN);
	} else if (strcmp(how, "truncated") == 0) {
		len -= 2;
	} else if (strcmp(how, "skip-seq") == 0) {
		/* a validly MAC'd frame that skips a number */
		sess.send_seq++;
		len = frame_seal(&sess, &f, copy, sizeof(copy));
	} else if (strcmp(how, "repeat-seq") == 0) {
		/* the first frame goes through; the same number again fails */
		if (send(GW_FD, copy, len, 0) != (ssize_t)len)
			die("send");
		struct cg_frame g;
		(void)recv_frame(&g);
		sess.send_seq--;
		len = frame_seal(&sess, &f, copy, sizeof(copy));
	} else {
		return 97;
	}
	if (send(GW_FD, copy, len, 0) != (ssize_t)len)
		die("send");
	/* The gateway counted only what it accepted. */
	sess.send_seq = strcmp(how, "repeat-seq") == 0 ? base + 1 : base;
	usleep(200000);
	return invoke("echo", "\"intact\"") == 0 ? 0 : 1;
}

/* Prints the environment and argv, then the key from fd 4 in hex on the
 * last line: the test checks the key appears nowhere else. */
static int
mode_keyenv(int argc, char **argv)
{
	extern char **environ;
	unsigned char key[CG_SESSION_KEY_LEN];

	for (char **e = environ; *e != NULL; e++)
		printf("%s\n", *e);
	for (int i = 0; i < argc; i++)
		printf("%s\n", argv[i]);
	if (read(KEY_FD, key, sizeof(key)) != (ssize_t)sizeof(key))
		die("key");
	for (size_t i = 0; i < sizeof(key); i++)
		printf("%02x", key[i]);
	printf("\n");
	return 0;
}

/*
 * Leaves an orphan that exits at once, then looks in /proc (granted by
 * the policy) whether it stays a zombie: only the sandbox's init can reap
 * it. 0 if it was reaped, 1 if it is still a zombie, 2 on error.
 */
static int
mode_orphan(void)
{
	int pfd[2];
	pid_t mid, orphan = 0;
	char path[64], stat[256];

	if (pipe(pfd) != 0 || (mid = fork()) < 0) {
		perror("orphan: pipe or fork");
		return 2;
	}
	if (mid == 0) {
		pid_t o = fork();

		if (o == 0)
			_exit(0);
		if (o < 0)
			perror("orphan: second fork");
		(void)!write(pfd[1], &o, sizeof(o));
		_exit(0);
	}
	if (waitpid(mid, NULL, 0) != mid || read(pfd[0], &orphan, sizeof(orphan)) !=
	    (ssize_t)sizeof(orphan) || orphan <= 0) {
		fprintf(stderr, "orphan: no orphan pid (%d)\n", (int)orphan);
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)orphan);
	for (int i = 0; i < 100; i++) {
		FILE *f = fopen(path, "r");

		/* ESRCH: found by pid, gone by the open (reaped meanwhile) */
		if (f == NULL && (errno == ENOENT || errno == ESRCH))
			return 0;
		if (f == NULL) {
			perror("orphan: /proc/PID/stat");
			return 2;
		}
		if (fgets(stat, sizeof(stat), f) == NULL)
			stat[0] = '\0';
		fclose(f);
		usleep(20000);
	}
	printf("still there: %s\n", stat);
	return 1;
}

/*
 * Leaves a daemon behind and exits 0: a grandchild, orphaned at once,
 * that ignores every signal it can, holds stdout and keeps forking
 * children that hold it too (until RLIMIT_NPROC stops it). Prints
 * "daemon up" once the daemon runs. When capgate run returns, none of
 * them may be alive: the test reads stdout and wants EOF at once.
 */
static int
mode_daemon(void)
{
	int p[2];
	pid_t mid;
	char c;

	if (pipe(p) != 0 || (mid = fork()) < 0)
		return 2;
	if (mid == 0) {
		if (fork() == 0) {
			for (int sig = 1; sig < NSIG; sig++)
				signal(sig, SIG_IGN);   /* SIGKILL, SIGSTOP: refused */
			close(p[0]);
			(void)!write(p[1], "u", 1);
			close(p[1]);
			for (;;) {
				if (fork() == 0)
					for (;;)
						pause();
				usleep(200);
			}
		}
		_exit(0);
	}
	close(p[1]);
	if (waitpid(mid, NULL, 0) != mid || read(p[0], &c, 1) != 1)
		return 2;
	usleep(20000);          /* let it fork a crowd */
	printf("daemon up\n");
	fflush(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";
	int n = argc > 2 ? atoi(argv[2]) : 0;
	struct cg_frame f;

	if (strcmp(m, "fds") == 0)
		return mode_fds();
	if (strcmp(m, "ptrace") == 0) {
		/* a syscall no profile allows: the gateway records it, kills */
		long r = syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0);
		printf("ptrace returned %ld\n", r);
		return 0;
	}
	if (strcmp(m, "exec-again") == 0) {
		char *const sh[] = { "/bin/sh", "-c", "echo escaped", NULL };
		execv(sh[0], sh);
		printf("exec refused: %s\n", strerror(errno));
		return 0;
	}
	if (strcmp(m, "keyenv") == 0)
		return mode_keyenv(argc, argv);
	if (strcmp(m, "exit") == 0)
		return n;
	if (strcmp(m, "no-hello") == 0) {
		sleep((unsigned)n);
		return 0;
	}
	if (strcmp(m, "no-handler") == 0) {
		/* Default dispositions: a forwarded signal must kill us. */
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (strcmp(m, "orphan") == 0)
		return mode_orphan();
	if (strcmp(m, "daemon") == 0)
		return mode_daemon();
	if (strcmp(m, "init-mem") == 0) {
		/* The init must be out of reach: 0 if it is, 1 if not. */
		int fd = open("/proc/1/mem", O_RDONLY | O_CLOEXEC);

		printf("%s %d\n", fd >= 0 ? "opened" : "refused", fd >= 0 ? 0 : errno);
		return fd >= 0;
	}
	if (strcmp(m, "trap-term") == 0) {
		signal(SIGTERM, on_term);
		printf("ready\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (strcmp(m, "garbage-flood") == 0) {
		/* n malformed frames after a proper handshake */
		handshake();
		memset(buf, 'x', 100);
		for (int i = 0; i < n; i++)
			if (send(GW_FD, buf, 100, MSG_NOSIGNAL) != 100)
				break;
		sleep(5);
		printf("still alive\n");
		return 0;
	}
	if (strcmp(m, "garbage") == 0) {
		read_key();
		memset(buf, 'x', 100);
		if (send(GW_FD, buf, 100, 0) != 100)
			die("send");
		/* The gateway ends us; if it did not, say so. */
		sleep(5);
		printf("still alive\n");
		return 0;
	}
	if (strcmp(m, "crash-mid-request") == 0) {
		handshake();
		send_frame(CG_MSG_INVOKE, "echo", "\"bye\"");
		abort();
	}
	if (strcmp(m, "exit-without-reading") == 0) {
		handshake();
		send_frame(CG_MSG_INVOKE, "echo", "\"nobody reads this\"");
		return 0;
	}
	if (strcmp(m, "flood-no-read") == 0) {
		handshake();
		for (int i = 0; i < n; i++)
			send_frame(CG_MSG_INVOKE, "echo", "\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"");
		printf("sent all\n");
		return 0;
	}
	if (strcmp(m, "pipeline-forever") == 0) {
		/* n invokes always outstanding: the gateway finds this
		 * connection readable at every turn, until it is stopped */
		struct cg_frame in;

		handshake();
		for (int i = 0; i < n; i++)
			send_frame(CG_MSG_INVOKE, "echo", "\"again\"");
		while (recv_frame(&in) > 0)
			send_frame(CG_MSG_INVOKE, "echo", "\"again\"");
		return 0;
	}
	if (strcmp(m, "flood-denied") == 0) {
		/* sends the gateway must deny (no such channel), n of them,
		 * then an invoke that is allowed */
		handshake();
		for (int i = 0; i < n; i++)
			send_frame(CG_MSG_SEND, "no:such-channel", "1");
		return invoke("echo", "\"after\"") == 0 ? 0 : 1;
	}
	if (strcmp(m, "empty-with-fd") == 0)
		return mode_empty_with_fd();
	if (strcmp(m, "fds-no-read") == 0 && argc == 5)
		return mode_fds_no_read(argv[2], argv[3], atoi(argv[4]));
	if (strcmp(m, "flood-send") == 0)
		return mode_flood_send(n);
	if (strcmp(m, "rate") == 0)
		return mode_rate(n);
	if (strcmp(m, "fork-send") == 0)
		return mode_fork_send();
	if (strcmp(m, "replay") == 0)
		return mode_replay();
	if (strcmp(m, "calls") == 0)
		return mode_calls(argc - 2, argv + 2);
	if (strcmp(m, "tamper") == 0 && argc == 3)
		return mode_tamper(argv[2]);
	if (strcmp(m, "invoke") == 0 && argc == 4) {
		handshake();
		return invoke(argv[2], argv[3]);
	}
	(void)f;
	fprintf(stderr, "hostile: unknown mode \"%s\"\n", m);
	return 97;
}
