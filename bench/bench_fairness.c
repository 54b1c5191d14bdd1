/*
 * Fairness: a flooding client and a polite one on one gateway. The polite
 * client sends one invoke every millisecond and times each round trip; the
 * flooder keeps 32 invokes in flight for as long as the polite one runs.
 * Reported (one JSON line each): the polite client's latency alone, its
 * latency beside the flood, and the flooder's throughput. The number to
 * watch is the polite p99 beside the flood: the event loop reads at most
 * RX_BATCH frames per client per turn, so it should stay within a few
 * turns' worth of the flooder's frames, not grow with the flood.
 *
 *   bench-fairness [--samples N] [--capgate PATH] [--dir DIR]
 *
 * The audit log (sync "batch") goes to a directory under DIR (default
 * /tmp); on a disk, its fdatasyncs, paced by the flood, are part of what
 * the polite client waits for; on a tmpfs (/dev/shm) they are not.
 *
 * Two clients need one gateway that starts both. With --capgate PATH, and a
 * capgate whose policies can name each client's program
 * (clients.NAME.exec; probed with `capgate policy check`), the benchmark
 * runs `capgate run --client polite` with the flooder as a second policy
 * client: the real thing, sandbox included. Otherwise it runs the
 * gateway's real event loop, dispatch, handlers and audit writer in this
 * process and starts the two clients with a plain fork/exec (no sandbox:
 * fairness is a property of the loop). It says which on stderr. Under
 * capgate run the flooder is ended with the run, so only the polite
 * client's figures are reported.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/stats.h"
#include "common/log.h"
#include "common/util.h"
#include "gateway/gateway.h"
#include "gateway/handlers.h"

#define FLOOD_WINDOW 32

static const char policy_text[] =
    "{\"capgate\":1,\"audit\":{\"path\":\"fairness.log\",\"sync\":\"batch\"},\"channels\":{\"echo\":{\"kind\":\"invoke\","
    "\"to\":\"builtin:echo\"}},\"clients\":{\"polite\":{\"grants\":[\"echo\"]},"
    "\"flood\":{\"grants\":[\"echo\"]}}}\n";

/* --- the two clients (this program, re-executed) --- */

static struct cg_frame_session sess;
static unsigned char rx[CG_FRAME_MAX + 1];

static void
peer_send(uint32_t id, const char *body)
{
	unsigned char out[512];
	struct cg_frame f = { 0 };
	size_t len;

	f.type = id == 0 ? CG_MSG_HELLO : CG_MSG_INVOKE;
	f.request_id = id;
	f.channel = id == 0 ? NULL : "echo";
	f.channel_len = id == 0 ? 0 : 4;
	f.body = body;
	f.body_len = strlen(body);
	len = frame_seal(&sess, &f, out, sizeof(out));
	if (send(3, out, len, MSG_NOSIGNAL) != (ssize_t)len)
		exit(3);
}

static int
peer_recv(void)
{
	struct cg_frame f;
	ssize_t n = recv(3, rx, sizeof(rx), 0);

	if (n <= 0 || frame_open(&sess, rx, (size_t)n, 0, 0, &f) != CG_FRAME_OK)
		exit(4);
	return f.type;
}

static void
peer_hello(void)
{
	unsigned char key[CG_SESSION_KEY_LEN];

	if (read(4, key, sizeof(key)) != (ssize_t)sizeof(key))
		exit(2);
	close(4);
	frame_session_init(&sess, key, 0);
	peer_send(0, "{\"version\":3}");
	if (peer_recv() != CG_MSG_WELCOME)
		exit(5);
}

static int
run_polite(size_t samples, const char *name)
{
	struct bench_samples s;
	struct timespec gap = { 0, 1000000 };

	peer_hello();
	bench_samples_init(&s, samples);
	for (uint32_t i = 1; i <= samples; i++) {
		uint64_t t0 = bench_now_ns();
		peer_send(i, "\"polite\"");
		if (peer_recv() != CG_MSG_REPLY)
			return 6;
		bench_samples_add(&s, bench_now_ns() - t0);
		nanosleep(&gap, NULL);
	}
	bench_report_latency(stdout, name, 8, &s);
	fflush(stdout);
	bench_samples_free(&s);
	return 0;
}

static int
run_flood(double seconds)
{
	uint64_t start = bench_now_ns(), end = start + (uint64_t)(seconds * 1e9);
	uint64_t done = 0;
	uint32_t id = 1;
	unsigned inflight = 0;

	peer_hello();
	while (bench_now_ns() < end) {
		while (inflight < FLOOD_WINDOW) {
			peer_send(id++, "\"flood flood flood flood\"");
			inflight++;
		}
		peer_recv();
		inflight--;
		done++;
	}
	while (inflight-- > 0)
		peer_recv();
	bench_report_rate(stdout, "fairness-flood", 25, done,
	    bench_now_ns() - start);
	fflush(stdout);
	return 0;
}

/* --- the gateway, in this process --- */

static int
gw_open(struct cg_gateway *gw, const char *policy, const char *audit)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	struct cg_audit_config ac;
	struct cg_error err;
	sigset_t set;

	gw->policy = policy_load(policy, handler_check, &err);
	if (gw->policy == NULL) {
		char msg[1024];
		cg_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "bench-fairness: %s\n", msg);
		return -1;
	}
	ac = gw->policy->audit;
	ac.path = audit;
	gw->audit = audit_open(&ac, gw->policy->hash, &err);
	gw->rxbuf = malloc((size_t)CG_GATEWAY_RX_BATCH * (CG_FRAME_MAX + 1));
	gw->txbuf = malloc(CG_FRAME_MAX);
	gw->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	if (gw->audit == NULL || gw->rxbuf == NULL || gw->txbuf == NULL ||
	    gw->epfd < 0 || sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	gw->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	return gw->sigfd < 0 ? -1 :
	    epoll_ctl(gw->epfd, EPOLL_CTL_ADD, gw->sigfd, &ev);
}

/* fork/exec self with fd 3 = connection, fd 4 = key, as spawn.c would. */
static int
gw_spawn(struct cg_gateway *gw, const char *name, char *const *argv)
{
	struct cg_client *c = client_new(gw, policy_client(gw->policy, name), name);
	unsigned char key[CG_SESSION_KEY_LEN];
	int sv[2], kp[2], one = 1;

	if (c == NULL)
		return -1;
	gw->clients[gw->nclients++] = c;
	randombytes_buf(key, sizeof(key));
	frame_session_init(&c->sess, key, 1);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 ||
	    setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
	    cg_set_nonblock(sv[0]) != 0 || pipe2(kp, O_CLOEXEC) != 0 ||
	    cg_write_full(kp[1], key, sizeof(key)) != (ssize_t)sizeof(key))
		return -1;
	close(kp[1]);
	c->pid = fork();
	if (c->pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], 3) != 3 || dup2(kp[0], 4) != 4)
			_exit(126);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(sv[1]);
	close(kp[0]);
	c->fd = sv[0];
	c->uid = getuid();
	c->gid = getgid();
	c->child.pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pid < 0 || c->child.pidfd < 0)
		return -1;
	gateway_handshake_deadline(gw, c, cg_now_ns() + 5000000000ull);
	gw->nlive++;
	return client_watch(c);
}

static void
gw_close(struct cg_gateway *gw)
{
	for (size_t i = 0; i < gw->nclients; i++)
		client_free(gw->clients[i]);
	audit_close(gw->audit);
	policy_free(gw->policy);
	free(gw->rxbuf);
	free(gw->txbuf);
	gateway_timer_close(gw);
	close(gw->epfd);
	close(gw->sigfd);
}

static int
in_process(const char *policy, const char *audit, const char *samples,
    int with_flood)
{
	struct cg_gateway gw = { .epfd = -1, .sigfd = -1 };
	struct cg_client *slots[2];
	char *polite[] = { "bench-fairness", "--role", "polite", (char *)(uintptr_t)samples,
	    with_flood ? "fairness-polite-with-flood" : "fairness-polite-alone",
	    NULL };
	char secs[32];
	char *flood[] = { "bench-fairness", "--role", "flood", secs, NULL };
	int rc;

	/* the flood outlasts the polite client: 1 ms gap + round trip each */
	snprintf(secs, sizeof(secs), "%.1f", atof(samples) * 0.0012 + 1.0);
	gw.clients = slots;
	if (gw_open(&gw, policy, audit) != 0 ||
	    (with_flood && gw_spawn(&gw, "flood", flood) != 0) ||
	    gw_spawn(&gw, "polite", polite) != 0) {
		fprintf(stderr, "bench-fairness: cannot set up: %s\n", strerror(errno));
		return 1;
	}
	rc = gateway_loop(&gw);
	for (size_t i = 0; i < gw.nclients; i++)
		if (gw.clients[i]->exit_status != 0)
			rc = 1;
	gw_close(&gw);
	return rc;
}

/* `capgate run` with the flooder as a second policy client. */
static int
via_capgate(const char *capgate, const char *dir, const char *samples,
    int with_flood)
{
	char self[4096], policy[300], audit[300], cmd[16384], secs[32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	json_t *doc, *flood;
	int rc;

	if (n <= 0)
		return 1;
	self[n] = '\0';
	snprintf(secs, sizeof(secs), "%.1f", atof(samples) * 0.0012 + 2.0);
	snprintf(policy, sizeof(policy), "%s/run.json", dir);
	snprintf(audit, sizeof(audit), "%s/run.log", dir);
	doc = json_pack("{s:i,s:{s:s,s:s},s:{s:{s:s,s:s}},s:{s:{s:[s]},s:{s:[s]}}}",
	    "capgate", 1, "audit", "path", "run.log", "sync", "batch",
	    "channels", "echo", "kind", "invoke", "to", "builtin:echo",
	    "clients", "polite", "grants", "echo", "flood", "grants", "echo");
	flood = json_object_get(json_object_get(doc, "clients"), "flood");
	if (with_flood)
		json_object_set_new(flood, "exec", json_pack("[s,s,s,s]", self,
		    "--role", "flood", secs));
	rc = json_dump_file(doc, policy, 0);
	json_decref(doc);
	if (rc != 0)
		return 1;
	snprintf(cmd, sizeof(cmd), "%s run --policy %s --audit %s --client polite "
	    "-- %s --role polite %s %s", capgate, policy, audit, self, samples,
	    with_flood ? "fairness-polite-with-flood" : "fairness-polite-alone");
	fflush(stdout);
	rc = system(cmd);
	unlink(audit);
	unlink(policy);
	return rc == 0 ? 0 : 1;
}

/* Does this capgate start several clients from one policy? */
static int
capgate_has_exec(const char *capgate)
{
	char dir[] = "/tmp/bench-fairness-probe-XXXXXX", path[128], cmd[512];
	FILE *f;
	int rc;

	if (capgate == NULL || mkdtemp(dir) == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/p.json", dir);
	f = fopen(path, "w");
	if (f == NULL)
		return 0;
	fputs("{\"capgate\":1,\"audit\":{\"path\":\"fairness.log\",\"sync\":\"batch\"},\"channels\":{\"echo\":{\"kind\":\"invoke\","
	    "\"to\":\"builtin:echo\"}},\"clients\":{\"a\":{\"grants\":[\"echo\"],"
	    "\"exec\":[\"/bin/true\"]}}}\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s policy check %s >/dev/null 2>&1",
	    capgate, path);
	rc = system(cmd);
	unlink(path);
	rmdir(dir);
	return rc == 0;
}

int
main(int argc, char **argv)
{
	const char *samples = "2000", *capgate = NULL, *base = "/tmp";
	char dir[256], policy[300], audit[300];
	FILE *f;
	int rc;

	if (argc >= 4 && strcmp(argv[1], "--role") == 0)
		return strcmp(argv[2], "polite") == 0 && argc == 5 ?
		    run_polite(bench_parse_count(argv[3], 1, 1000000, "samples"),
		    argv[4]) : run_flood(atof(argv[3]));
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--samples") == 0)
			samples = argv[i + 1];
		else if (strcmp(argv[i], "--capgate") == 0)
			capgate = argv[i + 1];
		else if (strcmp(argv[i], "--dir") == 0)
			base = argv[i + 1];
	}
	snprintf(dir, sizeof(dir), "%s/bench-fairness-XXXXXX", base);
	bench_parse_count(samples, 1, 1000000, "--samples");
	cg_log_init("bench-fairness");
	if (sodium_init() < 0 || mkdtemp(dir) == NULL)
		return 1;
	if (capgate_has_exec(capgate)) {
		fprintf(stderr, "bench-fairness: two policy clients under %s run\n",
		    capgate);
		rc = via_capgate(capgate, dir, samples, 0);
		if (rc == 0)
			rc = via_capgate(capgate, dir, samples, 1);
		rmdir(dir);
		return rc;
	}
	fprintf(stderr, "bench-fairness: %s: the gateway's loop runs in this "
	    "process, the clients unsandboxed\n", capgate == NULL ?
	    "no --capgate given" : "this capgate starts one client per run");
	snprintf(policy, sizeof(policy), "%s/fairness.json", dir);
	snprintf(audit, sizeof(audit), "%s/fairness.log", dir);
	f = fopen(policy, "w");
	if (f == NULL || fputs(policy_text, f) < 0 || fclose(f) != 0)
		return 1;
	rc = in_process(policy, audit, samples, 0);
	unlink(audit);
	if (rc == 0)
		rc = in_process(policy, audit, samples, 1);
	unlink(audit);
	unlink(policy);
	rmdir(dir);
	return rc;
}
