/*
 * Times how long a program takes to start and finish: fork, exec, wait.
 * With /bin/true as the program that is the cost of process creation; with
 * `capgate run --policy P -- /bin/true` or `bwrap ... /bin/true` it is the
 * cost of starting a sandboxed client, which is what a user waits for.
 *
 *   bench-spawn [--name NAME] [--runs N] [--warmup N] [--gap MS] -- PROGRAM ARGS...
 *
 * --gap sleeps MS milliseconds before each run, outside the timing: a run
 * then starts on a quiet machine, as a user's single run does, rather than
 * right after the one before (in a tight loop some kernel work is shared
 * between runs: a cgroup migration right after another skips the RCU
 * grace period the first one waited for, docs/PERFORMANCE.md).
 *
 * A run that does not exit 0 stops the measurement (exit 1): a sandbox that
 * fails fast must not look like a fast sandbox.
 *
 * "{n}" in an argument is replaced by the run's number, so that each run can
 * get its own file (capgate's audit log: appending to one log that grows
 * with every run would measure the log, not the spawn).
 */
#include "bench/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SPAWN_ARGS_MAX 256
#define SPAWN_ARG_LEN 4096

/* argv with "{n}" replaced by run in each argument; storage in buf. */
static char **
expand_args(char **argv, uint64_t run, char (*buf)[SPAWN_ARG_LEN], char **out)
{
	size_t i;

	for (i = 0; argv[i] != NULL && i + 1 < SPAWN_ARGS_MAX; i++) {
		const char *at = strstr(argv[i], "{n}");
		if (at == NULL) {
			out[i] = argv[i];
			continue;
		}
		snprintf(buf[i], SPAWN_ARG_LEN, "%.*s%llu%s", (int)(at - argv[i]),
		    argv[i], (unsigned long long)run, at + 3);
		out[i] = buf[i];
	}
	out[i] = NULL;
	return out;
}

static int
run_once(char **argv, int devnull)
{
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		perror("bench-spawn: fork");
		exit(2);
	}
	if (pid == 0) {
		if (dup2(devnull, STDIN_FILENO) < 0 ||
		    dup2(devnull, STDOUT_FILENO) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("bench-spawn: waitpid");
			exit(2);
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const struct option long_opts[] = {
	{ "name", required_argument, NULL, 'N' },
	{ "runs", required_argument, NULL, 'n' },
	{ "warmup", required_argument, NULL, 'w' },
	{ "gap", required_argument, NULL, 'g' },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	const char *name = "spawn";
	uint64_t runs = 200, warmup = 5, gap_ms = 0, i, t0;
	static char argbuf[SPAWN_ARGS_MAX][SPAWN_ARG_LEN];
	static char *args[SPAWN_ARGS_MAX];
	struct bench_samples s;
	int c, devnull, rc;

	while ((c = getopt_long(argc, argv, "+", long_opts, NULL)) != -1) {
		switch (c) {
		case 'N': name = optarg; break;
		case 'n': runs = bench_parse_count(optarg, 1, 1000000, "--runs"); break;
		case 'w': warmup = bench_parse_count(optarg, 0, 1000000, "--warmup"); break;
		case 'g': gap_ms = bench_parse_count(optarg, 0, 60000, "--gap"); break;
		default:
			fprintf(stderr, "usage: bench-spawn [--name NAME] "
			    "[--runs N] [--warmup N] [--gap MS] -- PROGRAM ARGS...\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "bench-spawn: no program given\n");
		return 2;
	}
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0) {
		perror("bench-spawn: /dev/null");
		return 2;
	}
	bench_samples_init(&s, runs);
	for (i = 0; i < warmup + runs; i++) {
		expand_args(argv + optind, i, argbuf, args);
		if (gap_ms > 0) {
			struct timespec gap = { (time_t)(gap_ms / 1000),
			    (long)(gap_ms % 1000) * 1000000L };

			while (nanosleep(&gap, &gap) != 0 && errno == EINTR)
				;
		}
		t0 = bench_now_ns();
		rc = run_once(args, devnull);
		if (rc != 0) {
			fprintf(stderr, "bench-spawn: %s exited %d (run %llu)\n",
			    argv[optind], rc, (unsigned long long)i + 1);
			return 1;
		}
		if (i >= warmup)
			bench_samples_add(&s, bench_now_ns() - t0);
	}
	bench_report_latency(stdout, name, 0, &s);
	bench_samples_free(&s);
	close(devnull);
	return 0;
}
