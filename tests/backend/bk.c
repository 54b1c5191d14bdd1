#include "bk.h"

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

const char *const bk_capgate = CAPGATE_BIN;
const char *const bk_probe = PROBE_BIN;
const char *const bk_srcdir = SRC_DIR;
const char *const bk_pydir = PY_DIR;

const char *
bk_tmpdir(void)
{
	return test_tmpdir("capgate-bk", 0755);
}

const char *
bk_path(const char *name)
{
	static char path[4][512];
	static int n;
	char *p = path[n++ % 4];

	snprintf(p, 512, "%s/%s", bk_tmpdir(), name);
	return p;
}

void
bk_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

const char *
bk_policy(const char *name, const char *dir)
{
	static char out[512];
	char src[512], *text = NULL, *at;
	size_t cap = 0;
	FILE *in, *o;
	ssize_t n;

	/* NAME.json.in in the source tree becomes DIR/NAME.json */
	snprintf(src, sizeof(src), "%s/policies/%s.in", bk_srcdir, name);
	snprintf(out, sizeof(out), "%s/%s", dir, name);
	if ((in = fopen(src, "r")) == NULL || (o = fopen(out, "w")) == NULL)
		abort();
	while ((n = getline(&text, &cap, in)) > 0) {
		char *s = text;
		while ((at = strstr(s, "@DIR@")) != NULL) {
			fwrite(s, 1, (size_t)(at - s), o);
			fputs(bk_srcdir, o);
			s = at + 5;
		}
		fputs(s, o);
	}
	free(text);
	fclose(in);
	if (fclose(o) != 0)
		abort();
	return out;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
child(const char *policy, const char *audit, const char *const *argv,
    int in, int out, int err)
{
	const char *v[64];
	size_t n = 0;

	v[n++] = bk_capgate;
	v[n++] = "run";
	v[n++] = "--policy";
	v[n++] = policy;
	v[n++] = "--audit";
	v[n++] = audit;
	v[n++] = "--";
	for (size_t i = 0; argv[i] != NULL && n < 62; i++)
		v[n++] = argv[i];
	v[n] = NULL;
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
	setenv("CAPGATE_PYTHON_DIR", bk_pydir, 1);
	execv(v[0], (char *const *)(uintptr_t)v);
	_exit(126);
}

static int
wait_for(pid_t pid, double end)
{
	int st;

	for (;;) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		if (now_s() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -1;
		}
		usleep(5000);
	}
}

void
bk_run(const char *policy, const char *audit, const char *input,
    const char *const *argv, int timeout_s, struct bk_result *r)
{
	int i[2], o[2], e[2];
	double start = now_s(), end = start + timeout_s;
	size_t len[2] = { 0, 0 };
	pid_t pid;

	memset(r, 0, sizeof(*r));
	if (pipe2(i, O_CLOEXEC) != 0 || pipe2(o, O_CLOEXEC) != 0 ||
	    pipe2(e, O_CLOEXEC) != 0)
		abort();
	if ((pid = fork()) == 0)
		child(policy, audit, argv, i[0], o[1], e[1]);
	close(i[0]);
	close(o[1]);
	close(e[1]);
	signal(SIGPIPE, SIG_IGN);
	if (input != NULL)
		(void)!write(i[1], input, strlen(input));
	close(i[1]);
	struct pollfd p[2] = { { o[0], POLLIN, 0 }, { e[0], POLLIN, 0 } };
	while ((p[0].fd >= 0 || p[1].fd >= 0) && now_s() < end) {
		if (poll(p, 2, 100) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < 2; k++) {
			char *dst = k == 0 ? r->out : r->err;
			size_t cap = k == 0 ? sizeof(r->out) : sizeof(r->err);
			char tmp[8192];
			ssize_t n;
			if (p[k].fd < 0 || !(p[k].revents & (POLLIN | POLLHUP)))
				continue;
			n = read(p[k].fd, tmp, sizeof(tmp));
			if (n <= 0) {
				close(p[k].fd);
				p[k].fd = -1;
				continue;
			}
			size_t take = (size_t)n < cap - 1 - len[k] ?
			    (size_t)n : cap - 1 - len[k];
			memcpy(dst + len[k], tmp, take);
			len[k] += take;
		}
	}
	for (int k = 0; k < 2; k++)
		if (p[k].fd >= 0)
			close(p[k].fd);
	r->status = wait_for(pid, end + 1);
	r->seconds = now_s() - start;
}
