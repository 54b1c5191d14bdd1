/*
 * The "sandbox" section: bad input fails in sandbox_config_parse or
 * sandbox_prepare, before anything runs, with the JSON pointer the policy
 * loader turns into file:line:column.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/util.h"
#include "sandbox/internal.h"
#include "tests/sandbox/harness.h"

static void
expect_parse_error(const char *json, const char *pointer, const char *msg_part)
{
	struct cg_error err = { 0 };
	json_error_t jerr;
	json_t *section = json_loads(json, 0, &jerr);
	struct cg_sandbox_config *cfg;

	cr_assert_not_null(section, "bad test JSON: %s", jerr.text);
	cfg = sandbox_config_parse(section, harness_dir(), &err);
	json_decref(section);
	cr_expect_null(cfg, "%s was accepted", json);
	cr_expect_str_eq(err.pointer, pointer, "%s: pointer %s", json, err.pointer);
	cr_expect(strstr(err.msg, msg_part) != NULL, "%s: message \"%s\"", json, err.msg);
	sandbox_config_free(cfg);
}

static struct cg_sandbox_config *
parse_ok(const char *json)
{
	struct cg_error err = { 0 };
	json_t *section = json_loads(json, 0, NULL);
	struct cg_sandbox_config *cfg = sandbox_config_parse(section, harness_dir(), &err);

	json_decref(section);
	cr_assert_not_null(cfg, "%s: %s (%s)", json, err.msg, err.pointer);
	return cfg;
}

Test(config, defaults_and_null_section) {
	sandbox_config_free(parse_ok("{}"));
	sandbox_config_free(sandbox_config_parse(NULL, "/", NULL));
	sandbox_config_free(NULL);
}

Test(config, unknown_profile) {
	expect_parse_error("{\"profile\":\"lenient\"}", "/profile", "unknown profile");
	expect_parse_error("{\"profile\":3}", "/profile", "string");
}

Test(config, missing_paths) {
	expect_parse_error("{\"read\":[\"/usr\",\"/does/not/exist\"]}", "/read/1",
	    "No such file");
	expect_parse_error("{\"write\":[\"no-such-relative-dir\"]}", "/write/0",
	    "no-such-relative-dir");
	expect_parse_error("{\"exec\":[\"\"]}", "/exec/0", "non-empty");
	expect_parse_error("{\"read\":\"/usr\"}", "/read", "array");
}

Test(config, relative_paths_resolve_against_policy_dir) {
	/* "probe" exists only in the build directory given as policy_dir. */
	sandbox_config_free(parse_ok("{\"read\":[\"probe\"]}"));
}

Test(config, unknown_keys_and_types) {
	expect_parse_error("{\"wrtie\":[]}", "/wrtie", "unknown sandbox key");
	expect_parse_error("{\"allow_exec\":\"yes\"}", "/allow_exec", "true or false");
	expect_parse_error("{\"network\":\"host\"}", "/network", "none");
	expect_parse_error("[]", "", "object");
}

Test(config, limits) {
	expect_parse_error("{\"limits\":{\"memroy_mb\":1}}", "/limits/memroy_mb", "unknown limit");
	expect_parse_error("{\"limits\":{\"memory_mb\":-1}}", "/limits/memory_mb", "positive");
	expect_parse_error("{\"limits\":{\"processes\":\"16\"}}", "/limits/processes", "positive");
	expect_parse_error("{\"limits\":[]}", "/limits", "object");
}

Test(config, syscalls) {
	expect_parse_error("{\"syscalls\":[\"getpid\",\"ptrace\"]}", "/syscalls/1", "never");
	expect_parse_error("{\"syscalls\":[\"io_uring_setup\"]}", "/syscalls/0", "never");
	expect_parse_error("{\"syscalls\":[\"no_such_call\"]}", "/syscalls/0", "unknown syscall");
	expect_parse_error("{\"syscalls\":[\"execve\"]}", "/syscalls/0", "allow_exec");
	expect_parse_error("{\"profile\":\"custom\"}", "/profile", "syscalls");
	sandbox_config_free(parse_ok("{\"profile\":\"custom\",\"syscalls\":[\"getpid\"]}"));
}

Test(config, layers) {
	expect_parse_error("{\"degrade\":[\"landlock\",\"selinux\"]}", "/degrade/1",
	    "unknown sandbox layer");
	expect_parse_error("{\"require\":[\"seccomp\"],\"degrade\":[\"seccomp\"]}", "/require",
	    "both");
	sandbox_config_free(parse_ok("{\"require\":[\"userns\",\"landlock\"],"
	    "\"degrade\":[\"landlock_scope\"]}"));
}

/* The filters compiled when capgate was built are what the compiler
 * makes at run time, here, on this kernel, with libseccomp probing it:
 * every built-in profile, with and without allow_exec. A change to the
 * rules rebuilds the table; a table that did not follow would fail here. */
Test(config, prebuilt_filters_match_a_compile_at_run_time) {
	cr_assert_eq(cg_seccomp_prebuilt_n, 4, "a native build has four prebuilt filters");
	for (size_t i = 0; i < cg_seccomp_prebuilt_n; i++) {
		const struct cg_seccomp_prebuilt *p = &cg_seccomp_prebuilt[i];
		struct cg_sandbox_config cfg = { .profile = p->profile,
		    .allow_exec = p->allow_exec };
		struct cg_error err = { 0 };

		cr_assert_eq(sandbox_seccomp_compile(&cfg, &err), 0, "%s", err.msg);
		cr_expect_eq(cfg.filter_len, p->len, "profile %d exec %d: %u against %u",
		    p->profile, p->allow_exec, cfg.filter_len, p->len);
		cr_expect(cfg.filter_len == p->len &&
		    memcmp(cfg.filter, p->filter, p->len * sizeof(*p->filter)) == 0,
		    "profile %d exec %d: the prebuilt filter differs", p->profile,
		    p->allow_exec);
		free(cfg.filter);
	}
}

/* Which policies take a prebuilt filter: a built-in profile with no extra
 * syscalls, matched on allow_exec too; anything else is compiled. */
Test(config, only_a_plain_built_in_profile_takes_a_prebuilt_filter) {
	static const struct {
		const char *json;
		bool prebuilt;
	} cases[] = {
		{ "{}", true },
		{ "{\"profile\":\"strict\"}", true },
		{ "{\"profile\":\"strict\",\"allow_exec\":true}", true },
		{ "{\"profile\":\"runtime\"}", true },
		{ "{\"profile\":\"runtime\",\"allow_exec\":true}", true },
		{ "{\"profile\":\"strict\",\"syscalls\":[\"getpid\"]}", false },
		{ "{\"profile\":\"runtime\",\"syscalls\":[\"socket\"]}", false },
		{ "{\"profile\":\"custom\",\"syscalls\":[\"getpid\"]}", false },
	};

	for (size_t i = 0; i < CG_ARRAY_LEN(cases); i++) {
		struct cg_sandbox_config *cfg = parse_ok(cases[i].json);
		const struct cg_seccomp_prebuilt *p = sandbox_seccomp_prebuilt(cfg);
		struct cg_sandbox_config fresh = { .profile = cfg->profile,
		    .allow_exec = cfg->allow_exec, .syscalls = cfg->syscalls,
		    .n_syscalls = cfg->n_syscalls };
		struct cg_error err = { 0 };

		cr_expect_eq(p != NULL, cases[i].prebuilt, "%s", cases[i].json);
		cr_assert_eq(sandbox_config_compiled(cfg, &err), 0, "%s: %s",
		    cases[i].json, err.msg);
		/* Whichever way it was had, the policy's filter is the one the
		 * compiler makes for it. */
		cr_assert_eq(sandbox_seccomp_compile(&fresh, &err), 0, "%s", err.msg);
		cr_expect(cfg->filter_len == fresh.filter_len &&
		    memcmp(cfg->filter, fresh.filter,
		    fresh.filter_len * sizeof(*fresh.filter)) == 0,
		    "%s: not the filter the policy compiles to", cases[i].json);
		if (p != NULL)
			cr_expect_eq(p->profile, cfg->profile, "%s", cases[i].json);
		free(fresh.filter);
		sandbox_config_free(cfg);
	}
}

/* sandbox_prepare of /bin/true under cfg. */
static int
prepare_plan(struct cg_sandbox_config *cfg, struct cg_sandbox_plan **plan,
    struct cg_error *err)
{
	static const char *const env[] = { "PATH=/usr/bin:/bin", NULL };
	const char *argv[] = { "/bin/true", NULL };
	struct cg_spawn_request req = { .argv = argv, .envp = env, .gateway_fd = 0,
	    .key_fd = -1, .name = "t" };

	*plan = NULL;
	return sandbox_prepare(cfg, &req, plan, err);
}

static int
prepare(const char *json, struct cg_error *err)
{
	struct cg_sandbox_config *cfg = parse_ok(json);
	struct cg_sandbox_plan *plan;
	int rc = prepare_plan(cfg, &plan, err);

	sandbox_plan_free(plan);
	sandbox_config_free(cfg);
	return rc;
}

/* A policy without a "sandbox" section gets the defaults, which must be
 * preparable (cgroup is the one layer that is never there). */
Test(config, default_section_prepares) {
	static const char *const env[] = { "PATH=/usr/bin:/bin", NULL };
	const char *argv[] = { "/bin/true", NULL };
	struct cg_spawn_request req = { .argv = argv, .envp = env, .gateway_fd = 0,
	    .key_fd = -1 };
	struct cg_sandbox_config *cfg = sandbox_config_parse(NULL, "/", NULL);
	struct cg_sandbox_plan *plan = NULL;
	struct cg_error err = { 0 };
	uid_t uid;
	gid_t gid;

	cr_assert_not_null(cfg);
	cr_expect_eq(sandbox_prepare(cfg, &req, &plan, &err), 0, "%s", err.msg);
	if (plan != NULL) {
		sandbox_plan_ids(plan, &uid, &gid);
		cr_expect_eq(uid, geteuid() == 0 ? 65534 : geteuid());
		cr_expect_eq(gid, geteuid() == 0 ? 65534 : getegid());
	}
	sandbox_plan_free(plan);
	sandbox_config_free(cfg);
}

static struct cg_sandbox_plan *
prepare_default(struct cg_sandbox_config *cfg)
{
	struct cg_sandbox_plan *plan;
	struct cg_error err = { 0 };

	cr_assert_eq(prepare_plan(cfg, &plan, &err), 0, "%s", err.msg);
	return plan;
}

/* A pid that was a process's and is no more (reaped). */
static pid_t
dead_pid(void)
{
	pid_t dead = fork();

	cr_assert_geq(dead, 0);
	if (dead == 0)
		_exit(0);
	cr_assert_eq(waitpid(dead, NULL, 0), dead);
	return dead;
}

/* Makes the four directories below in base; sweep(base); checks that only
 * the dead gateway's went, and removes what is left. */
static void
expect_swept(const char *base, void (*sweep)(const char *base, void *arg),
    void *arg)
{
	static const bool swept[4] = { true, false, false, false };
	char dirs[4][PATH_MAX + 64];
	pid_t dead = dead_pid();
	struct stat st;

	snprintf(dirs[0], sizeof(dirs[0]), "%s/capgate-%d-1", base, (int)dead);
	snprintf(dirs[1], sizeof(dirs[1]), "%s/capgate-%d-1", base, (int)getppid());
	snprintf(dirs[2], sizeof(dirs[2]), "%s/capgate-%d-1", base, (int)getpid());
	snprintf(dirs[3], sizeof(dirs[3]), "%s/other-%d-1", base, (int)dead);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(mkdir(dirs[i], 0755), 0, "%s: %s", dirs[i], strerror(errno));
	sweep(base, arg);
	for (int i = 0; i < 4; i++) {
		bool gone = stat(dirs[i], &st) != 0;

		cr_expect_eq(gone, swept[i], "%s: %s", dirs[i], gone ? "removed" : "left");
		if (!gone)
			rmdir(dirs[i]);
	}
}

static void
sweep_directly(const char *base, void *arg)
{
	(void)arg;
	sandbox_cgroup_sweep(base);
}

/* A gateway killed with SIGKILL leaves its sandboxes' empty cgroups
 * behind. The sweep removes those whose gateway is gone, and nothing
 * else: not a live gateway's, not its own, not a directory named any other
 * way. The rule is the directory names and pids, so a plain directory
 * shows it as any user. */
Test(config, cgroups_of_dead_gateways_are_swept) {
	char base[] = "/tmp/capgate-sweep-XXXXXX";

	cr_assert_not_null(mkdtemp(base));
	expect_swept(base, sweep_directly, NULL);
	cr_expect_eq(rmdir(base), 0, "%s: %s", base, strerror(errno));
}

static void
sweep_by_prepare(const char *base, void *cfg)
{
	(void)base;
	sandbox_plan_free(prepare_default(cfg));
}

/* The prepare sweeps the cgroup directories it plans in. Where no cgroup
 * can be had (not root, nothing delegated) there is nothing to sweep. */
Test(config, prepare_sweeps_its_cgroup_base) {
	struct cg_sandbox_config *cfg = sandbox_config_parse(NULL, "/", NULL);
	struct cg_sandbox_plan *plan;
	char base[PATH_MAX];

	cr_assert_not_null(cfg);
	plan = prepare_default(cfg);
	if (plan->n_cgroups == 0) {
		sandbox_plan_free(plan);
		sandbox_config_free(cfg);
		cr_assert(!(harness_require_all() && geteuid() == 0),
		    "no cgroup as root with CAPGATE_REQUIRE_ALL=1");
		fprintf(stderr, "SKIP: no cgroup for this user (needs a writable cgroup)\n");
		cr_skip_test("SKIP: no cgroup for this user (needs a writable cgroup)");
	}
	snprintf(base, sizeof(base), "%s", plan->cgroups[0].base);
	sandbox_plan_free(plan);
	expect_swept(base, sweep_by_prepare, cfg);
	sandbox_config_free(cfg);
}

Test(config, limit_that_cannot_be_applied) {
	struct rlimit rl = { 256, 256 };
	struct cg_error err = { 0 };

	/* Lower our own hard limit (this test runs in its own process), then
	 * ask for more than it: no child could be given that. */
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_expect_eq(prepare("{\"limits\":{\"open_files\":4096}}", &err), -1);
	cr_expect_str_eq(err.pointer, "/limits/open_files");
	cr_expect(strstr(err.msg, "cannot be applied") != NULL, "%s", err.msg);
	memset(&err, 0, sizeof(err));
	cr_expect_eq(prepare("{\"limits\":{\"open_files\":4}}", &err), -1);
	cr_expect_str_eq(err.pointer, "/limits/open_files");
}

/* "require" turns a layer this machine cannot give into a failure before
 * anything runs: the cgroup layer is there only where the gateway's
 * cgroup is writable (root here, delegation elsewhere). */
Test(config, required_layer_that_cannot_be_had) {
	static const char *const env[] = { "PATH=/usr/bin:/bin", NULL };
	const char *argv[] = { "/bin/true", NULL };
	struct cg_spawn_request req = { .argv = argv, .envp = env, .gateway_fd = 0,
	    .key_fd = -1 };
	struct cg_sandbox_config *cfg = parse_ok("{}");
	struct cg_sandbox_plan *plan = NULL;
	struct cg_error err = { 0 };
	json_t *att;
	bool have;
	int rc;

	cr_assert_eq(sandbox_prepare(cfg, &req, &plan, &err), 0, "%s", err.msg);
	att = sandbox_attestation(plan);
	have = json_is_true(json_object_get(json_object_get(att, "layers"), "cgroup"));
	json_decref(att);
	sandbox_plan_free(plan);
	sandbox_config_free(cfg);
	rc = prepare("{\"require\":[\"cgroup\"]}", &err);
	if (have) {
		cr_expect_eq(rc, 0, "%s", err.msg);
	} else {
		cr_expect_eq(rc, -1);
		cr_expect(strstr(err.msg, "\"cgroup\" is required") != NULL, "%s", err.msg);
	}
}

Test(config, program_not_found) {
	static const char *const env[] = { "PATH=/usr/bin:/bin", NULL };
	const char *argv[] = { "no-such-program-xyz", NULL };
	struct cg_spawn_request req = { .argv = argv, .envp = env, .gateway_fd = 0,
	    .key_fd = -1 };
	struct cg_sandbox_config *cfg = parse_ok("{}");
	struct cg_sandbox_plan *plan = NULL;
	struct cg_error err = { 0 };

	cr_expect_eq(sandbox_prepare(cfg, &req, &plan, &err), -1);
	cr_expect(strstr(err.msg, "no-such-program-xyz") != NULL, "%s", err.msg);
	cr_expect_null(plan);
	sandbox_config_free(cfg);
}

/* The implicit grants: program, ELF interpreter, libraries; for a script,
 * its interpreter too. */
Test(config, implicit_grants_follow_the_loader) {
	static const char *const env[] = { "PATH=/usr/bin:/bin", NULL };
	const char *argv[] = { "python3", NULL };
	struct cg_spawn_request req = { .argv = argv, .envp = env, .gateway_fd = 0,
	    .key_fd = -1 };
	struct cg_sandbox_config *cfg = parse_ok("{\"profile\":\"runtime\"}");
	struct cg_sandbox_plan *plan = NULL;
	struct cg_error err = { 0 };
	json_t *att, *implicit;
	char *s;

	cr_assert_eq(sandbox_prepare(cfg, &req, &plan, &err), 0, "%s", err.msg);
	att = sandbox_attestation(plan);
	implicit = json_object_get(att, "implicit");
	s = json_dumps(implicit, 0);
	cr_expect(strstr(s, "/usr/bin/python3.11\"") != NULL, "%s", s);
	cr_expect(strstr(s, "ld-linux-x86-64.so.2") != NULL, "%s", s);
	cr_expect(strstr(s, "libc.so.6") != NULL, "%s", s);
	cr_expect(strstr(s, "libm.so.6") != NULL, "%s", s);
	cr_expect_str_eq(json_string_value(json_object_get(att, "state")), "planned");
	free(s);
	json_decref(att);
	sandbox_plan_free(plan);
	sandbox_config_free(cfg);
}

Test(config, script_interpreter_is_granted) {
	static const char *const env[] = { "PATH=/usr/bin:/bin", NULL };
	char script[] = "/tmp/capgate-script-XXXXXX";
	int fd = mkstemp(script);
	const char *argv[] = { script, NULL };
	struct cg_spawn_request req = { .argv = argv, .envp = env, .gateway_fd = 0,
	    .key_fd = -1 };
	struct cg_sandbox_config *cfg = parse_ok("{}");
	struct cg_sandbox_plan *plan = NULL;
	struct cg_error err = { 0 };
	json_t *att;
	char *s;

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "#!/usr/bin/env python3\n", 23), 23);
	close(fd);
	cr_assert_eq(sandbox_prepare(cfg, &req, &plan, &err), 0, "%s", err.msg);
	att = sandbox_attestation(plan);
	s = json_dumps(json_object_get(att, "implicit"), 0);
	cr_expect(strstr(s, "/usr/bin/env") != NULL, "%s", s);
	cr_expect(strstr(s, "python3.11") != NULL, "%s", s);
	cr_expect(strstr(s, script) != NULL, "%s", s);
	free(s);
	json_decref(att);
	sandbox_plan_free(plan);
	sandbox_config_free(cfg);
	unlink(script);
}

/* The ELF walk reads files at offsets the files themselves give: broken
 * and hostile headers must end in an error, never in a wild read (the
 * ASan build checks the latter). */
Test(config, malformed_elf_files_fail_cleanly, .timeout = 120) {
	static const char *const env[] = { "PATH=/usr/bin:/bin", NULL };
	char path[] = "/tmp/capgate-elf-XXXXXX", *orig;
	size_t len;
	int fd = mkstemp(path), failures = 0;
	struct cg_sandbox_config *cfg = parse_ok("{\"degrade\":[\"landlock\","
	    "\"landlock_net\",\"landlock_scope\"]}");

	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(cg_read_file("/usr/bin/true", 1u << 20, &orig, &len), 0);
	srand(12345);
	for (int i = 0; i < 400; i++) {
		const char *argv[] = { path, NULL };
		struct cg_spawn_request req = { .argv = argv, .envp = env, .gateway_fd = 0,
		    .key_fd = -1 };
		struct cg_sandbox_plan *plan = NULL;
		struct cg_error err = { 0 };
		char *buf = malloc(len);
		size_t n = len;
		FILE *f;

		memcpy(buf, orig, len);
		if (i < 100) {
			n = (size_t)i * 23;         /* truncated */
		} else {
			for (int k = 0; k < 1 + i % 8; k++) {
				size_t at = (size_t)rand() % (i % 2 ? 128 : 4096);

				buf[at] = (char)rand();
			}
		}
		f = fopen(path, "w");
		cr_assert_not_null(f);
		fwrite(buf, 1, n, f);
		fclose(f);
		if (sandbox_prepare(cfg, &req, &plan, &err) != 0) {
			failures++;
			cr_expect(err.msg[0] != '\0');
		}
		sandbox_plan_free(plan);
		free(buf);
	}
	cr_expect_gt(failures, 100, "only %d of 400 broken files were refused", failures);
	free(orig);
	sandbox_config_free(cfg);
	unlink(path);
}

/* /proc/PID/cgroup lines: which hierarchy each one is, and its path. The
 * v2 line "0::/path" was once never recognized (the id was compared with
 * the separator still attached), so on a cgroup v2 host no cgroup was
 * ever planned; this machine kind is v1, so the parser is tested here. */
/* v1 with memory and pids mounted together is one hierarchy and one
 * directory, with both limits; apart, two directories with one each. */
Test(config, cgroup_v1_plans_a_shared_hierarchy_once) {
	struct cg_sandbox_plan *p = calloc(1, sizeof(*p));

	cr_assert_not_null(p);
	p->limits.memory_mb = 64;
	p->limits.processes = 16;
	cr_assert_eq(sandbox_cgroup_plan_v1(p, "/sys/fs/cgroup/memory,pids/u",
	    "/sys/fs/cgroup/memory,pids/u"), 0);
	cr_assert_eq(p->n_cgroups, 1, "the shared directory planned %zu times",
	    p->n_cgroups);
	cr_assert_eq(p->cgroups[0].n_files, 2);
	cr_expect_str_eq(p->cgroups[0].files[0], "memory.limit_in_bytes");
	cr_expect_eq(p->cgroups[0].values[0], 64ull * 1024 * 1024);
	cr_expect_str_eq(p->cgroups[0].files[1], "pids.max");
	cr_expect_eq(p->cgroups[0].values[1], 16);
	free(p->cgroups[0].base);

	memset(p, 0, sizeof(*p));
	p->limits.memory_mb = 64;
	p->limits.processes = 16;
	cr_assert_eq(sandbox_cgroup_plan_v1(p, "/sys/fs/cgroup/memory/u",
	    "/sys/fs/cgroup/pids/u"), 0);
	cr_assert_eq(p->n_cgroups, 2);
	cr_expect_str_eq(p->cgroups[0].base, "/sys/fs/cgroup/memory/u");
	cr_expect_str_eq(p->cgroups[0].files[0], "memory.limit_in_bytes");
	cr_expect_str_eq(p->cgroups[1].base, "/sys/fs/cgroup/pids/u");
	cr_expect_str_eq(p->cgroups[1].files[0], "pids.max");
	free(p->cgroups[0].base);
	free(p->cgroups[1].base);
	free(p);
}

Test(config, cgroup_lines_name_their_hierarchy) {
	char path[256];

	cr_assert(sandbox_cgroup_own_line("0::/user.slice/session-2.scope\n", NULL,
	    path, sizeof(path)));
	cr_expect_str_eq(path, "/user.slice/session-2.scope");
	cr_assert(sandbox_cgroup_own_line("0::/\n", NULL, path, sizeof(path)));
	cr_expect_str_eq(path, "/");
	cr_expect_not(sandbox_cgroup_own_line("0::/x\n", "memory", path,
	    sizeof(path)));

	cr_assert(sandbox_cgroup_own_line("4:memory:/a/b\n", "memory", path,
	    sizeof(path)));
	cr_expect_str_eq(path, "/a/b");
	cr_assert(sandbox_cgroup_own_line("6:cpu,pids,memory:/c", "pids", path,
	    sizeof(path)));
	cr_expect_str_eq(path, "/c");
	/* a v1 line is not the v2 one, and names only what it lists */
	cr_expect_not(sandbox_cgroup_own_line("4:memory:/a\n", NULL, path,
	    sizeof(path)));
	cr_expect_not(sandbox_cgroup_own_line("10:0::/a\n", NULL, path,
	    sizeof(path)));
	cr_expect_not(sandbox_cgroup_own_line("1:name=systemd:/\n", "memory",
	    path, sizeof(path)));
	cr_expect_not(sandbox_cgroup_own_line("5:memoryx:/\n", "memory", path,
	    sizeof(path)));
	cr_expect_not(sandbox_cgroup_own_line("garbage\n", NULL, path,
	    sizeof(path)));
}

/*
 * The prepare's cached realpath (lookup.c) against realpath(3), path by
 * path: the same result or the same errno. One cache serves every path,
 * twice over, so the second round is answered from it.
 */
Test(config, cached_realpath_agrees_with_realpath) {
	char dir[] = "/tmp/capgate-lookup-XXXXXX", cwd[PATH_MAX], abs_link[PATH_MAX + 32];
	static const char *const paths[] = {
		"d", "d/", "d/f", "d/f/", "d/f/..", "d/./f", "d//f", "d/../d/f",
		"ld", "ld/", "ld/f", "ld/..", "lf", "lf/", "labs", "labs/..",
		"chain", "dangling", "loop", "up/d/f", "missing", "d/missing",
		"c40", "c41",
		".", "..", "./ld/../d", "/", "//", "/tmp/..", "",
	};
	struct cg_lookup lk = { 0 };

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(mkdir("d", 0755), 0);
	cr_assert_eq(close(creat("d/f", 0644)), 0);
	cr_assert_eq(symlink("d", "ld"), 0);
	cr_assert_eq(symlink("d/f", "lf"), 0);
	snprintf(abs_link, sizeof(abs_link), "%s/d/f", dir);
	cr_assert_eq(symlink(abs_link, "labs"), 0);
	cr_assert_eq(symlink("lf", "chain"), 0);
	cr_assert_eq(symlink("nowhere", "dangling"), 0);
	cr_assert_eq(symlink("loop2", "loop"), 0);
	cr_assert_eq(symlink("loop", "loop2"), 0);
	cr_assert_eq(symlink(".", "up"), 0);
	/* c0 -> d, cN -> cN-1: c40 takes 41 links, one past the limit */
	cr_assert_eq(symlink("d", "c0"), 0);
	for (int n = 1; n <= 41; n++) {
		char name[16], to[16];

		snprintf(name, sizeof(name), "c%d", n);
		snprintf(to, sizeof(to), "c%d", n - 1);
		cr_assert_eq(symlink(to, name), 0);
	}
	for (int round = 0; round < 2; round++)
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			char want[PATH_MAX], got[PATH_MAX];
			int want_rc, want_errno, got_rc, got_errno;

			errno = 0;
			want_rc = realpath(paths[i], want) != NULL ? 0 : -1;
			want_errno = errno;
			errno = 0;
			got_rc = sandbox_lookup_realpath(&lk, paths[i], got, sizeof(got));
			got_errno = errno;
			cr_expect_eq(got_rc, want_rc, "\"%s\": %d, realpath %d (%s)",
			    paths[i], got_rc, want_rc, strerror(want_errno));
			if (want_rc == 0 && got_rc == 0)
				cr_expect_str_eq(got, want, "\"%s\"", paths[i]);
			else if (want_rc != 0 && got_rc != 0)
				cr_expect_eq(got_errno, want_errno, "\"%s\": %s, realpath %s",
				    paths[i], strerror(got_errno), strerror(want_errno));
		}
	cr_expect_lt(lk.n, 80, "%zu entries: the cache does not share prefixes", lk.n);
	sandbox_lookup_free(&lk);
	cr_assert_eq(chdir(cwd), 0);
	snprintf(abs_link, sizeof(abs_link), "rm -rf '%s'", dir);
	cr_assert_eq(system(abs_link), 0);
}

/* Past its first 64 entries the cache grows and re-indexes: every answer
 * must still be the one for its own path. */
Test(config, cached_lookups_survive_growth) {
	char dir[] = "/tmp/capgate-lookup-XXXXXX", path[PATH_MAX];
	struct cg_lookup lk = { 0 };
	struct stat st, want;

	cr_assert_not_null(mkdtemp(dir));
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		if (i % 3 != 0)         /* a third missing: ENOENT is kept too */
			cr_assert_eq(close(creat(path, 0644)), 0);
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 300; i++) {
			snprintf(path, sizeof(path), "%s/f%d", dir, i);
			if (i % 3 == 0) {
				cr_expect_eq(sandbox_lookup_lstat(&lk, path, &st), -1, "%s", path);
				cr_expect_eq(errno, ENOENT, "%s", path);
				continue;
			}
			cr_assert_eq(lstat(path, &want), 0);
			cr_assert_eq(sandbox_lookup_lstat(&lk, path, &st), 0, "%s", path);
			cr_expect_eq(st.st_ino, want.st_ino, "%s", path);
		}
	cr_expect_eq(lk.n, 300);
	sandbox_lookup_free(&lk);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	cr_assert_eq(system(path), 0);
}
