/*
 * Starting a client: its connection, its session key and its environment.
 *
 * The client's identity is fixed at birth: the gateway makes the
 * socketpair, generates a fresh key, and starts the process itself, so
 * there is no moment at which another process could claim to be it. The key
 * reaches the client through a pipe (fd 4) that the client library reads
 * and closes before the front-end's own code runs; it is never in the
 * environment, argv or anything /proc shows.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/gateway.h"
#include "sandbox/sandbox.h"

#define ENV_MAX 256

extern char **environ;

static int
env_add(const char **env, size_t *n, char *entry)
{
	if (entry == NULL || *n + 1 >= ENV_MAX)
		return -1;
	/* A later setting of the same name replaces an earlier one. */
	size_t klen = strcspn(entry, "=");
	for (size_t i = 0; i < *n; i++) {
		if (strncmp(env[i], entry, klen + 1) == 0) {
			free((char *)(uintptr_t)env[i]);
			env[i] = entry;
			return 0;
		}
	}
	env[(*n)++] = entry;
	env[*n] = NULL;
	return 0;
}

/*
 * The client's environment: only what the policy names (pass: copied from
 * ours, set: given values), then --env from the command line, then the
 * gateway's own variables, which nothing can override.
 */
static const char **
build_env(struct cg_gateway *gw, const char *name, const char *const *extra)
{
	const struct cg_env_policy *ep = &gw->policy->env;
	const char **env = calloc(ENV_MAX + 1, sizeof(*env));
	const char *key;
	size_t n = 0, i;
	char *e;
	json_t *v;

	if (env == NULL)
		return NULL;
	json_array_foreach(ep->pass, i, v) {
		const char *val = getenv(json_string_value(v));
		if (val != NULL && (asprintf(&e, "%s=%s", json_string_value(v),
		    val) < 0 || env_add(env, &n, e) != 0))
			goto fail;
	}
	json_object_foreach(ep->set, key, v)
		if (asprintf(&e, "%s=%s", key, json_string_value(v)) < 0 ||
		    env_add(env, &n, e) != 0)
			goto fail;
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		if (env_add(env, &n, strdup(extra[i])) != 0)
			goto fail;
	if (env_add(env, &n, strdup("CAPGATE_FD=3")) != 0 ||
	    env_add(env, &n, strdup("CAPGATE_KEY_FD=4")) != 0 ||
	    asprintf(&e, "CAPGATE_CLIENT=%s", name) < 0 ||
	    env_add(env, &n, e) != 0)
		goto fail;
	return env;
fail:
	for (i = 0; i < n; i++)
		free((char *)(uintptr_t)env[i]);
	free(env);
	return NULL;
}

static void
free_env(const char **env)
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		free((char *)(uintptr_t)env[i]);
	free(env);
}

/* The key goes into a pipe whose read end becomes the client's fd 4. */
static int
key_pipe(const unsigned char *key)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	if (cg_write_full(p[1], key, CG_SESSION_KEY_LEN) != CG_SESSION_KEY_LEN) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	return p[0];
}

static int
make_socketpair(int sv[2])
{
	int one = 1;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	/* The kernel attaches the sender's credentials to every datagram. */
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
	    cg_set_nonblock(sv[0]) != 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	return 0;
}

static void
audit_spawn(struct cg_gateway *gw, struct cg_client *c, const char *const *argv)
{
	json_t *args = json_array(), *f;

	for (size_t i = 0; argv[i] != NULL && i < 64; i++)
		json_array_append_new(args, json_string(argv[i]));
	f = json_pack("{s:s,s:i,s:o,s:o}", "client", c->name, "pid", (int)c->pid,
	    "argv", args, "sandbox", sandbox_attestation(c->plan));
	audit_append_event(gw->audit, "spawn", f);
	json_decref(f);
}

/*
 * The first half of a client's start: its key, environment and connection,
 * its sandbox plan, and the child, which then enters its sandbox on its own
 * (sandbox_spawn_start). Nothing of the program runs before
 * gateway_spawn_finish(). On failure no child is left.
 */
int
gateway_spawn_begin(struct cg_gateway *gw, struct cg_client *c,
    const char *const *argv, const char *const *extra_env)
{
	unsigned char key[CG_SESSION_KEY_LEN];
	struct cg_spawn_request req = { 0 };
	struct cg_error err;
	const char **env;
	int sv[2], kfd, rc = -1;

	cg_error_clear(&err);
	/* The loop may turn before _finish (backends start in between): the
	 * handshake clock starts with the program. */
	c->handshake_deadline_ns = UINT64_MAX;
	randombytes_buf(key, sizeof(key));
	frame_session_init(&c->sess, key, 1);
	env = build_env(gw, c->name, extra_env);
	if (env == NULL || make_socketpair(sv) != 0) {
		log_warn("cannot set up client %s: %s", c->name, strerror(errno));
		free_env(env);
		sodium_memzero(key, sizeof(key));
		return -1;
	}
	kfd = key_pipe(key);
	sodium_memzero(key, sizeof(key));
	req.argv = argv;
	req.envp = env;
	req.gateway_fd = sv[1];
	req.key_fd = kfd;
	req.name = c->name;
	if (kfd < 0)
		log_warn("cannot make the key pipe: %s", strerror(errno));
	else if (sandbox_prepare(gw->policy->sandbox, &req, &c->plan, &err) != 0 ||
	    sandbox_spawn_start(c->plan, &err) != 0)
		log_warn("cannot start %s: %s", argv[0], err.msg);
	else
		rc = 0;
	/* The child has its copies. */
	close(sv[1]);
	if (kfd >= 0)
		close(kfd);
	free_env(env);
	c->fd = sv[0];
	return rc;
}

/* The second half: the child's report, its exec let through, the spawn
 * record, and the client watched by the loop. On failure the child is
 * killed and reaped. */
int
gateway_spawn_finish(struct cg_gateway *gw, struct cg_client *c,
    const char *const *argv)
{
	struct cg_child child;
	struct cg_error err;

	cg_error_clear(&err);
	if (sandbox_spawn_finish(c->plan, &child, &err) != 0) {
		log_warn("cannot start %s: %s", argv[0], err.msg);
		return -1;
	}
	c->pid = child.program_pid;
	c->child = child;
	sandbox_plan_ids(c->plan, &c->uid, &c->gid);
	gateway_handshake_deadline(gw, c, cg_now_ns() +
	    (uint64_t)gw->policy->limits.handshake_ms * 1000000u);
	gw->nlive++;
	audit_spawn(gw, c, argv);
	return client_watch(c);
}

void
gateway_spawn_abort(struct cg_client *c)
{
	sandbox_spawn_abort(c->plan);
}

int
gateway_spawn_client(struct cg_gateway *gw, struct cg_client *c,
    const char *const *argv, const char *const *extra_env)
{
	if (gateway_spawn_begin(gw, c, argv, extra_env) != 0)
		return -1;
	return gateway_spawn_finish(gw, c, argv);
}
