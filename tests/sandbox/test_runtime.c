/*
 * Interpreters doing real work under the runtime profile, with the
 * policies shipped in policies/ (their "sandbox" sections), and the
 * attestation of a spawned client.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/sandbox/harness.h"

#ifndef POLICY_DIR
#error POLICY_DIR must name the policies/ directory
#endif

static const char *const env[] = { "PATH=/usr/bin:/bin", "HOME=/nonexistent",
	"LANG=C.UTF-8", NULL };

/* Skip loudly when the kernel lacks a layer, or fail under
 * CAPGATE_REQUIRE_ALL=1 (CI). */
static void
require_kernel(void)
{
	const char *why = harness_missing_feature();

	if (why == NULL)
		return;
	if (harness_require_all())
		cr_assert_fail("kernel feature missing and CAPGATE_REQUIRE_ALL=1: %s", why);
	fprintf(stderr, "SKIP: kernel lacks a sandbox feature: %s\n", why);
	cr_skip_test("SKIP: kernel lacks a sandbox feature: %s", why);
}

TestSuite(runtime, .init = require_kernel);

/* The "sandbox" section of a shipped policy file, as JSON text. */
static char *
policy_section(const char *file)
{
	char path[512];
	json_error_t jerr;
	json_t *root, *sec;
	char *s;

	const char *dir = getenv("CAPGATE_POLICY_DIR");

	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : POLICY_DIR, file);
	root = json_load_file(path, 0, &jerr);
	cr_assert_not_null(root, "%s: %s", path, jerr.text);
	cr_assert_eq(json_integer_value(json_object_get(root, "capgate")), 1);
	cr_assert_not_null(json_object_get(root, "channels"));
	sec = json_object_get(root, "sandbox");
	cr_assert_not_null(sec);
	s = json_dumps(sec, 0);
	json_decref(root);
	return s;
}

static void
run(const char *policy, const char *const *argv, struct harness_result *r)
{
	char *sec = policy_section(policy);

	cr_assert_eq(harness_run(sec, argv, env, r), 0, "%s", r->error);
	free(sec);
}

static const char python_work[] =
	"import json, hashlib, threading, os\n"
	"r = []\n"
	"t = threading.Thread(target=lambda: r.append(sum(i*i for i in range(100000))))\n"
	"t.start(); t.join()\n"
	"h = hashlib.sha256(b'capgate').hexdigest()[:8]\n"
	"try:\n"
	"    open('/etc/shadow').read(); shadow = 'READ'\n"
	"except (PermissionError, FileNotFoundError):\n"
	"    shadow = 'denied'\n"
	"print(json.dumps({'sum': r[0], 'h': h, 'shadow': shadow, 'pid': os.getpid()}))\n";

Test(runtime, python3_does_real_work) {
	const char *argv[] = { "/usr/bin/python3", "-c", python_work, NULL };
	struct harness_result r;

	run("python.json", argv, &r);
	cr_expect_eq(r.exit_code, 0, "python3: %s", r.out);
	cr_expect(strstr(r.out, "\"sum\": 333328333350000") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "\"h\": \"") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "\"shadow\": \"denied\"") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "\"pid\": 2}") != NULL, "%s", r.out);
	cr_expect_eq(r.n_events, 0, "unexpected event %s", r.n_events ? r.events[0].name : "");
	json_decref(r.attestation);
}

Test(runtime, python3_cannot_start_a_shell) {
	const char *argv[] = { "/usr/bin/python3", "-c",
	    "import subprocess\n"
	    "try:\n"
	    "    subprocess.run(['/bin/sh', '-c', 'id']); print('RAN')\n"
	    "except PermissionError as e:\n"
	    "    print('denied', e.errno)\n", NULL };
	struct harness_result r;

	run("python.json", argv, &r);
	cr_expect(strstr(r.out, "denied 1") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "RAN") == NULL, "%s", r.out);
	cr_assert_geq(r.n_events, 1);
	cr_expect_eq(r.events[0].kind, CG_SANDBOX_EVENT_EXEC_DENIED);
	cr_expect_str_eq(r.events[0].exec_path, "/bin/sh");
	json_decref(r.attestation);
}

/* Extension modules whose libraries python.json grants. */
Test(runtime, python3_loads_its_extension_modules) {
	const char *argv[] = { "/usr/bin/python3", "-c",
	    "import ssl, sqlite3, ctypes, lzma, bz2, uuid, hashlib, _hashlib\n"
	    "db = sqlite3.connect(':memory:')\n"
	    "ssl.create_default_context()\n"
	    "n = db.execute('select 6 * 7').fetchone()[0]\n"
	    "z = len(lzma.decompress(lzma.compress(b'x' * 1000)))\n"
	    "print('ok', n, z, ctypes.sizeof(ctypes.c_int))\n", NULL };
	struct harness_result r;

	run("python.json", argv, &r);
	cr_expect_eq(r.exit_code, 0, "python3: signal %d: %s", r.signal, r.out);
	cr_expect(strstr(r.out, "ok 42 1000 4") != NULL, "%s", r.out);
	cr_expect_eq(r.n_events, 0, "unexpected event %s", r.n_events ? r.events[0].name : "");
	json_decref(r.attestation);
}

/*
 * A user lookup (here through a missing HOME) makes libc try nscd's socket
 * first. The profile refuses the socket with EPERM and records it; the
 * interpreter falls back and carries on instead of dying of SIGSYS.
 */
Test(runtime, python3_survives_a_user_lookup) {
	static const char *const no_home[] = { "PATH=/usr/bin:/bin", NULL };
	const char *argv[] = { "/usr/bin/python3", "-c",
	    "import os, pwd\n"
	    "try:\n"
	    "    name = pwd.getpwuid(os.getuid()).pw_name\n"
	    "except KeyError:\n"
	    "    name = 'unknown'\n"
	    "print('home', os.path.expanduser('~'), 'user', name)\n", NULL };
	char *sec = policy_section("python.json");
	struct harness_result r;

	cr_assert_eq(harness_run(sec, argv, no_home, &r), 0, "%s", r.error);
	free(sec);
	cr_expect_eq(r.exit_code, 0, "python3: signal %d: %s", r.signal, r.out);
	cr_expect(strstr(r.out, "home ") != NULL && strstr(r.out, " user ") != NULL,
	    "%s", r.out);
	/* glibc's nscd client opens its socket before any other source. */
	cr_expect_geq(r.n_events, 1, "no socket was tried: nothing was tested");
	for (int i = 0; i < r.n_events; i++) {
		cr_expect_str_eq(r.events[i].name, "socket");
		cr_expect_eq(r.events[i].action, CG_SANDBOX_ACTION_DENIED);
	}
	json_decref(r.attestation);
}

static const char node_work[] =
	"const c = require('crypto');\n"
	"let a = 0; for (let i = 0; i < 100000; i++) a += i * i;\n"
	"const h = c.createHash('sha256').update('capgate').digest('hex').slice(0, 8);\n"
	"let shadow; try { require('fs').readFileSync('/etc/shadow'); shadow = 'READ'; }\n"
	"catch (e) { shadow = e.code; }\n"
	"setTimeout(() => console.log(JSON.stringify({sum: a, h, shadow, pid: process.pid})), 10);\n";

Test(runtime, node_does_real_work) {
	const char *argv[] = { "/usr/bin/node", "-e", node_work, NULL };
	struct harness_result r;

	run("node.json", argv, &r);
	cr_expect_eq(r.exit_code, 0, "node: %s", r.out);
	cr_expect(strstr(r.out, "\"sum\":333328333350000") != NULL, "%s", r.out);
	/* Not in the view (ENOENT); Landlock would say EACCES. */
	cr_expect(strstr(r.out, "\"shadow\":\"ENOENT\"") != NULL ||
	    strstr(r.out, "\"shadow\":\"EACCES\"") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "\"pid\":2}") != NULL, "%s", r.out);
	cr_expect_eq(r.n_events, 0, "unexpected event %s", r.n_events ? r.events[0].name : "");
	json_decref(r.attestation);
}

Test(runtime, strict_policy_runs_static_and_dynamic_probe) {
	for (int i = 0; i < 2; i++) {
		char probe[512];
		const char *argv[] = { probe, "gateway", NULL };
		struct harness_result r;
		char *sec = policy_section("strict.json");

		snprintf(probe, sizeof(probe), "%s/%s", harness_dir(),
		    i ? "probe-static" : "probe");
		cr_assert_eq(harness_run(sec, argv, env, &r), 0, "%s", r.error);
		cr_expect(strstr(r.out, "gateway OK") != NULL, "%s", r.out);
		json_decref(r.attestation);
		free(sec);
	}
}

/* The attestation is what the child reported, and names every layer. */
Test(runtime, attestation_reports_applied_layers) {
	static const char *const layers[] = { "session", "userns", "pidns", "netns",
	    "ipcns", "utsns", "mntns", "proc", "rlimits", "fds", "env",
	    "no_new_privs", "landlock", "landlock_net", "landlock_scope", "seccomp",
	    "credentials", "rootfs" };
	char probe[512];
	const char *argv[] = { probe, "stdout", NULL };
	struct harness_result r;
	json_t *l;

	snprintf(probe, sizeof(probe), "%s/probe", harness_dir());
	cr_assert_eq(harness_run("{\"profile\":\"strict\"}", argv, env, &r), 0, "%s", r.error);
	cr_assert_str_eq(json_string_value(json_object_get(r.attestation, "state")), "applied");
	l = json_object_get(r.attestation, "layers");
	for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++) {
		if (!json_is_true(json_object_get(l, layers[i])) && !harness_require_all() &&
		    strncmp(layers[i], "landlock", 8) == 0)
			cr_skip_test("SKIP: Landlock layer %s not available", layers[i]);
		cr_expect(json_is_true(json_object_get(l, layers[i])), "layer %s not applied",
		    layers[i]);
	}
	/* cgroup: engaged where the gateway's cgroup is writable, else the one
	 * layer that degrades by default. */
	if (json_is_true(json_object_get(l, "cgroup")))
		cr_expect_eq(json_array_size(json_object_get(r.attestation, "degraded")), 0);
	else
		cr_expect_eq(json_array_size(json_object_get(r.attestation, "degraded")), 1);
	cr_expect_geq(json_integer_value(json_object_get(r.attestation, "landlock_abi")), 6);
	json_decref(r.attestation);
}

/* Where a cgroup can be had, memory is bounded for the sandbox as a whole,
 * not only per process; the cgroup is removed with the plan. */
Test(runtime, cgroup_bounds_the_whole_sandbox) {
	char probe[512];
	const char *argv[] = { probe, "memory-family", NULL };
	const char *sec = "{\"profile\":\"strict\",\"limits\":{\"memory_mb\":64,"
	    "\"processes\":16}}";
	struct harness_result r;
	json_t *dirs;
	struct stat st;

	snprintf(probe, sizeof(probe), "%s/probe", harness_dir());
	cr_assert_eq(harness_run(sec, argv, env, &r), 0, "%s", r.error);
	dirs = json_object_get(r.attestation, "cgroups");
	if (!json_is_true(json_object_get(json_object_get(r.attestation, "layers"), "cgroup"))) {
		json_decref(r.attestation);
		/* As root a cgroup can always be had here; as nobody only
		 * where the system delegated one (docs/SANDBOX.md). */
		cr_assert(!(harness_require_all() && geteuid() == 0),
		    "no cgroup as root with CAPGATE_REQUIRE_ALL=1");
		fprintf(stderr, "SKIP: no cgroup for this user (needs a writable cgroup)\n");
		cr_skip_test("SKIP: no cgroup for this user (needs a writable cgroup)");
	}
	cr_expect(strstr(r.out, "memory-family ALLOWED") == NULL, "%s", r.out);
	cr_expect(strstr(r.out, "memory-family BLOCKED") != NULL || r.signal == SIGKILL,
	    "out=%s signal=%d", r.out, r.signal);
	cr_expect_eq(r.n_events, 0);
	cr_assert_geq(json_array_size(dirs), 1);
	/* harness_run freed the plan after reaping: the cgroups are gone. */
	for (size_t i = 0; i < json_array_size(dirs); i++)
		cr_expect_neq(stat(json_string_value(json_array_get(dirs, i)), &st), 0,
		    "%s still exists", json_string_value(json_array_get(dirs, i)));
	json_decref(r.attestation);
}

/* The program is in each of the sandbox's cgroups by the time it runs its
 * first instruction: it joined them itself, writing "0" (no pid for the
 * gateway to name, so none that could have been reused). Both cases: the
 * exec held by the seccomp notification, and allow_exec, where it is not. */
Test(runtime, program_starts_in_its_cgroups) {
	static const char *const secs[] = {
		"{\"profile\":\"strict\",\"read\":[\"/proc\"]}",
		"{\"profile\":\"strict\",\"read\":[\"/proc\"],\"allow_exec\":true}",
	};
	char probe[512];
	const char *argv[] = { probe, "cgroup-self", NULL };

	snprintf(probe, sizeof(probe), "%s/probe", harness_dir());
	for (size_t k = 0; k < sizeof(secs) / sizeof(secs[0]); k++) {
		struct harness_result r;
		const char *d;
		json_t *dirs;

		cr_assert_eq(harness_run(secs[k], argv, env, &r), 0, "%s", r.error);
		cr_assert(strstr(r.out, "cgroup-self OK") != NULL, "%s", r.out);
		dirs = json_object_get(r.attestation, "cgroups");
		if (!json_is_true(json_object_get(json_object_get(r.attestation, "layers"),
		    "cgroup"))) {
			/* Where none can be had (an unprivileged user on a v1
			 * host): the attestation says so, and the program is
			 * in no sandbox cgroup. As root one always can. */
			cr_assert(!(harness_require_all() && geteuid() == 0),
			    "no cgroup as root with CAPGATE_REQUIRE_ALL=1");
			cr_expect_eq(json_array_size(dirs), 0);
			d = json_string_value(json_array_get(json_object_get(
			    r.attestation, "degraded"), 0));
			cr_expect(d != NULL && strcmp(d, "cgroup") == 0,
			    "policy %zu: cgroup missing but not recorded as degraded", k);
			cr_expect(strstr(r.out, "capgate-") == NULL,
			    "policy %zu: in a sandbox cgroup the attestation does "
			    "not list: %s", k, r.out);
			json_decref(r.attestation);
			continue;
		}
		cr_assert_geq(json_array_size(dirs), 1);
		for (size_t i = 0; i < json_array_size(dirs); i++) {
			const char *dir = json_string_value(json_array_get(dirs, i));
			const char *name = strrchr(dir, '/');

			cr_expect(name != NULL && strstr(r.out, name) != NULL,
			    "policy %zu: the program is not in %s: %s", k, dir, r.out);
		}
		json_decref(r.attestation);
	}
}

/* The key pipe becomes fd 4, whatever number it had in the gateway. */
Test(runtime, key_pipe_is_fd_4) {
	char probe[512];
	const char *argv[] = { probe, "key-fd", NULL };
	struct harness_result r;
	int p[2], filler[8];

	/* Put the pipe at awkward numbers: 3 and 4 themselves are taken by
	 * other descriptors that must not survive. */
	for (int i = 0; i < 8; i++)
		filler[i] = open("/dev/null", O_RDONLY);
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], "key!", 4), 4);
	close(p[1]);
	snprintf(probe, sizeof(probe), "%s/probe", harness_dir());
	harness_key_fd = p[0];
	cr_assert_eq(harness_run("{\"profile\":\"strict\"}", argv, env, &r), 0, "%s", r.error);
	harness_key_fd = -1;
	cr_expect(strstr(r.out, "key-fd OK") != NULL, "%s", r.out);
	json_decref(r.attestation);
	for (int i = 0; i < 8; i++)
		close(filler[i]);
	close(p[0]);
}

/* allow_exec: later execs pass the filter; Landlock's exec list decides. */
Test(runtime, allow_exec_lets_listed_programs_run) {
	char probe[512];
	const char *ok[] = { probe, "exec-arg", "/usr/bin/true", NULL };
	const char *no[] = { probe, "exec-arg", "/usr/bin/id", NULL };
	const char *sec = "{\"profile\":\"runtime\",\"allow_exec\":true,"
	    "\"exec\":[\"/usr/bin/true\"]}";
	struct harness_result r;

	snprintf(probe, sizeof(probe), "%s/probe", harness_dir());
	cr_assert_eq(harness_run(sec, ok, env, &r), 0, "%s", r.error);
	cr_expect_eq(r.exit_code, 0, "%s", r.out);
	cr_expect_str_eq(r.out, "", "exec of /usr/bin/true did not happen: %s", r.out);
	cr_expect_eq(r.n_events, 0);
	json_decref(r.attestation);
	cr_assert_eq(harness_run(sec, no, env, &r), 0, "%s", r.error);
	/* Not in the view (ENOENT), and Landlock would refuse it (EACCES). */
	cr_expect(strstr(r.out, "exec-arg ALLOWED rc=-1 errno=2 ") != NULL ||
	    strstr(r.out, "exec-arg BLOCKED errno=13") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "uid=") == NULL, "%s", r.out);
	json_decref(r.attestation);
}

static void *
idle_thread(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

/* The probe starts under the strict profile and writes to stdout (run
 * names the attempt in a failure). */
static void
expect_probe_starts(int run)
{
	char probe[512];
	const char *argv[] = { probe, "stdout", NULL };
	struct harness_result r;

	snprintf(probe, sizeof(probe), "%s/probe", harness_dir());
	cr_assert_eq(harness_run("{\"profile\":\"strict\"}", argv, env, &r), 0,
	    "run %d: %s", run, r.error);
	cr_expect(strstr(r.out, "stdout OK") != NULL, "run %d: %s", run, r.out);
	json_decref(r.attestation);
}

/* The gateway may have threads; the child must not depend on them. */
Test(runtime, spawn_from_a_threaded_gateway) {
	pthread_t t[3];

	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, idle_thread, NULL), 0);
	expect_probe_starts(0);
}

static atomic_bool churn_stop;

static void *
churn_thread(void *arg)
{
	(void)arg;
	while (!atomic_load(&churn_stop)) {
		void *volatile p = malloc(64);
		free(p);
	}
	return NULL;
}

/* Threads that hold libc's locks (malloc's) at any moment, as the
 * gateway's seccomp compile does: the child is cloned with a copy of a
 * held lock, and must still start (it forks its program without taking
 * any). A child that waits forever fails the spawn after its timeout. */
Test(runtime, spawn_from_a_gateway_whose_threads_allocate) {
	pthread_t t[2];

	atomic_store(&churn_stop, false);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, churn_thread, NULL), 0);
	for (int i = 0; i < 20; i++)
		expect_probe_starts(i);
	atomic_store(&churn_stop, true);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
}

/* Nothing pending: the handler returns at once with no event. */
Test(runtime, notify_handler_never_blocks) {
	struct cg_child c = { .pid = 0, .pidfd = -1, .notify_fd = -1 };
	struct cg_sandbox_event ev;
	struct cg_error err = { 0 };
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c.notify_fd = sv[0];    /* not a listener, and nothing to read */
	cr_expect_eq(sandbox_notify_handle(&c, &ev, &err), 0);
	cr_expect_eq(ev.kind, CG_SANDBOX_EVENT_NONE);
	close(sv[0]);
	close(sv[1]);
	c.notify_fd = 1000;     /* not open */
	cr_expect_eq(sandbox_notify_handle(&c, &ev, &err), -1);
}

/* A busy gateway: its descriptors lie far above the client's open_files
 * limit, and none of them reaches the client. */
Test(runtime, busy_gateway_with_many_descriptors) {
	char probe[512];
	const char *argv[] = { probe, "leaked-fds", NULL };
	struct rlimit rl;
	struct harness_result r;
	int fds[600], n = 0;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < 1024 && rl.rlim_max >= 1024) {
		rl.rlim_cur = 1024;
		cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	}
	while (n < 600 && (fds[n] = open("/dev/null", O_RDONLY)) >= 0)
		n++;
	cr_assert_geq(n, 300, "could open only %d descriptors", n);
	snprintf(probe, sizeof(probe), "%s/probe", harness_dir());
	cr_assert_eq(harness_run("{\"profile\":\"strict\",\"limits\":{\"open_files\":64}}",
	    argv, env, &r), 0, "%s", r.error);
	cr_expect(strstr(r.out, "leaked-fds BLOCKED") != NULL, "%s", r.out);
	json_decref(r.attestation);
	while (n > 0)
		close(fds[--n]);
}

/* A custom allowlist: exactly what the static probe needs to print, found
 * by reading the violations the handler reports (docs/SANDBOX.md). */
#define CUSTOM_LIST "\"arch_prctl\",\"set_tid_address\",\"set_robust_list\",\"rseq\"," \
	"\"prlimit64\",\"readlink\",\"getrandom\""

Test(runtime, custom_profile_is_exactly_its_list) {
	char probe[512];
	const char *argv[] = { probe, "stdout", NULL };
	struct harness_result r;

	snprintf(probe, sizeof(probe), "%s/probe-static", harness_dir());
	cr_assert_eq(harness_run("{\"profile\":\"custom\",\"syscalls\":[" CUSTOM_LIST
	    ",\"newfstatat\"]}", argv, env, &r), 0, "%s", r.error);
	cr_expect(strstr(r.out, "stdout OK") != NULL, "%s", r.out);
	cr_expect_eq(r.n_events, 0, "%s", r.n_events ? r.events[0].name : "");
	json_decref(r.attestation);
	cr_assert_eq(harness_run("{\"profile\":\"custom\",\"syscalls\":[" CUSTOM_LIST "]}",
	    argv, env, &r), 0, "%s", r.error);
	cr_expect_eq(r.signal, SIGKILL);
	cr_assert_eq(r.n_events, 1);
	cr_expect_str_eq(r.events[0].name, "newfstatat");
	json_decref(r.attestation);
}

/* The runner (parent of every test process) removes the probe copies
 * harness_dir() may have made for it. */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char cmd[96];

	(void)stats;
	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/capgate-probes-%d", (int)getpid());
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove the probe copies\n");
}
