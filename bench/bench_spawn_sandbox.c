/*
 * Median time to start /bin/true and wait for it:
 *   sandbox   sandbox_prepare + sandbox_spawn + wait, every layer on
 *   spawn     sandbox_spawn + wait with a plan prepared once per run
 *             (what the gateway pays per client after policy load)
 *   fork      plain fork + execve + wait
 *   bwrap     bwrap --unshare-all --die-with-parent --ro-bind / / /bin/true
 *             (without a bind bwrap's empty root has no /bin/true to run)
 *
 *   bench_spawn_sandbox [ITERATIONS] [--json FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/sandbox.h"

static const char *const env[] = { "PATH=/usr/bin:/bin", NULL };

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t
median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static void
wait_pidfd(struct cg_child *c)
{
	siginfo_t si;

	if (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED) != 0 ||
	    si.si_code != CLD_EXITED || si.si_status != 0) {
		fprintf(stderr, "child did not exit cleanly\n");
		exit(1);
	}
	close(c->pidfd);
	if (c->notify_fd >= 0)
		close(c->notify_fd);
}

static uint64_t
one_sandbox(const struct cg_sandbox_config *cfg, int full)
{
	const char *argv[] = { "/bin/true", NULL };
	struct cg_spawn_request req = { .argv = argv, .envp = env, .key_fd = -1,
	    .name = "bench" };
	static struct cg_sandbox_plan *plan;
	struct cg_error err = { 0 };
	struct cg_child child;
	uint64_t t0;
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
		exit(1);
	req.gateway_fd = sp[1];
	t0 = cg_now_ns();
	if (full || plan == NULL) {
		sandbox_plan_free(plan);
		plan = NULL;
		if (sandbox_prepare(cfg, &req, &plan, &err) != 0) {
			fprintf(stderr, "prepare: %s\n", err.msg);
			exit(1);
		}
		if (!full)
			t0 = cg_now_ns();
	}
	if (sandbox_spawn(plan, &child, &err) != 0) {
		fprintf(stderr, "spawn: %s\n", err.msg);
		exit(1);
	}
	wait_pidfd(&child);
	t0 = cg_now_ns() - t0;
	/* A plan is for one spawn: prepare the next one outside the timing. */
	sandbox_plan_free(plan);
	plan = NULL;
	if (!full && sandbox_prepare(cfg, &req, &plan, &err) != 0)
		exit(1);
	close(sp[0]);
	close(sp[1]);
	return t0;
}

static uint64_t
one_exec(char *const *argv)
{
	uint64_t t0 = cg_now_ns();
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execve(argv[0], argv, (char *const *)(uintptr_t)env);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s failed\n", argv[0]);
		exit(1);
	}
	return cg_now_ns() - t0;
}

int
main(int argc, char **argv)
{
	static char *true_argv[] = { (char *)"/bin/true", NULL };
	static char *bwrap_argv[] = { (char *)"/usr/bin/bwrap", (char *)"--unshare-all",
	    (char *)"--die-with-parent", (char *)"--ro-bind", (char *)"/", (char *)"/",
	    (char *)"/bin/true", NULL };
	int n = argc > 1 && argv[1][0] != '-' ? atoi(argv[1]) : 200;
	const char *json_out = NULL;
	struct cg_sandbox_config *cfg;
	struct cg_error err = { 0 };
	json_t *section;
	uint64_t *t[4], m[4];
	int have_bwrap = access(bwrap_argv[0], X_OK) == 0;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			json_out = argv[i + 1];
	section = json_pack("{s:s}", "profile", "strict");
	cfg = sandbox_config_parse(section, "/", &err);
	for (int k = 0; k < 4; k++)
		if ((t[k] = calloc((size_t)n, sizeof(uint64_t))) == NULL)
			return 1;
	if (cfg == NULL || n < 1)
		return 1;
	/* Round-robin, so that load from elsewhere on the machine falls on
	 * every variant alike and the ratios stay meaningful. */
	for (int i = 0; i < n; i++) {
		t[0][i] = one_sandbox(cfg, 1);
		t[1][i] = one_sandbox(cfg, 0);
		t[2][i] = one_exec(true_argv);
		t[3][i] = have_bwrap ? one_exec(bwrap_argv) : 0;
	}
	for (int k = 0; k < 4; k++)
		m[k] = median(t[k], n);
	printf("spawn /bin/true, median of %d:\n", n);
	printf("  sandbox (prepare+spawn+wait) %8.3f ms\n", (double)m[0] / 1e6);
	printf("  sandbox (spawn+wait)         %8.3f ms\n", (double)m[1] / 1e6);
	printf("  fork+exec+wait               %8.3f ms\n", (double)m[2] / 1e6);
	if (have_bwrap) {
		printf("  bwrap --unshare-all          %8.3f ms\n", (double)m[3] / 1e6);
		printf("  ratio sandbox/bwrap %.2f, sandbox/fork %.2f\n",
		    (double)m[0] / (double)m[3], (double)m[0] / (double)m[2]);
	} else {
		printf("  bwrap: not installed\n");
	}
	if (json_out != NULL) {
		json_t *o = json_pack("{s:i, s:I, s:I, s:I, s:I}", "iterations", n,
		    "sandbox_ns", (json_int_t)m[0], "sandbox_spawn_only_ns", (json_int_t)m[1],
		    "fork_exec_ns", (json_int_t)m[2], "bwrap_ns", (json_int_t)m[3]);

		json_dump_file(o, json_out, JSON_INDENT(2));
		json_decref(o);
	}
	json_decref(section);
	sandbox_config_free(cfg);
	for (int k = 0; k < 4; k++)
		free(t[k]);
	return 0;
}
