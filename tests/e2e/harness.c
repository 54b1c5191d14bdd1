#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tmpdir.h"

const char *const e2e_capgate = CAPGATE_BIN;
const char *const e2e_client = CLIENT_BIN;
const char *const e2e_hostile = HOSTILE_BIN;
const char *const e2e_policy_dir = POLICY_DIR;

const char *
e2e_tmpdir(void)
{
	return test_tmpdir("capgate-e2e", 0777);
}

const char *
e2e_audit_path(const char *name)
{
	static char path[512];

	snprintf(path, sizeof(path), "%s/%s-%d.log", e2e_tmpdir(), name,
	    (int)getpid());
	return path;
}

/* argv for capgate run, optionally behind setpriv. */
static char **
build_argv(const char *policy, const char *audit, const char *const *extra,
    const char *const *argv)
{
	static char *v[128];
	static char uidarg[32], gidarg[32];
	const char *uid = getenv("CAPGATE_TEST_UID");
	size_t n = 0;

	if (uid != NULL && *uid != '\0') {
		snprintf(uidarg, sizeof(uidarg), "--reuid=%s", uid);
		snprintf(gidarg, sizeof(gidarg), "--regid=%s", uid);
		v[n++] = "setpriv";
		v[n++] = uidarg;
		v[n++] = gidarg;
		v[n++] = "--clear-groups";
		v[n++] = "--";
	}
	v[n++] = (char *)(uintptr_t)e2e_capgate;
	v[n++] = "run";
	v[n++] = "--policy";
	v[n++] = (char *)(uintptr_t)policy;
	if (audit != NULL) {
		v[n++] = "--audit";
		v[n++] = (char *)(uintptr_t)audit;
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++)
		v[n++] = (char *)(uintptr_t)extra[i];
	v[n++] = "--";
	for (size_t i = 0; argv[i] != NULL && n < 126; i++)
		v[n++] = (char *)(uintptr_t)argv[i];
	v[n] = NULL;
	return v;
}

static pid_t
spawn(char **v, int *out_fd, int *err_fd)
{
	int o[2], e[2];
	pid_t pid;

	if (pipe2(o, O_CLOEXEC) != 0 || pipe2(e, O_CLOEXEC) != 0)
		abort();
	pid = fork();
	if (pid == 0) {
		dup2(o[1], 1);
		dup2(e[1], 2);
		execvp(v[0], v);
		_exit(126);
	}
	close(o[1]);
	close(e[1]);
	*out_fd = o[0];
	if (err_fd != NULL)
		*err_fd = e[0];
	else
		close(e[0]);
	return pid;
}

static int
status_of(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
e2e_wait(pid_t pid, int timeout_s)
{
	time_t end = time(NULL) + timeout_s;
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return status_of(st);
		if (time(NULL) >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(10000);
	}
}

void
e2e_run(const char *policy, const char *audit, const char *const *extra,
    const char *const *argv, int timeout_s, struct e2e_result *r)
{
	char **v = build_argv(policy, audit, extra, argv);
	size_t no = 0, ne = 0;
	int ofd, efd;
	pid_t pid = spawn(v, &ofd, &efd);
	time_t end = time(NULL) + timeout_s;
	struct pollfd p[2] = { { ofd, POLLIN, 0 }, { efd, POLLIN, 0 } };

	memset(r, 0, sizeof(*r));
	while ((p[0].fd >= 0 || p[1].fd >= 0) && time(NULL) < end) {
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			char *dst = i == 0 ? r->out : r->err;
			size_t cap = i == 0 ? sizeof(r->out) : sizeof(r->err);
			size_t *len = i == 0 ? &no : &ne;
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			char tmp[4096];
			ssize_t n = read(p[i].fd, tmp, sizeof(tmp));
			if (n <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				continue;
			}
			size_t take = (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;
			memcpy(dst + *len, tmp, take);
			*len += take;
		}
	}
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	r->status = e2e_wait(pid, end > time(NULL) ? (int)(end - time(NULL)) : 1);
}

pid_t
e2e_start(const char *policy, const char *audit, const char *const *argv,
    int *out_fd)
{
	return spawn(build_argv(policy, audit, NULL, argv), out_fd, NULL);
}
