/*
 * Escape tests: the probe tries, one attempt per run, what a compromised
 * front-end would, under the strict and the runtime profile, built both
 * static and dynamic. Each attempt must be blocked: the probe reports
 * BLOCKED (the call failed) or it was killed, and where the block is the
 * seccomp filter, the gateway's notification handler must have recorded
 * the syscall by name. Controls check that what a client legitimately
 * needs still works.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tests/sandbox/harness.h"

#define LIMITS "\"limits\":{\"memory_mb\":64,\"processes\":16,\"open_files\":64," \
	"\"file_size_mb\":1,\"cpu_seconds\":20}"

enum profile { STRICT, RUNTIME, N_PROFILES };
static const char *const profile_names[] = { "strict", "runtime" };
static const char *const probes[] = { "probe", "probe-static" };

static char write_dir[64];

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

static void
make_write_dir(void)
{
	snprintf(write_dir, sizeof(write_dir), "/tmp/capgate-sbx-XXXXXX");
	cr_assert_not_null(mkdtemp(write_dir));
	/* As root the client runs as nobody: let it write here. */
	cr_assert_eq(chmod(write_dir, 0777), 0);
}

static void
setup(void)
{
	require_kernel();
	make_write_dir();
}

static void
teardown(void)
{
	char cmd[128];

	if (write_dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", write_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", write_dir);
	}
}

static void
section_for(enum profile p, char *buf, size_t len)
{
	snprintf(buf, len, "{\"profile\":\"%s\",\"write\":[\"%s\"]," LIMITS "}",
	    profile_names[p], write_dir);
}

static void
run_probe(const char *section, const char *probe, const char *attempt,
    const char *arg, struct harness_result *r)
{
	char path[512];
	const char *argv[] = { path, attempt, arg, NULL };

	snprintf(path, sizeof(path), "%s/%s", harness_dir(), probe);
	cr_assert_eq(harness_run(section, argv, NULL, r), 0,
	    "%s %s: spawn failed: %s", probe, attempt, r->error);
	json_decref(r->attestation);
	r->attestation = NULL;
}

static bool
printed(const struct harness_result *r, const char *attempt, const char *verdict)
{
	char want[128];

	snprintf(want, sizeof(want), "%s %s", attempt, verdict);
	return strstr(r->out, want) != NULL;
}

static const struct cg_sandbox_event *
violation(const struct harness_result *r)
{
	for (int i = 0; i < r->n_events; i++)
		if (r->events[i].kind == CG_SANDBOX_EVENT_VIOLATION)
			return &r->events[i];
	return NULL;
}

/*
 * kill_name[p]: for profile p, the syscall the filter must catch (the
 * probe killed, the violation recorded under that name), or NULL when the
 * attempt must fail some other way (Landlock, namespaces, limits) and the
 * probe reports BLOCKED itself.
 */
static void
expect_blocked_in(enum profile p, const char *probe, const char *attempt,
    const char *arg, const char *kill_name)
{
	struct harness_result r;
	char section[512];
	const struct cg_sandbox_event *ev;

	section_for(p, section, sizeof(section));
	run_probe(section, probe, attempt, arg, &r);
	cr_expect(!printed(&r, attempt, "ALLOWED"), "[%s/%s] %s got through: %s",
	    profile_names[p], probe, attempt, r.out);
	if (kill_name == NULL) {
		cr_expect(printed(&r, attempt, "BLOCKED"),
		    "[%s/%s] %s: expected BLOCKED, got out=\"%s\" signal=%d events=%d",
		    profile_names[p], probe, attempt, r.out, r.signal, r.n_events);
		return;
	}
	ev = violation(&r);
	cr_expect_eq(r.signal, SIGKILL, "[%s/%s] %s: expected a kill, got out=\"%s\" exit=%d",
	    profile_names[p], probe, attempt, r.out, r.exit_code);
	cr_expect_not_null(ev, "[%s/%s] %s: no violation reported",
	    profile_names[p], probe, attempt);
	if (ev != NULL) {
		cr_expect_str_eq(ev->name, kill_name, "[%s/%s] %s: violation named %s",
		    profile_names[p], probe, attempt, ev->name);
		cr_expect_eq(ev->action, CG_SANDBOX_ACTION_KILLED);
	}
}

static void
expect_blocked(const char *attempt, const char *arg, const char *kill_strict,
    const char *kill_runtime)
{
	for (size_t i = 0; i < 2; i++) {
		expect_blocked_in(STRICT, probes[i], attempt, arg, kill_strict);
		expect_blocked_in(RUNTIME, probes[i], attempt, arg, kill_runtime);
	}
}

/* Same syscall caught in both profiles. */
static void
expect_killed(const char *attempt, const char *arg, const char *name)
{
	expect_blocked(attempt, arg, name, name);
}

static char *
my_pid(void)
{
	static char buf[16];

	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	return buf;
}

TestSuite(escape, .init = setup, .fini = teardown, .timeout = 120);

/* Files */
Test(escape, read_shadow) { expect_blocked("read-shadow", NULL, NULL, NULL); }
Test(escape, read_outside_allowlist) {
	expect_blocked("read-passwd", NULL, NULL, NULL);
	expect_blocked("read-home", NULL, NULL, NULL);
}
Test(escape, write_not_granted) {
	char other[128];

	/* strict never opens for writing: the filter itself stops it. */
	expect_blocked("write-tmp", NULL, "openat", NULL);
	expect_blocked("write-devshm", NULL, "openat", NULL);
	expect_blocked("write-self", NULL, "openat", NULL);
	snprintf(other, sizeof(other), "%s/../capgate-sbx-other", write_dir);
	expect_blocked("write-arg", other, "openat", NULL);
}
/*
 * Modes and preallocation, which Landlock does not govern: a setuid or
 * world-writable bit on a file the client owns (its own stdout, a file in
 * its write grant), and blocks past a file's end that RLIMIT_FSIZE does
 * not count. strict has none of these calls; runtime checks their
 * arguments. Plain modes and a plain fallocate keep working under runtime.
 */
Test(escape, modes_and_preallocation) {
	char file[128];
	struct harness_result r;
	char section[512];
	struct stat st;

	/* the probe makes the file, so that it is the client's own */
	snprintf(file, sizeof(file), "%s/made-by-client", write_dir);
	expect_blocked("fallocate-keep-size", file, "openat", "fallocate");
	expect_killed("fchmod-stdout-setuid", NULL, "fchmod");
	expect_killed("chmod-world-writable", file, "fchmodat");
	cr_assert_eq(stat(file, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode now %o", st.st_mode & 07777);
	cr_expect_eq(st.st_blocks, 0, "%lld blocks preallocated",
	    (long long)st.st_blocks);
	section_for(RUNTIME, section, sizeof(section));
	for (size_t i = 0; i < 2; i++) {
		snprintf(file, sizeof(file), "%s/plain-%zu", write_dir, i);
		run_probe(section, probes[i], "chmod-plain", file, &r);
		cr_expect(printed(&r, "chmod-plain", "OK"), "%s", r.out);
		cr_expect_eq(r.n_events, 0);
		cr_expect_eq(stat(file, &st), 0);
		cr_expect_eq(st.st_mode & 07777, 0640);
		run_probe(section, probes[i], "fallocate-plain", file, &r);
		cr_expect(printed(&r, "fallocate-plain", "OK"), "%s", r.out);
		cr_expect_eq(r.n_events, 0);
	}
}

/* A symlink inside a granted directory leads nowhere outside it. */
Test(escape, symlink_out_of_a_grant) {
	char link[128];

	snprintf(link, sizeof(link), "%s/passwd", write_dir);
	cr_assert_eq(symlink("/etc/passwd", link), 0);
	expect_blocked("read-arg", link, NULL, NULL);
	snprintf(link, sizeof(link), "%s/up", write_dir);
	cr_assert_eq(symlink("../../etc/passwd", link), 0);
	expect_blocked("read-arg", link, NULL, NULL);
}

/* Landlock does not cover stat(); the view does. */
Test(escape, stat_outside_view) { expect_blocked("stat-shadow", NULL, NULL, NULL); }
Test(escape, list_root) { expect_blocked("list-root", NULL, NULL, NULL); }
Test(escape, dev_and_sys) {
	expect_blocked("list-dev", NULL, NULL, NULL);
	expect_blocked("read-kmsg", NULL, NULL, NULL);
	expect_blocked("read-sys", NULL, NULL, NULL);
}
Test(escape, proc_of_others) {
	expect_blocked("read-proc-parent", my_pid(), NULL, NULL);
	expect_blocked("read-proc-1", NULL, NULL, NULL);
}

/* A second exec: denied by the gateway, reported, probe survives. */
static void
expect_exec_denied(enum profile p, const char *probe, const char *attempt,
    const char *name, const char *path)
{
	struct harness_result r;
	char section[512];

	section_for(p, section, sizeof(section));
	run_probe(section, probe, attempt, NULL, &r);
	cr_expect(printed(&r, attempt, "BLOCKED"), "[%s/%s] %s: %s signal=%d",
	    profile_names[p], probe, attempt, r.out, r.signal);
	cr_expect(strstr(r.out, "errno=1 ") != NULL, "[%s] not EPERM: %s", attempt, r.out);
	cr_assert_eq(r.n_events, 1, "[%s/%s] %s: %d events", profile_names[p], probe,
	    attempt, r.n_events);
	cr_expect_eq(r.events[0].kind, CG_SANDBOX_EVENT_EXEC_DENIED);
	cr_expect_str_eq(r.events[0].name, name);
	cr_expect_eq(r.events[0].action, CG_SANDBOX_ACTION_DENIED);
	if (path != NULL && path[0] == '(')
		cr_expect(strncmp(r.events[0].exec_path, path, strlen(path)) == 0,
		    "exec path %s", r.events[0].exec_path);
	else if (path != NULL)
		cr_expect_str_eq(r.events[0].exec_path, path);
}

Test(escape, exec_shell) {
	for (size_t i = 0; i < 2; i++) {
		expect_exec_denied(STRICT, probes[i], "exec-shell", "execve", "/bin/sh");
		expect_exec_denied(RUNTIME, probes[i], "exec-shell", "execve", "/bin/sh");
	}
}
Test(escape, exec_self) {
	for (size_t i = 0; i < 2; i++) {
		expect_exec_denied(STRICT, probes[i], "exec-self", "execve", "/proc/self/exe");
		expect_exec_denied(RUNTIME, probes[i], "exec-self", "execve", "/proc/self/exe");
	}
}
Test(escape, exec_memfd) {
	for (size_t i = 0; i < 2; i++) {
		/* strict has no memfd_create at all; runtime has, but not exec. */
		expect_blocked_in(STRICT, probes[i], "exec-memfd", NULL, "memfd_create");
		expect_exec_denied(RUNTIME, probes[i], "exec-memfd", "execveat", "(fd ");
	}
}

/*
 * A client cannot keep the gateway busy with refused calls forever: the
 * first CG_SANDBOX_DENIED_MAX are refused, the next one kills.
 */
static void
expect_flood_bounded(enum profile p, const char *attempt,
    enum cg_sandbox_event_kind kind, const char *name)
{
	struct harness_result r;
	char section[512];

	section_for(p, section, sizeof(section));
	run_probe(section, "probe", attempt, NULL, &r);
	cr_expect_eq(r.signal, SIGKILL, "out=%s", r.out);
	cr_assert_eq(r.n_events, CG_SANDBOX_DENIED_MAX + 1);
	cr_expect_eq(r.events[0].action, CG_SANDBOX_ACTION_DENIED);
	cr_expect_eq(r.events[r.n_events - 1].kind, kind);
	cr_expect_str_eq(r.events[r.n_events - 1].name, name);
	cr_expect_eq(r.events[r.n_events - 1].action, CG_SANDBOX_ACTION_KILLED);
}

Test(escape, exec_flood_is_bounded) {
	expect_flood_bounded(STRICT, "exec-flood", CG_SANDBOX_EVENT_EXEC_DENIED, "execve");
}

/* A violation in any process of the sandbox ends all of it. */
Test(escape, violation_in_a_child_process) {
	for (size_t i = 0; i < 2; i++) {
		struct harness_result r;
		char section[512];
		const struct cg_sandbox_event *ev;

		section_for(RUNTIME, section, sizeof(section));
		run_probe(section, probes[i], "child-violation", NULL, &r);
		cr_expect_eq(r.signal, SIGKILL, "out=%s", r.out);
		ev = violation(&r);
		cr_assert_not_null(ev, "no violation reported: %s", r.out);
		if (ev != NULL) {
			cr_expect_str_eq(ev->name, "ptrace");
			cr_expect_neq(ev->pid, 0);
		}
	}
}

/*
 * Sockets and IPC. A socket outside the profile fails with EPERM and is
 * recorded; the client lives on, as it must when libc probes nscd for a
 * getpwuid() (notify.c). The attempt itself gains nothing: no socket.
 */
static void
expect_socket_denied_in(enum profile p, const char *probe, const char *attempt,
    const char *arg)
{
	struct harness_result r;
	char section[512];

	section_for(p, section, sizeof(section));
	run_probe(section, probe, attempt, arg, &r);
	cr_expect(printed(&r, attempt, "BLOCKED") && strstr(r.out, "errno=1 ") != NULL,
	    "[%s/%s] %s %s: expected BLOCKED with EPERM, got out=\"%s\" signal=%d",
	    profile_names[p], probe, attempt, arg != NULL ? arg : "", r.out, r.signal);
	cr_expect_eq(r.signal, 0, "[%s/%s] %s: killed", profile_names[p], probe, attempt);
	cr_assert_eq(r.n_events, 1, "[%s/%s] %s %s: %d events", profile_names[p], probe,
	    attempt, arg != NULL ? arg : "", r.n_events);
	cr_expect_eq(r.events[0].kind, CG_SANDBOX_EVENT_VIOLATION);
	cr_expect_str_eq(r.events[0].name, "socket");
	cr_expect_eq(r.events[0].action, CG_SANDBOX_ACTION_DENIED);
}

static void
expect_socket_denied(const char *attempt, const char *arg)
{
	for (size_t i = 0; i < 2; i++) {
		expect_socket_denied_in(STRICT, probes[i], attempt, arg);
		expect_socket_denied_in(RUNTIME, probes[i], attempt, arg);
	}
}

Test(escape, sockets_every_family) {
	static const char *const families[] = { "1", "2", "10", "15", "16", "17",
	    "21", "29", "30", "31", "38", "40", "42", "44" };

	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		expect_socket_denied("socket", families[i]);
}
Test(escape, dbus_system_socket) { expect_socket_denied("dbus", NULL); }
Test(escape, abstract_socket) { expect_socket_denied("abstract", "capgate-test"); }

/* Refused sockets are bounded like refused execs, in the same count. */
Test(escape, socket_flood_is_bounded) {
	expect_flood_bounded(RUNTIME, "socket-flood", CG_SANDBOX_EVENT_VIOLATION, "socket");
}

/* Through the i386 and x32 entry points socket() still kills: only the
 * native call is refused and survived. */
Test(escape, foreign_arch_socket_kills) {
	expect_killed("i386-socket", NULL, "i386:socket");
	expect_killed("x32-socket", NULL, "x32:socket");
}

/* With sockets allowed by policy, the empty network namespace and
 * Landlock (TCP denied, abstract sockets scoped) still hold. */
Test(escape, abstract_pathname_and_tcp_with_socket_allowed) {
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct harness_result r;
	char section[512], name[64], sock_path[128];
	int l = socket(AF_UNIX, SOCK_STREAM, 0), pl = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(name, sizeof(name), "capgate-test-%d", (int)getpid());
	memcpy(sa.sun_path + 1, name, strlen(name));
	cr_assert_eq(bind(l, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un,
	    sun_path) + 1 + strlen(name))), 0);
	cr_assert_eq(listen(l, 1), 0);
	snprintf(sock_path, sizeof(sock_path), "%s/sock", write_dir);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	cr_assert_eq(bind(pl, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(chmod(sock_path, 0777), 0);
	cr_assert_eq(listen(pl, 1), 0);
	snprintf(section, sizeof(section), "{\"profile\":\"strict\",\"syscalls\":"
	    "[\"socket\",\"connect\"]," LIMITS "}");
	for (size_t i = 0; i < 2; i++) {
		run_probe(section, probes[i], "abstract", name, &r);
		cr_expect(printed(&r, "abstract", "BLOCKED"), "abstract: %s", r.out);
		/* Abstract names live in the network namespace: the host's
		 * socket is not even there (ECONNREFUSED); Landlock's scope
		 * (EPERM) is the second wall. */
		cr_expect(strstr(r.out, "errno=111 ") != NULL || strstr(r.out, "errno=1 ") != NULL,
		    "abstract: %s", r.out);
		run_probe(section, probes[i], "tcp-connect", NULL, &r);
		cr_expect(printed(&r, "tcp-connect", "BLOCKED"), "tcp: %s", r.out);
		/* Landlock does not cover connect() to a pathname socket: the
		 * view does (it is not there). */
		run_probe(section, probes[i], "pathname", sock_path, &r);
		cr_expect(printed(&r, "pathname", "BLOCKED"), "pathname: %s", r.out);
		/* A family outside the allowed three is refused, not created. */
		run_probe(section, probes[i], "socket", "17", &r);
		cr_expect(printed(&r, "socket", "BLOCKED") && strstr(r.out, "errno=1 ") != NULL,
		    "AF_PACKET must stay forbidden: %s", r.out);
		cr_expect(r.n_events == 1 && r.events[0].action == CG_SANDBOX_ACTION_DENIED,
		    "AF_PACKET: %d events", r.n_events);
	}
	close(l);
	close(pl);
}

/* Other processes */
Test(escape, ptrace_parent) { expect_killed("ptrace", my_pid(), "ptrace"); }
Test(escape, process_vm_readv_parent) {
	expect_killed("process_vm_readv", my_pid(), "process_vm_readv");
}
Test(escape, signal_parent) { expect_blocked("kill-parent", my_pid(), NULL, NULL); }
Test(escape, host_pids) { expect_blocked("host-pids", my_pid(), NULL, NULL); }

/* Kernel interfaces */
Test(escape, mount) { expect_killed("mount", NULL, "mount"); }
Test(escape, nested_userns) {
	expect_killed("unshare-user", NULL, "unshare");
	expect_killed("clone-user", NULL, "clone");
}
Test(escape, chroot) { expect_killed("chroot", NULL, "chroot"); }
Test(escape, bpf) { expect_killed("bpf", NULL, "bpf"); }
/* runtime answers ENOSYS in the filter so that libuv falls back. */
Test(escape, io_uring) { expect_blocked("io_uring", NULL, "io_uring_setup", NULL); }
Test(escape, userfaultfd) { expect_killed("userfaultfd", NULL, "userfaultfd"); }
Test(escape, keyctl) { expect_killed("keyctl", NULL, "keyctl"); }
Test(escape, perf_event_open) { expect_killed("perf_event_open", NULL, "perf_event_open"); }
Test(escape, personality) { expect_killed("personality", NULL, "personality"); }
Test(escape, tiocsti) {
	expect_killed("tiocsti", NULL, "ioctl");
	expect_killed("tiocsti-high", NULL, "ioctl");
}
Test(escape, file_lease) { expect_killed("lease", NULL, "fcntl"); }
Test(escape, i386_entry) { expect_killed("i386", NULL, "i386:getpid"); }
Test(escape, x32_entry) { expect_killed("x32", NULL, "x32:getpid"); }
Test(escape, kernel_module) { expect_killed("module", NULL, "finit_module"); }

/* Leaks and exhaustion */
Test(escape, leaked_fds) {
	int stray = open("/dev/null", O_RDONLY);      /* not close-on-exec */

	cr_assert_geq(stray, 0);
	expect_blocked("leaked-fds", NULL, NULL, NULL);
	close(stray);
}
Test(escape, leaked_env) { expect_blocked("leaked-env", NULL, NULL, NULL); }
Test(escape, fork_bomb) { expect_blocked("fork-bomb", NULL, NULL, NULL); }
Test(escape, exhaust_memory) { expect_blocked("memory", NULL, NULL, NULL); }
/*
 * Memory that RLIMIT_DATA does not count: a MAP_GROWSDOWN region (any
 * profile) and shared anonymous memory (strict) are stopped by the filter
 * at the mmap, cgroup or not. The main stack is bounded by stack_mb (8 MB
 * by default) even when the gateway itself runs with an unlimited stack.
 */
Test(escape, memory_rlimit_data_does_not_count) {
	struct rlimit saved, unlimited;

	expect_killed("mmap-growsdown", NULL, "mmap");
	for (size_t i = 0; i < 2; i++)
		expect_blocked_in(STRICT, probes[i], "mmap-shared-anon", NULL, "mmap");
	cr_assert_eq(getrlimit(RLIMIT_STACK, &saved), 0);
	unlimited = saved;
	unlimited.rlim_cur = saved.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_STACK, &unlimited), 0);
	expect_blocked("stack-deep", NULL, NULL, NULL);
	cr_assert_eq(setrlimit(RLIMIT_STACK, &saved), 0);
}

/* No pidfd of the gateway through its connection, also when the policy
 * names getsockopt among its extra syscalls (the profile's checked form
 * stays). */
Test(escape, gateway_pidfd) {
	static const char *const sections[] = {
		"{\"profile\":\"strict\",\"syscalls\":[\"getsockopt\"]}",
		"{\"profile\":\"runtime\",\"syscalls\":[\"getsockopt\",\"setsockopt\"]}",
	};
	struct harness_result r;
	const struct cg_sandbox_event *ev;

	expect_killed("peer-pidfd", NULL, "getsockopt");
	for (size_t i = 0; i < 2; i++) {
		run_probe(sections[i], "probe", "peer-pidfd", NULL, &r);
		ev = violation(&r);
		cr_expect(!printed(&r, "peer-pidfd", "ALLOWED"), "%s: %s", sections[i], r.out);
		cr_expect(ev != NULL && strcmp(ev->name, "getsockopt") == 0,
		    "%s: no getsockopt violation (out=%s)", sections[i], r.out);
	}
}

/* A custom list that names mmap does not lift its check. */
Test(escape, custom_mmap_keeps_its_check, .init = setup, .fini = teardown) {
	struct harness_result r;
	const struct cg_sandbox_event *ev;

	run_probe("{\"profile\":\"custom\",\"syscalls\":[\"mmap\",\"arch_prctl\","
	    "\"set_tid_address\",\"set_robust_list\",\"rseq\",\"prlimit64\","
	    "\"readlink\",\"getrandom\",\"newfstatat\"]}", "probe-static",
	    "mmap-growsdown", NULL, &r);
	ev = violation(&r);
	cr_expect(!printed(&r, "mmap-growsdown", "ALLOWED"), "%s", r.out);
	cr_assert_not_null(ev, "no violation: out=\"%s\" signal=%d", r.out, r.signal);
	cr_expect_str_eq(ev->name, "mmap");
}

Test(escape, huge_file) {
	for (size_t i = 0; i < 2; i++)
		expect_blocked_in(RUNTIME, probes[i], "big-file", write_dir, NULL);
}

Test(escape, no_capabilities_no_root) {
	for (size_t i = 0; i < 2; i++)
		expect_blocked_in(RUNTIME, probes[i], "caps", NULL, NULL);
}

/* The hard limit's SIGKILL ends the client; the init reports it as
 * 128+SIGKILL, like a shell. */
Test(escape, cpu_limit) {
	struct harness_result r;

	run_probe("{\"profile\":\"strict\",\"limits\":{\"cpu_seconds\":1}}", "probe",
	    "cpu-burn", NULL, &r);
	cr_expect_eq(r.exit_code, 128 + SIGKILL, "out=%s exit=%d signal=%d", r.out,
	    r.exit_code, r.signal);
	cr_expect_eq(r.n_events, 0);
}

/* /proc, when granted, is the sandbox's own. */
Test(escape, granted_proc_shows_no_host_pid) {
	struct harness_result r;
	char section[256];

	snprintf(section, sizeof(section), "{\"profile\":\"runtime\",\"read\":[\"/proc\"]}");
	for (size_t i = 0; i < 2; i++) {
		run_probe(section, probes[i], "proc-pids", NULL, &r);
		/* The listing works (the grant holds) and shows only us. */
		cr_expect(printed(&r, "proc-pids", "BLOCKED only my own pid and the init"), "%s", r.out);
		run_probe(section, probes[i], "read-proc-parent", my_pid(), &r);
		cr_expect(printed(&r, "read-proc-parent", "BLOCKED"), "%s", r.out);
	}
}

/* Controls: what a client needs must keep working. */
static void
expect_ok(const char *attempt)
{
	for (int p = 0; p < N_PROFILES; p++)
		for (size_t i = 0; i < 2; i++) {
			struct harness_result r;
			char section[512];

			section_for((enum profile)p, section, sizeof(section));
			run_probe(section, probes[i], attempt, NULL, &r);
			cr_expect(printed(&r, attempt, "OK"), "[%s/%s] control %s: out=\"%s\" "
			    "signal=%d", profile_names[p], probes[i], attempt, r.out, r.signal);
			cr_expect_eq(r.exit_code, 0);
			cr_expect_eq(r.n_events, 0, "[%s/%s] control %s raised %d events (%s)",
			    profile_names[p], probes[i], attempt, r.n_events,
			    r.n_events ? r.events[0].name : "");
		}
}

Test(control, stdout) { require_kernel(); make_write_dir(); expect_ok("stdout"); teardown(); }
Test(control, compute_and_allocate) { require_kernel(); make_write_dir(); expect_ok("compute"); teardown(); }
Test(control, clocks_and_sleep) { require_kernel(); make_write_dir(); expect_ok("clock"); teardown(); }
Test(control, fork_within_limits) { require_kernel(); make_write_dir(); expect_ok("fork"); teardown(); }
Test(control, threads) { require_kernel(); make_write_dir(); expect_ok("threads"); teardown(); }
Test(control, gateway_fd3) { require_kernel(); make_write_dir(); expect_ok("gateway"); teardown(); }
Test(control, private_memory_maps) { require_kernel(); make_write_dir(); expect_ok("mmap"); teardown(); }
Test(control, shared_memory_under_runtime, .init = setup, .fini = teardown) {
	struct harness_result r;
	char section[512];

	section_for(RUNTIME, section, sizeof(section));
	for (size_t i = 0; i < 2; i++) {
		run_probe(section, probes[i], "mmap", "shared", &r);
		cr_expect(printed(&r, "mmap", "OK"), "[runtime/%s] %s", probes[i], r.out);
		cr_expect_eq(r.n_events, 0);
	}
}
/* A writable directory inside a read-only one, and a granted symlink. */
Test(control, nested_grants, .init = setup, .fini = teardown) {
	struct harness_result r;
	char section[1024], sub[128], file[160], link[128];

	snprintf(sub, sizeof(sub), "%s/sub", write_dir);
	snprintf(link, sizeof(link), "%s/link", write_dir);
	cr_assert_eq(mkdir(sub, 0777), 0);
	cr_assert_eq(chmod(sub, 0777), 0);
	cr_assert_eq(symlink("sub", link), 0);
	snprintf(section, sizeof(section), "{\"profile\":\"runtime\",\"read\":[\"%s\"],"
	    "\"write\":[\"%s\"]}", write_dir, link);
	snprintf(file, sizeof(file), "%s/f", sub);
	run_probe(section, "probe", "write-arg", file, &r);
	cr_expect(printed(&r, "write-arg", "ALLOWED"), "write in nested rw: %s", r.out);
	snprintf(file, sizeof(file), "%s/f", link);
	run_probe(section, "probe", "write-arg", file, &r);
	cr_expect(printed(&r, "write-arg", "ALLOWED"), "write through the link: %s", r.out);
	snprintf(file, sizeof(file), "%s/g", write_dir);
	run_probe(section, "probe", "write-arg", file, &r);
	cr_expect(printed(&r, "write-arg", "BLOCKED"), "write in read-only parent: %s", r.out);
}

Test(control, write_where_granted, .init = setup, .fini = teardown) {
	struct harness_result r;
	char section[512], file[128];

	section_for(RUNTIME, section, sizeof(section));
	snprintf(file, sizeof(file), "%s/granted", write_dir);
	run_probe(section, "probe", "write-arg", file, &r);
	cr_expect(printed(&r, "write-arg", "ALLOWED"), "%s", r.out);
}
