/*
 * Interpreters doing real work under the runtime profile, with the
 * policies shipped in policies/ (their "sandbox" sections), and the
 * attestation of a spawned client.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sandbox/harness.h"

#ifndef POLICY_DIR
#error POLICY_DIR must name the policies/ directory
#endif

static const char *const env[] = { "PATH=/usr/bin:/bin", "HOME=/nonexistent",
	"LANG=C.UTF-8", NULL };

/* The "sandbox" section of a shipped policy file, as JSON text. */
static char *
policy_section(const char *file)
{
	char path[512];
	json_error_t jerr;
	json_t *root, *sec;
	char *s;

	snprintf(path, sizeof(path), "%s/%s", POLICY_DIR, file);
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
	"except PermissionError:\n"
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
	cr_expect(strstr(r.out, "\"pid\": 1}") != NULL, "%s", r.out);
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
	cr_expect_geq(r.n_events, 1);
	cr_expect_eq(r.events[0].kind, CG_SANDBOX_EVENT_EXEC_DENIED);
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
	cr_expect(strstr(r.out, "\"shadow\":\"EACCES\"") != NULL, "%s", r.out);
	cr_expect(strstr(r.out, "\"pid\":1}") != NULL, "%s", r.out);
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
	    "credentials" };
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
	cr_expect(json_is_false(json_object_get(l, "cgroup")));
	cr_expect_eq(json_array_size(json_object_get(r.attestation, "degraded")), 1);
	cr_expect_geq(json_integer_value(json_object_get(r.attestation, "landlock_abi")), 6);
	json_decref(r.attestation);
}
