/*
 * Real abusers as front-ends: stress-ng (fork, vm, open stressors) and
 * trinity (the syscall fuzzer) run under `capgate run` in the runtime
 * profile with process, memory and file limits (tests/abuse/abuse.json,
 * plus a scratch directory they may write). The policy grants them a few
 * extra syscalls (socket, connect, capset, SysV shm) so that they get past
 * their own start-up and into the work that touches the profile's edge.
 *
 * What must hold: the gateway exits on its own in bounded time with a
 * verifiable audit log; every violation is recorded with the syscall's
 * name; nothing the abuser started outlives it on the host (processes,
 * SysV shared memory); and a second gateway serving a polite client
 * meanwhile answers every one of its requests.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../faults/util.h"

static char policy[600];
static char scratch[600];

static void
make_policy(void)
{
	json_t *doc = json_load_file(ABUSE_POLICY, 0, NULL);
	json_t *w;

	cr_assert_not_null(doc);
	snprintf(scratch, sizeof(scratch), "%s/scratch-%d", e2e_tmpdir(),
	    (int)getpid());
	cr_assert_eq(mkdir(scratch, 0777), 0);
	cr_assert_eq(chmod(scratch, 0777), 0);
	w = json_object_get(json_object_get(doc, "sandbox"), "write");
	json_array_append_new(w, json_string(scratch));
	snprintf(policy, sizeof(policy), "%s/abuse-%d.json", e2e_tmpdir(),
	    (int)getpid());
	cr_assert_eq(json_dump_file(doc, policy, JSON_INDENT(1)), 0);
	json_decref(doc);
}

static void
setup(void)
{
	if (access("/usr/bin/stress-ng", X_OK) != 0 ||
	    access("/usr/bin/trinity", X_OK) != 0) {
		if (getenv("CAPGATE_REQUIRE_ALL") != NULL)
			cr_assert_fail("stress-ng and trinity are required (scripts/setup)");
		cr_skip_test("stress-ng or trinity is not installed");
	}
	make_policy();
}

TestSuite(abuse, .init = setup, .timeout = 120);

static int
has_arg1(const char *pid, const char *arg1)
{
	char path[300], cmd[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(cmd, 1, sizeof(cmd) - 1, f);
	fclose(f);
	cmd[n] = '\0';
	return strlen(cmd) + 1 < n && strcmp(cmd + strlen(cmd) + 1, arg1) == 0;
}

/* Processes on the host whose name starts with prefix (and whose first
 * argument is arg1, unless that is NULL). */
static int
count_procs_arg(const char *prefix, const char *arg1)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[300], comm[64] = "";
		FILE *f;
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) != NULL &&
		    strncmp(comm, prefix, strlen(prefix)) == 0)
			n += arg1 == NULL || has_arg1(e->d_name, arg1);
		fclose(f);
	}
	closedir(d);
	return n;
}

static int
count_procs(const char *prefix)
{
	return count_procs_arg(prefix, NULL);
}

/* Every violation record names a syscall; returns how many there are. */
static int
check_violations(const char *audit)
{
	FILE *f = fopen(audit, "r");
	char *line = NULL;
	size_t cap = 0;
	int n = 0;

	cr_assert_not_null(f);
	while (getline(&line, &cap, f) > 0) {
		if (strstr(line, "\"ev\":\"violation\"") == NULL)
			continue;
		json_t *rec = json_loads(line, 0, NULL);
		const char *name = json_string_value(json_object_get(rec, "name"));
		cr_assert_not_null(name, "%s", line);
		cr_assert(name[0] != '\0' && strcmp(name, "unknown") != 0,
		    "violation without a syscall name: %s", line);
		cr_assert_str_eq(json_string_value(json_object_get(rec, "action")),
		    "killed");
		cr_log_info("violation: %s", name);
		json_decref(rec);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

/* A polite client on its own gateway, started beside the abuser. */
static void
start_polite(struct fault_gw *g)
{
	static const char *const argv[] = { NULL, "loop", "echo", "\"x\"", "300", NULL };
	const char *v[6];

	memcpy(v, argv, sizeof(v));
	v[0] = fault_peer;
	fault_start(g, NULL, policy, e2e_audit_path("polite"), NULL, v);
	fault_close_stdin(g);
}

static void
finish_polite(struct fault_gw *g)
{
	cr_assert_eq(e2e_wait(g->pid, 60), 0, "%s", fault_slurp(g->err));
	cr_assert_eq(fault_count(g->out, "ok"), 300, "%s", fault_slurp(g->out));
}

/* Runs one abuser under a gateway; returns its exit status. */
static int
run_abuser(const char *audit, const char *keybase, const char *const *argv,
    int timeout_s)
{
	char key[600];
	struct fault_gw g;
	int st;

	snprintf(key, sizeof(key), "%s.key", keybase);
	fault_start(&g, NULL, policy, audit, key, argv);
	fault_close_stdin(&g);
	st = e2e_wait(g.pid, timeout_s);
	cr_assert_neq(st, -1, "the gateway did not exit in %d s", timeout_s);
	return st;
}

static void
verify(const char *audit, const char *keybase)
{
	char pub[600], out[2048];

	snprintf(pub, sizeof(pub), "%s.pub", keybase);
	cr_assert_eq(fault_verify(audit, pub, out, sizeof(out)), 0, "%s", out);
}

Test(abuse, stress_ng_is_contained)
{
	char audit[600];
	const char *key = fault_keygen("stress-ng");
	const char *argv[] = { "/usr/bin/stress-ng", "--temp-path", scratch,
	    "--fork", "4", "--vm", "2", "--vm-bytes", "64M", "--open", "2",
	    "--timeout", "10s", NULL };
	struct fault_gw polite;
	int st;

	snprintf(audit, sizeof(audit), "%s", e2e_audit_path("stress-ng"));
	start_polite(&polite);
	st = run_abuser(audit, key, argv, 20);
	finish_polite(&polite);
	cr_log_info("stress-ng under capgate: status %d, %d violations", st,
	    check_violations(audit));
	/* either its stressors stayed inside the profile and it finished,
	 * or its first call outside it ended it, on the record */
	cr_assert(st == 0 || (st == 128 + SIGKILL && check_violations(audit) > 0),
	    "status %d", st);
	verify(audit, key);
	cr_assert_eq(count_procs("stress-ng"), 0, "stress-ng outlived its gateway");
}

/* Lines of /proc/sysvipc/shm: SysV segments on the host. */
static int
shm_segments(void)
{
	return fault_count("/proc/sysvipc/shm", " ");
}

Test(abuse, trinity_is_contained)
{
	const char *argv[] = { "/usr/bin/trinity", "-q", "-l", "off", "-C", "2",
	    "-N", "5000", NULL };
	int shm_before = shm_segments(), runs = 0, killed = 0;
	time_t end = time(NULL) + 15;
	struct fault_gw polite;

	start_polite(&polite);
	/* trinity is ended at its first forbidden call: run it again and
	 * again for a bounded time, each run with its own log */
	while (time(NULL) < end && runs < 20) {
		char name[64], audit[600];
		int st;
		const char *key;
		snprintf(name, sizeof(name), "trinity-%d", runs++);
		snprintf(audit, sizeof(audit), "%s", e2e_audit_path(name));
		key = fault_keygen(name);   /* a key seals one log only */
		st = run_abuser(audit, key, argv, 20);
		if (st == 128 + SIGKILL) {
			killed++;
			cr_assert_gt(check_violations(audit), 0,
			    "killed without a violation on record (run %d)", runs);
		}
		verify(audit, key);
	}
	finish_polite(&polite);
	cr_log_info("trinity: %d runs, %d ended by a violation", runs, killed);
	cr_assert_gt(runs, 0);
	cr_assert_eq(count_procs("trinity"), 0, "trinity outlived its gateway");
	cr_assert_eq(shm_segments(), shm_before, "SysV segments left on the host");
}

/*
 * A purpose-built hog (stress-ng cannot start its stressors inside the
 * runtime profile: each calls prctl(PR_SET_NO_NEW_PRIVS), which is not on
 * the profile's prctl list, and is killed): fork, memory and fds until the
 * sandbox's limits say no. The limits in abuse.json are 32 processes,
 * 256 MiB and 256 open files; afterwards the gateway still answers it.
 */
Test(abuse, a_hog_is_held_to_the_sandbox_limits)
{
	const char *argv[] = { fault_peer, "hog", NULL };
	long forks = -1, mb = -1, fds = -1;
	struct fault_gw g;
	char ans[16] = "";
	int st;

	fault_start(&g, NULL, policy, e2e_audit_path("hog"), NULL, argv);
	fault_close_stdin(&g);
	st = e2e_wait(g.pid, 60);
	cr_assert_eq(st, 0, "status %d: %s", st, fault_slurp(g.err));
	cr_assert_eq(sscanf(fault_slurp(g.out), "forks %ld mb %ld fds %ld %15s",
	    &forks, &mb, &fds, ans), 4, "%s", fault_slurp(g.out));
	cr_log_info("hog: %ld forks, %ld MiB, %ld fds", forks, mb, fds);
	cr_assert_lt(forks, 32);
	cr_assert_leq(mb, 256);
	cr_assert_lt(fds, 256);
	cr_assert_str_eq(ans, "ok");
	cr_assert_eq(count_procs_arg("fault-peer", "hog"), 0, "the hog's children outlived it");
}
