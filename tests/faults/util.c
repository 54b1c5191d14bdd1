#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const fault_peer = PEER_BIN;
const char *const fault_policy_dir = FAULT_POLICY_DIR;

void
fault_start(struct fault_gw *g, const char *const *pre, const char *policy,
    const char *audit, const char *key, const char *const *argv)
{
	static int seq;
	const char *v[128];
	size_t n = 0;
	int in[2];

	snprintf(g->out, sizeof(g->out), "%s/gw-%d-%d.out", e2e_tmpdir(),
	    (int)getpid(), seq);
	snprintf(g->err, sizeof(g->err), "%s/gw-%d-%d.err", e2e_tmpdir(),
	    (int)getpid(), seq++);
	for (size_t i = 0; pre != NULL && pre[i] != NULL; i++)
		v[n++] = pre[i];
	v[n++] = e2e_capgate;
	v[n++] = "run";
	v[n++] = "--policy";
	v[n++] = policy;
	v[n++] = "--audit";
	v[n++] = audit;
	if (key != NULL) {
		v[n++] = "--audit-key";
		v[n++] = key;
	}
	v[n++] = "--";
	for (size_t i = 0; argv[i] != NULL && n < 126; i++)
		v[n++] = argv[i];
	v[n] = NULL;
	if (pipe2(in, O_CLOEXEC) != 0)
		abort();
	g->pid = fork();
	if (g->pid == 0) {
		int o = open(g->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(g->err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0)
			_exit(125);
		dup2(in[0], 0);
		dup2(o, 1);
		dup2(e, 2);
		execvp(v[0], (char *const *)(uintptr_t)v);
		_exit(126);
	}
	close(in[0]);
	g->in_fd = in[1];
}

void
fault_close_stdin(struct fault_gw *g)
{
	if (g->in_fd >= 0)
		close(g->in_fd);
	g->in_fd = -1;
}

void
fault_say(struct fault_gw *g, const char *line)
{
	size_t len = strlen(line);

	if (write(g->in_fd, line, len) != (ssize_t)len ||
	    write(g->in_fd, "\n", 1) != 1)
		abort();
}

const char *
fault_slurp(const char *path)
{
	static char buf[1 << 20];
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f == NULL)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

int
fault_count(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int count = 0;

	if (f == NULL)
		return 0;
	while (getline(&line, &cap, f) > 0)
		count += strstr(line, needle) != NULL;
	free(line);
	fclose(f);
	return count;
}

int
fault_wait_for(const char *path, const char *needle, int count,
    int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 10) {
		if (fault_count(path, needle) >= count)
			return 0;
		usleep(10000);
	}
	return -1;
}

static int
run_quiet(const char *const *v, char *out, size_t len)
{
	int p[2], st;
	size_t n = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(p) != 0)
		abort();
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execvp(v[0], (char *const *)(uintptr_t)v);
		_exit(126);
	}
	close(p[1]);
	for (;;) {
		char tmp[1024];
		r = read(p[0], tmp, sizeof(tmp));
		if (r <= 0)
			break;
		for (ssize_t i = 0; out != NULL && i < r && n + 1 < len; i++)
			out[n++] = tmp[i];
	}
	if (out != NULL)
		out[n] = '\0';
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

const char *
fault_keygen(const char *name)
{
	static char base[8][512];
	static int next;
	char *b = base[next++ % 8];
	const char *v[] = { e2e_capgate, "keygen", b, NULL };

	snprintf(b, 512, "%s/%s-%d-%d", e2e_tmpdir(), name, (int)getpid(), next);
	if (run_quiet(v, NULL, 0) != 0)
		abort();
	return b;
}

int
fault_verify(const char *log, const char *pub, char *out, size_t len)
{
	const char *v[] = { e2e_capgate, "audit", "verify", log, "--key", pub,
	    NULL };

	return run_quiet(v, out, len);
}

void
fault_flat_allocator(void)
{
	const char *old = getenv("ASAN_OPTIONS");
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s%squarantine_size_mb=0:"
	    "thread_local_quarantine_size_kb=0", old ? old : "",
	    old && *old ? ":" : "");
	setenv("ASAN_OPTIONS", buf, 1);
}

pid_t
fault_child(pid_t pid)
{
	char path[64];
	FILE *f;
	int child = -1;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
	    (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	if (fscanf(f, "%d", &child) != 1)
		child = -1;
	fclose(f);
	return child;
}

long
fault_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int
fault_fd_count(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (dir == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL)
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}

void
fault_write_file(const char *path, const char *text)
{
	char tmp[600];
	FILE *f;

	/* rename: the gateway never reads a half-written policy */
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	f = fopen(tmp, "w");
	if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0)
		abort();
}

const char *
fault_policy_copy(const char *name, const char *copy_as)
{
	static char paths[8][512];
	static int next;
	char *p = paths[next++ % 8], src[512];

	snprintf(src, sizeof(src), "%s/%s", fault_policy_dir, name);
	snprintf(p, 512, "%s/%s-%d.json", e2e_tmpdir(), copy_as, (int)getpid());
	fault_write_file(p, fault_slurp(src));
	return p;
}
