/*
 * Starting a backend's process: its connection (socketpair as fd 3, a
 * fresh session key through a pipe as fd 4), its environment, its working
 * directory, and either a plain fork/exec (a backend is trusted and runs
 * as the gateway's user) or the sandbox module when the policy gives the
 * backend a "sandbox" of its own.
 *
 * Why this is safe for an untrusted requester: nothing here depends on a
 * client. argv, environment and directory come from the policy; the key
 * never appears in argv, the environment or /proc (as for clients, see
 * gateway/spawn.c); the child keeps fds 0-4 and nothing else.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/backend.h"
#include "sandbox/sandbox.h"

#define BACKEND_ENV_MAX 128

/* Environment: the names "pass" copies (default PATH), then "env", then
 * the gateway's own variables. */
static char **
backend_env(const struct cg_backend_policy *bp)
{
	char **env = calloc(BACKEND_ENV_MAX + 1, sizeof(*env));
	json_t *v, *pass = bp->pass;
	const char *key;
	size_t n = 0, i;

	if (env == NULL)
		return NULL;
	if (pass == NULL) {
		if (getenv("PATH") != NULL &&
		    asprintf(&env[n++], "PATH=%s", getenv("PATH")) < 0)
			goto fail;
	} else {
		json_array_foreach(pass, i, v) {
			const char *val = getenv(json_string_value(v));
			if (val != NULL && n < BACKEND_ENV_MAX - 4 &&
			    asprintf(&env[n++], "%s=%s", json_string_value(v), val) < 0)
				goto fail;
		}
	}
	json_object_foreach(bp->env, key, v)
		if (n < BACKEND_ENV_MAX - 4 &&
		    asprintf(&env[n++], "%s=%s", key, json_string_value(v)) < 0)
			goto fail;
	if (asprintf(&env[n++], "CAPGATE_FD=3") < 0 ||
	    asprintf(&env[n++], "CAPGATE_KEY_FD=4") < 0 ||
	    asprintf(&env[n++], "CAPGATE_BACKEND=%s", bp->name) < 0)
		goto fail;
	return env;
fail:
	env[n > 0 ? n - 1 : 0] = NULL;
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
	return NULL;
}

static void
free_strv(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static char **
backend_argv(const struct cg_backend_policy *bp)
{
	size_t n = json_array_size(bp->argv);
	char **argv = calloc(n + 1, sizeof(*argv));

	for (size_t i = 0; argv != NULL && i < n; i++)
		if ((argv[i] = strdup(json_string_value(json_array_get(bp->argv,
		    i)))) == NULL) {
			free_strv(argv);
			return NULL;
		}
	return argv;
}

/* The child side of an unsandboxed backend: its own session, its
 * directory, fds 0-2 + 3 (connection) + 4 (key), nothing else. Never
 * returns; an exec failure is reported through errfd. */
static void
plain_child(const struct cg_backend_policy *bp, char **argv, char **env,
    int sock, int kfd, int errfd)
{
	sigset_t none;
	int e;

	setsid();
	if (chdir(bp->cwd) != 0 || dup2(sock, 3) < 0 || dup2(kfd, 4) < 0)
		goto fail;
	if (errfd < 5)
		goto fail;
	syscall(SYS_close_range, 5, (unsigned)errfd - 1, 0);
	syscall(SYS_close_range, (unsigned)errfd + 1, ~0u, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execvpe(argv[0], argv, env);
fail:
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

static int
plain_spawn(const struct cg_backend_policy *bp, char **argv, char **env,
    int sock, int kfd, struct cg_child *out, struct cg_error *err)
{
	int p[2], e = 0;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) != 0)
		return cg_error_set(err, "pipe: %s", strerror(errno));
	out->pid = fork();
	if (out->pid < 0) {
		close(p[0]);
		close(p[1]);
		return cg_error_set(err, "fork: %s", strerror(errno));
	}
	if (out->pid == 0) {
		int hi = fcntl(p[1], F_DUPFD_CLOEXEC, 100);
		plain_child(bp, argv, env, sock, kfd, hi);
	}
	close(p[1]);
	do
		n = read(p[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	out->pidfd = (int)syscall(SYS_pidfd_open, out->pid, 0);
	if (n > 0 || out->pidfd < 0) {
		if (out->pidfd >= 0)
			close(out->pidfd);
		waitpid(out->pid, NULL, 0);
		out->pidfd = -1;
		return cg_error_set(err, "cannot start %s: %s", argv[0],
		    strerror(n > 0 ? e : errno));
	}
	fcntl(out->pidfd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* A backend with a "sandbox" of its own goes through the sandbox module.
 * The module has no working-directory option, so the gateway (single-
 * threaded) steps into the directory around the spawn. */
static int
sandboxed_spawn(struct cg_client *conn, const struct cg_backend_policy *bp,
    char **argv, char **env, int sock, int kfd, struct cg_child *out,
    struct cg_error *err)
{
	struct cg_spawn_request req = { 0 };
	int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC), rc;

	req.argv = (const char *const *)argv;
	req.envp = (const char *const *)env;
	req.gateway_fd = sock;
	req.key_fd = kfd;
	req.name = bp->name;
	if (here < 0 || chdir(bp->cwd) != 0) {
		if (here >= 0)
			close(here);
		return cg_error_set(err, "cannot enter %s: %s", bp->cwd,
		    strerror(errno));
	}
	rc = sandbox_prepare(bp->sandbox, &req, &conn->plan, err);
	if (rc == 0)
		rc = sandbox_spawn(conn->plan, out, err);
	if (fchdir(here) != 0)
		fatal("%s: cannot return to the gateway's directory", __func__);
	close(here);
	return rc;
}

static int
connection_pair(int sv[2], int *kfd, struct cg_frame_session *sess)
{
	unsigned char key[CG_SESSION_KEY_LEN];
	int one = 1, p[2];

	randombytes_buf(key, sizeof(key));
	frame_session_init(sess, key, 1);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		goto fail_key;
	if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) != 0 ||
	    cg_set_nonblock(sv[0]) != 0 || pipe2(p, O_CLOEXEC) != 0)
		goto fail_sock;
	if (cg_write_full(p[1], key, sizeof(key)) != (ssize_t)sizeof(key)) {
		close(p[0]);
		close(p[1]);
		goto fail_sock;
	}
	close(p[1]);
	*kfd = p[0];
	sodium_memzero(key, sizeof(key));
	return 0;
fail_sock:
	close(sv[0]);
	close(sv[1]);
fail_key:
	sodium_memzero(key, sizeof(key));
	return -1;
}


int
backend_spawn_process(struct cg_client *conn, const struct cg_backend_policy *bp,
    struct cg_child *child, struct cg_error *err)
{
	char **argv = backend_argv(bp), **env = backend_env(bp);
	int sv[2], kfd = -1, rc = -1;

	if (argv == NULL || env == NULL ||
	    connection_pair(sv, &kfd, &conn->sess) != 0) {
		cg_error_set(err, "cannot set up: %s", strerror(errno));
	} else {
		conn->fd = sv[0];
		rc = bp->sandbox != NULL ?
		    sandboxed_spawn(conn, bp, argv, env, sv[1], kfd, child, err) :
		    plain_spawn(bp, argv, env, sv[1], kfd, child, err);
		close(sv[1]);
		close(kfd);
	}
	free_strv(argv);
	free_strv(env);
	if (rc != 0) {
		/* A sandboxed child that started but failed before exec is
		 * reaped here, so a failed start leaves no zombie. */
		if (child->pid > 0 && bp->sandbox != NULL)
			waitpid(child->pid, NULL, 0);
		if (child->pidfd >= 0)
			close(child->pidfd);
		if (child->notify_fd >= 0)
			close(child->notify_fd);
		child->pidfd = child->notify_fd = -1;
	}
	return rc;
}
