/*
 * capgate run: load the policy, open the audit log, start the front-end in
 * its sandbox, mediate until every client has exited, exit with the
 * front-end's status (128 + N when killed by signal N, like a shell).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/log.h"
#include "gateway/backend.h"
#include "gateway/commands.h"
#include "gateway/gateway.h"
#include "gateway/handlers.h"
#include "gateway/options.h"

#define RUN_ENV_MAX 64

struct run_opts {
	const char *policy;
	const char *audit;
	const char *audit_key;
	const char *client;
	const char *env[RUN_ENV_MAX + 1];
	size_t nenv;
	int verbose;
};

static const struct cg_option run_options[] = {
	{ "policy", 'p', "FILE", "the policy file (required)" },
	{ "audit", 0, "LOG", "audit log path (overrides the policy)" },
	{ "audit-key", 0, "KEY", "audit signing key (overrides the policy)" },
	{ "env", 'e', "NAME=VALUE", "set a variable in the client (repeatable)" },
	{ "client", 'c', "NAME", "the policy client to run PROGRAM as (default: the first)" },
	{ "verbose", 'v', NULL, "say more on stderr" },
	{ NULL, 0, NULL, NULL },
};

static int
run_option(void *ctx, int index, const char *arg)
{
	struct run_opts *o = ctx;

	switch (index) {
	case 0: o->policy = arg; break;
	case 1: o->audit = arg; break;
	case 2: o->audit_key = arg; break;
	case 3:
		if (strchr(arg, '=') == NULL || arg[0] == '=' ||
		    o->nenv == RUN_ENV_MAX) {
			fprintf(stderr, "capgate run: --env takes NAME=VALUE\n");
			return -1;
		}
		o->env[o->nenv++] = arg;
		break;
	case 4: o->client = arg; break;
	case 5: o->verbose = 1; break;
	default: return -1;
	}
	return 0;
}

static int
setup_signals(struct cg_gateway *gw)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 0 };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	sigaddset(&set, SIGCHLD);
	/* Blocked signals stay blocked across exec unless the child resets
	 * them: the sandbox restores the mask before exec. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	/* A full audit disk (or RLIMIT_FSIZE) must fail a write with EFBIG,
	 * which the gateway answers by failing closed, not kill it. The
	 * sandbox resets every disposition to the default before exec. */
	signal(SIGXFSZ, SIG_IGN);
	gw->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (gw->sigfd < 0)
		return -1;
	return epoll_ctl(gw->epfd, EPOLL_CTL_ADD, gw->sigfd, &ev);
}

static void
audit_start(struct cg_gateway *gw, const char *const *argv)
{
	json_t *args = json_array(), *f;

	for (size_t i = 0; argv[i] != NULL && i < 64; i++)
		json_array_append_new(args, json_string(argv[i]));
	f = json_pack("{s:s,s:s,s:i,s:o,s:s}", "policy_path", gw->policy->path,
	    "policy_hash", gw->policy->hash, "gateway_pid", (int)getpid(),
	    "argv", args, "version", "capgate 0.1.0");
	audit_append_event(gw->audit, "start", f);
	json_decref(f);
}

/* The policy, and what the event loop needs before any child exists. */
static int
load_policy(struct cg_gateway *gw, const struct run_opts *o)
{
	struct cg_error err;
	char msg[1024];

	gw->policy = policy_load(o->policy, handler_check, &err);
	if (gw->policy == NULL) {
		cg_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return -1;
	}
	gw->rxbuf = malloc((size_t)CG_GATEWAY_RX_BATCH * (CG_FRAME_MAX + 1));
	gw->txbuf = malloc(CG_FRAME_MAX);
	gw->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (gw->rxbuf == NULL || gw->txbuf == NULL || gw->epfd < 0 ||
	    setup_signals(gw) != 0) {
		fprintf(stderr, "capgate run: cannot set up: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The audit log is opened on a thread of its own while the gateway
 * prepares and begins the command-line client's spawn: opening it (tail
 * check, `open` record, fdatasync, for a new log the directory's fsync)
 * mostly waits for the disk, the prepare and the clone of the child are
 * CPU work, and with a second CPU they run side by side (on one, the
 * thread runs when the gateway joins it, as if opened then). It touches only
 * what audit_open() allocates and the policy, read-only; the gateway uses
 * the log only after joining it (open_audit_end), and the client's
 * program cannot run before then: its exec waits for
 * gateway_spawn_finish().
 */
struct audit_opener {
	pthread_t thread;
	bool threaded;
	struct cg_audit_config ac;
	const char *policy_hash;
	struct cg_audit *audit;     /* NULL on failure, with err */
	struct cg_error err;
};

static void *
audit_opener_main(void *arg)
{
	struct audit_opener *op = arg;

	op->audit = audit_open(&op->ac, op->policy_hash, &op->err);
	return NULL;
}

static void
open_audit_begin(struct cg_gateway *gw, const struct run_opts *o,
    struct audit_opener *op)
{
	sigset_t all, old;

	memset(op, 0, sizeof(*op));
	cg_error_clear(&op->err);
	op->ac = gw->policy->audit;
	op->policy_hash = gw->policy->hash;
	if (o->audit != NULL) {
		op->ac.path = o->audit;
		gw->audit_path_set = true;
	}
	if (o->audit_key != NULL)
		op->ac.key_path = o->audit_key;
	/* Signals stay with the gateway's signalfd. Without a thread the log
	 * is opened at once, which keeps every guarantee. */
	sigfillset(&all);
	if (pthread_sigmask(SIG_SETMASK, &all, &old) == 0) {
		op->threaded = pthread_create(&op->thread, NULL, audit_opener_main, op) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (!op->threaded)
		audit_opener_main(op);
}

/* Joins the opener; then the directories the policy's scopes are opened
 * beneath. */
static int
open_audit_end(struct cg_gateway *gw, struct audit_opener *op)
{
	struct cg_error err;
	char msg[1024];

	if (op->threaded && pthread_join(op->thread, NULL) != 0) {
		fprintf(stderr, "capgate run: cannot join the audit log's opener\n");
		return -1;
	}
	op->threaded = false;
	gw->audit = op->audit;
	if (gw->audit == NULL) {
		cg_error_format(&op->err, msg, sizeof(msg));
		fprintf(stderr, "capgate run: %s\n", msg);
		return -1;
	}
	if (fs_open_scopes(gw, &err) != 0) {
		cg_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "capgate run: %s\n", msg);
		return -1;
	}
	return 0;
}

static void
close_gateway(struct cg_gateway *gw)
{
	/* An init that reported its program's status is still exiting (its
	 * namespaces being torn down) and is not reaped yet. It is reaped
	 * after the log's last fdatasync, which its exit overlaps: capgate
	 * leaves no process of its own behind either. */
	int *inits = calloc(gw->nclients + 1, sizeof(*inits));
	size_t ninits = 0;

	backend_stop_all(gw);
	for (size_t i = 0; i < gw->nclients; i++) {
		struct cg_client *c = gw->clients[i];
		if (c->child.pidfd >= 0) {
			if (inits != NULL)
				inits[ninits++] = c->child.pidfd;
			else
				sandbox_kill_and_reap(c->child.pidfd);
			c->child.pidfd = -1;
		}
		client_free(c);
	}
	free(gw->clients);
	backend_free_all(gw);
	fs_close_scopes(gw);
	if (gw->audit != NULL) {
		json_t *f = json_pack("{s:i}", "clients", (int)gw->nclients);
		audit_append_event(gw->audit, "stop", f);
		json_decref(f);
		if (audit_close(gw->audit) != 0)
			log_warn("closing the audit log failed");
	}
	for (size_t i = 0; i < ninits; i++)
		sandbox_kill_and_reap(inits[i]);
	free(inits);
	gateway_reload_collect(gw, true);
	policy_free(gw->policy);
	free(gw->rxbuf);
	free(gw->txbuf);
	gateway_timer_close(gw);
	if (gw->epfd >= 0)
		close(gw->epfd);
	if (gw->sigfd >= 0)
		close(gw->sigfd);
}

/* argv of a policy client's "exec"; a relative program path with a '/'
 * is relative to the policy file, like every path in it. */
static char **
exec_argv(const struct cg_policy *p, const json_t *exec)
{
	size_t n = json_array_size(exec);
	char **v = calloc(n + 1, sizeof(*v));
	const char *a0 = json_string_value(json_array_get(exec, 0));

	if (v == NULL)
		return NULL;
	if (a0[0] != '/' && strchr(a0, '/') != NULL) {
		if (asprintf(&v[0], "%s/%s", p->dir, a0) < 0)
			v[0] = NULL;
	} else {
		v[0] = strdup(a0);
	}
	for (size_t i = 1; i < n; i++)
		v[i] = strdup(json_string_value(json_array_get(exec, i)));
	for (size_t i = 0; i < n; i++)
		if (v[i] == NULL) {
			for (size_t j = 0; j < n; j++)
				free(v[j]);
			free(v);
			return NULL;
		}
	return v;
}

/*
 * The command-line PROGRAM runs as the chosen (default: first) policy
 * client. Its start is begun while the audit log is being opened: the
 * child creates its namespaces and applies its layers meanwhile, and its
 * exec waits until gateway_spawn_finish() (docs/PERFORMANCE.md, spawn).
 * Returns the client, or NULL if it could not be begun (then no child
 * exists).
 */
static struct cg_client *
begin_primary(struct cg_gateway *gw, const struct run_opts *o,
    const char *const *argv)
{
	const struct cg_client_policy *cp = o->client ?
	    policy_client(gw->policy, o->client) : &gw->policy->clients[0];
	struct cg_client *c;

	if (cp == NULL) {
		fprintf(stderr, "capgate run: the policy declares no client \"%s\"\n",
		    o->client);
		return NULL;
	}
	gw->clients = calloc(gw->policy->nclients, sizeof(*gw->clients));
	if (gw->clients == NULL || (c = client_new(gw, cp, cp->name)) == NULL)
		return NULL;
	c->primary = true;
	gw->clients[gw->nclients++] = c;
	return gateway_spawn_begin(gw, c, argv, o->env) == 0 ? c : NULL;
}

/* Every other client with an "exec" is launched with it, each with its own
 * connection, key and grants. */
static int
start_others(struct cg_gateway *gw, const struct run_opts *o,
    const struct cg_client *primary)
{
	for (size_t i = 0; i < gw->policy->nclients; i++) {
		const struct cg_client_policy *other = &gw->policy->clients[i];
		struct cg_client *c;
		char **v;
		int rc;
		if (other == primary->pol || other->exec == NULL)
			continue;
		if ((v = exec_argv(gw->policy, other->exec)) == NULL ||
		    (c = client_new(gw, other, other->name)) == NULL)
			rc = -1;
		else {
			gw->clients[gw->nclients++] = c;
			rc = gateway_spawn_client(gw, c, (const char *const *)v, o->env);
		}
		for (size_t j = 0; v != NULL && v[j] != NULL; j++)
			free(v[j]);
		free(v);
		/* Answer the handshakes of the clients started so far: starting
		 * a thousand takes seconds, and none may wait out its library's
		 * handshake timeout behind the others. */
		if (rc != 0 || gateway_poll(gw) != 0)
			return -1;
	}
	return 0;
}

int
cmd_run(int argc, char **argv)
{
	static const char usage[] = "capgate run --policy FILE [--audit LOG] "
	    "[--audit-key KEY] [--env NAME=VALUE]... [--] PROGRAM [ARGS...]";
	struct cg_gateway gw = { .epfd = -1, .sigfd = -1 };
	struct run_opts o = { 0 };
	struct audit_opener opener;
	struct cg_client *primary;
	int first, status;

	first = options_parse("run", argc, argv, run_options, run_option, &o);
	if (first == -2) {
		options_usage(stdout, usage, "Starts PROGRAM as an untrusted "
		    "front-end in the policy's sandbox and mediates every\nrequest "
		    "it makes. Exits with PROGRAM's status (128+N if killed by "
		    "signal N).", run_options);
		return 0;
	}
	if (first < 0 || o.policy == NULL || first >= argc) {
		fprintf(stderr, "capgate run: %s\nusage: %s\n", o.policy == NULL ?
		    "--policy is required" : "no PROGRAM given", usage);
		return 2;
	}
	cg_log_set_verbose(o.verbose);
	if (load_policy(&gw, &o) != 0) {
		close_gateway(&gw);
		return 2;
	}
	open_audit_begin(&gw, &o, &opener);
	primary = begin_primary(&gw, &o, (const char *const *)(argv + first));
	if (open_audit_end(&gw, &opener) != 0) {
		if (primary != NULL)
			gateway_spawn_abort(primary);
		close_gateway(&gw);
		return 2;
	}
	audit_start(&gw, (const char *const *)(argv + first));
	if (primary == NULL || backend_start_all(&gw) != 0 ||
	    gateway_spawn_finish(&gw, primary,
	    (const char *const *)(argv + first)) != 0 ||
	    start_others(&gw, &o, primary) != 0) {
		/* Clients that did start are not left running without their
		 * gateway; one begun and not finished is killed here. */
		if (primary != NULL)
			gateway_spawn_abort(primary);
		for (size_t i = 0; i < gw.nclients; i++)
			if (gw.clients[i]->child.pidfd >= 0)
				client_kill(gw.clients[i], "run-aborted");
		while (gw.nlive > 0 && gateway_turn(&gw) == 0)
			;
		audit_commit(gw.audit);
		close_gateway(&gw);
		return 127;
	}
	if (audit_commit(gw.audit) != 0)
		log_warn("the audit log cannot be written");
	gateway_loop(&gw);
	status = gw.clients[0]->exit_status;
	close_gateway(&gw);
	return status < 0 ? 2 : status;
}
