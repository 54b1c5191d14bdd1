/* TEMPORARY minimal spawn until the sandbox branch lands: session, fds,
 * environment and no_new_privs only. */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct cg_sandbox_config { int unused; };
struct cg_sandbox_plan { struct cg_spawn_request req; };

struct cg_sandbox_config *
sandbox_config_parse(const json_t *section, const char *policy_dir, struct cg_error *err)
{
	(void)section; (void)policy_dir; (void)err;
	return calloc(1, sizeof(struct cg_sandbox_config));
}

void sandbox_config_free(struct cg_sandbox_config *cfg) { free(cfg); }

int
sandbox_prepare(const struct cg_sandbox_config *cfg, const struct cg_spawn_request *req,
    struct cg_sandbox_plan **out, struct cg_error *err)
{
	(void)cfg;
	*out = calloc(1, sizeof(**out));
	if (*out == NULL)
		return cg_error_set(err, "out of memory");
	(*out)->req = *req;
	return 0;
}

void sandbox_plan_free(struct cg_sandbox_plan *plan) { free(plan); }

static void
child(const struct cg_sandbox_plan *p, int errfd)
{
	int e;
	setsid();
	if (dup2(p->req.gateway_fd, 3) < 0) goto fail;
	if (p->req.key_fd >= 0 && dup2(p->req.key_fd, 4) < 0) goto fail;
	syscall(SYS_close_range, p->req.key_fd >= 0 ? 5 : 4, ~0u, 0);
	if (errfd >= 5) { /* keep the error pipe: it is CLOEXEC */ }
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	execve(p->req.argv[0], (char *const *)(uintptr_t)p->req.argv, (char *const *)(uintptr_t)p->req.envp);
	execvpe(p->req.argv[0], (char *const *)(uintptr_t)p->req.argv, (char *const *)(uintptr_t)p->req.envp);
fail:
	e = errno;
	(void)!write(errfd, &e, sizeof(e));
	_exit(127);
}

int
sandbox_spawn(const struct cg_sandbox_plan *plan, struct cg_child *out, struct cg_error *err)
{
	int pfd[2], e = 0;
	pid_t pid;
	ssize_t n;

	if (pipe2(pfd, O_CLOEXEC) != 0)
		return cg_error_set(err, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		return cg_error_set(err, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		/* move the error pipe above the fds we keep */
		int hi = fcntl(pfd[1], F_DUPFD_CLOEXEC, 100);
		child(plan, hi);
	}
	close(pfd[1]);
	do n = read(pfd[0], &e, sizeof(e)); while (n < 0 && errno == EINTR);
	close(pfd[0]);
	out->pid = pid;
	out->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	out->notify_fd = -1;
	if (n == (ssize_t)sizeof(e))
		return cg_error_set(err, "cannot execute %s: %s", plan->req.argv[0], strerror(e));
	return 0;
}

json_t *sandbox_attestation(const struct cg_sandbox_plan *plan) { (void)plan; return json_pack("{s:b}", "temporary", 1); }
