/*
 * Hygiene over many runs: nothing accumulates.
 *
 * 1. 10,000 sequential `capgate run` of a trivial client (one handshake,
 *    one invoke, exit), each audited to its own (unsealed: a signing key
 *    seals one log only) log: every run exits
 *    0, and afterwards the host holds what it held before: no zombie or
 *    leftover process, no new file in /tmp or /dev/shm, no SysV IPC object,
 *    no extra mount, no extra fd in the test process.
 *    Other test suites share the machine, so the checks are made where only
 *    these runs can leave traces: the test process is a child subreaper
 *    (every orphan or zombie of a run becomes its child), and, as root, it
 *    runs in its own mount namespace with fresh tmpfs on /tmp and /dev/shm
 *    (the shared /dev/shm is not only ours: in one CI run an entry another
 *    process had made went away meanwhile, 2 -> 1, and a count compared
 *    across the runs failed). Not as root, /dev/shm is checked for names
 *    that appeared and stayed.
 *    CAPGATE_SOAK_RUNS overrides the count (the sanitizer build uses fewer).
 * 2. One gateway answering 20,000 invokes: its fd count does not change and
 *    its RSS stays flat between the 2,000th and the 20,000th.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../faults/util.h"

#define RUNS 10000

TestSuite(soak, .timeout = 900);

static int
entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.' || (e->d_name[1] != '\0' &&
		    (e->d_name[1] != '.' || e->d_name[2] != '\0'));
	closedir(d);
	return n;
}

/* dir's entry names, each between newlines ("\na\nb\n"), to free. */
static char *
list_names(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t len = 1, cap = 256;
	char *all = malloc(cap);

	cr_assert_not_null(all);
	cr_assert_not_null(d, "%s: cannot list", dir);
	strcpy(all, "\n");
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (len + n + 2 > cap) {
			cap = 2 * (len + n + 2);
			all = realloc(all, cap);
			cr_assert_not_null(all);
		}
		memcpy(all + len, e->d_name, n);
		len += n;
		all[len++] = '\n';
		all[len] = '\0';
	}
	closedir(d);
	return all;
}

/* How many names in dir are not in known (from list_names). */
static int
new_names(const char *dir, const char *known)
{
	char *now = list_names(dir), *p = now + 1, *nl, key[300];
	int fresh = 0;

	for (; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		snprintf(key, sizeof(key), "\n%.*s\n", (int)(nl - p), p);
		if (strstr(known, key) == NULL) {
			cr_log_error("new in %s: %.*s", dir, (int)(nl - p), p);
			fresh++;
		}
	}
	free(now);
	return fresh;
}

/* Processes in state Z among our children, and all our children. */
static void
procs(int *zombies, int *children)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	*zombies = *children = 0;
	while ((e = readdir(d)) != NULL) {
		char path[300], buf[512], *rp;
		int ppid = 0;
		char state = '?';
		FILE *f;
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (rp = strrchr(buf, ')')) != NULL &&
		    sscanf(rp + 1, " %c %d", &state, &ppid) == 2) {
			*zombies += state == 'Z' && ppid == (int)getpid();
			*children += ppid == (int)getpid();
		}
		fclose(f);
	}
	closedir(d);
}

struct host {
	int tmp, shm, ipc, mounts, fds, zombies, children;
};

static void
snapshot(struct host *h)
{
	h->tmp = entries("/tmp");
	h->shm = entries("/dev/shm");
	h->ipc = fault_count("/proc/sysvipc/shm", " ") +
	    fault_count("/proc/sysvipc/sem", " ") +
	    fault_count("/proc/sysvipc/msg", " ");
	h->mounts = fault_count("/proc/self/mountinfo", " ");
	h->fds = fault_fd_count(getpid());
	procs(&h->zombies, &h->children);
}

Test(soak, ten_thousand_runs_leave_nothing_behind)
{
	const char *argv[] = { fault_peer, "loop", "echo", "\"x\"", "1", NULL };
	char policy[600], log[600];
	struct host before, after;
	char *names_before;
	int runs = RUNS;

	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	if (geteuid() == 0) {
		cr_assert_eq(unshare(CLONE_NEWNS), 0);
		cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
		cr_assert_eq(mount("soak", "/tmp", "tmpfs", 0, "size=256m,mode=1777"), 0);
		cr_assert_eq(mount("soak", "/dev/shm", "tmpfs", 0, "size=64m,mode=1777"), 0);
	} else {
		cr_log_warn("not root: /tmp is shared with other tests, so only "
		    "the runs' own directory is checked for leftovers");
	}

	snprintf(policy, sizeof(policy), "%s/traffic.json", fault_policy_dir);
	if (getenv("CAPGATE_SOAK_RUNS") != NULL)
		runs = atoi(getenv("CAPGATE_SOAK_RUNS"));
	snprintf(log, sizeof(log), "%s/soak-%d.log", e2e_tmpdir(), (int)getpid());
	e2e_tmpdir();
	snapshot(&before);
	names_before = list_names("/dev/shm");
	for (int i = 0; i < runs; i++) {
		struct fault_gw g;
		int st;
		fault_start(&g, NULL, policy, log, NULL, argv);
		fault_close_stdin(&g);
		st = e2e_wait(g.pid, 30);
		cr_assert_eq(st, 0, "run %d: status %d: %s", i, st,
		    fault_slurp(g.err));
		/* one log per run (appending would grow one file forever) */
		unlink(log);
		unlink(g.out);
		unlink(g.err);
	}
	snapshot(&after);
	cr_log_info("after %d runs: /tmp %d -> %d, /dev/shm %d -> %d, SysV %d -> %d, "
	    "mounts %d -> %d, fds %d -> %d, zombies %d -> %d, children %d -> %d",
	    runs, before.tmp, after.tmp, before.shm, after.shm, before.ipc,
	    after.ipc, before.mounts, after.mounts, before.fds, after.fds,
	    before.zombies, after.zombies, before.children, after.children);
	if (geteuid() == 0)
		cr_assert_eq(after.tmp, before.tmp);
	cr_assert_eq(entries(e2e_tmpdir()), 0, "%s is not empty", e2e_tmpdir());
	if (geteuid() == 0)
		cr_assert_eq(after.shm, before.shm);
	cr_assert_eq(new_names("/dev/shm", names_before), 0, "a run left a file in /dev/shm");
	free(names_before);
	cr_assert_eq(after.ipc, before.ipc);
	cr_assert_eq(after.mounts, before.mounts);
	cr_assert_eq(after.fds, before.fds);
	cr_assert_eq(after.zombies, 0);
	cr_assert_eq(after.children, 0);
}

Test(soak, one_gateway_twenty_thousand_invokes_stays_flat)
{
	const char *argv[] = { fault_peer, "stdin", NULL };
	struct fault_gw g;
	long rss1 = -1, rss2 = -1;
	int fd1 = -1, fd2 = -1;

	fault_flat_allocator();
	fault_start(&g, NULL, fault_policy_copy("traffic.json", "soak1"),
	    e2e_audit_path("soak1"), NULL, argv);
	for (int i = 0; i < 20000; i++) {
		fault_say(&g, "echo \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"");
		if (i == 1999 || i == 19999) {
			cr_assert_eq(fault_wait_for(g.out, "echo ok", i + 1, 60000),
			    0, "%s", fault_slurp(g.err));
			if (i == 1999) {
				rss1 = fault_rss_kb(g.pid);
				fd1 = fault_fd_count(g.pid);
			} else {
				rss2 = fault_rss_kb(g.pid);
				fd2 = fault_fd_count(g.pid);
			}
		}
	}
	fault_close_stdin(&g);
	cr_assert_eq(e2e_wait(g.pid, 60), 0);
	cr_log_info("gateway after 2,000 invokes: %ld KiB, %d fds; after 20,000: "
	    "%ld KiB, %d fds", rss1, fd1, rss2, fd2);
	cr_assert_eq(fd1, fd2);
	cr_assert_lt(rss2 - rss1, 512, "RSS grew by %ld KiB", rss2 - rss1);
}
