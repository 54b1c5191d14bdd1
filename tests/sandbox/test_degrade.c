/*
 * Missing layers: a policy fails by default and runs only when it allows
 * the layer to degrade, which the attestation then records. The missing
 * kernel feature is simulated with a seccomp filter on this test process:
 * clone3 answers ENOSYS (as in container runtimes, exercising the clone()
 * fallback) and clone with CLONE_NEWUSER answers EPERM (as on systems that
 * disable unprivileged user namespaces).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "tests/sandbox/harness.h"

static const char *const env[] = { "PATH=/usr/bin:/bin", NULL };

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

TestSuite(degrade, .init = require_kernel);

static void
no_user_namespaces(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

	cr_assert_not_null(ctx);
	cr_assert_eq(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), 0);
	cr_assert_eq(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER)), 0);
	cr_assert_eq(seccomp_load(ctx), 0);
	seccomp_release(ctx);
}

static void
run(const char *section, struct harness_result *r)
{
	char probe[512];
	const char *argv[] = { probe, "stdout", NULL };

	snprintf(probe, sizeof(probe), "%s/probe", harness_dir());
	harness_run(section, argv, env, r);
}

Test(degrade, clone_fallback_when_clone3_is_filtered) {
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	struct harness_result r;

	cr_assert_eq(seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), 0);
	cr_assert_eq(seccomp_load(ctx), 0);
	seccomp_release(ctx);
	run("{\"profile\":\"strict\"}", &r);
	cr_assert(r.spawned, "%s", r.error);
	cr_expect(strstr(r.out, "stdout OK") != NULL, "%s", r.out);
	cr_expect(json_is_true(json_object_get(json_object_get(r.attestation, "layers"),
	    "userns")));
	json_decref(r.attestation);
}

Test(degrade, missing_userns_fails_by_default) {
	struct harness_result r;

	no_user_namespaces();
	run("{\"profile\":\"strict\"}", &r);
	cr_expect(!r.spawned);
	cr_expect(strstr(r.error, "creating the namespaces failed") != NULL, "%s", r.error);
	cr_expect(strstr(r.out, "stdout OK") == NULL);
}

Test(degrade, partial_degrade_is_not_enough) {
	struct harness_result r;

	no_user_namespaces();
	run("{\"profile\":\"strict\",\"degrade\":[\"userns\"]}", &r);
	cr_expect(!r.spawned, "ran with only userns allowed to degrade");
}

Test(degrade, allowed_degrade_runs_and_is_recorded) {
	struct harness_result r;
	json_t *layers, *degraded;
	char *d;

	no_user_namespaces();
	run("{\"profile\":\"strict\",\"degrade\":[\"userns\",\"pidns\",\"netns\","
	    "\"ipcns\",\"utsns\",\"mntns\",\"proc\",\"rootfs\"]}", &r);
	cr_assert(r.spawned, "%s", r.error);
	cr_expect(strstr(r.out, "stdout OK") != NULL, "%s", r.out);
	layers = json_object_get(r.attestation, "layers");
	cr_expect(json_is_false(json_object_get(layers, "userns")));
	cr_expect(json_is_false(json_object_get(layers, "pidns")));
	cr_expect(json_is_true(json_object_get(layers, "landlock")));
	cr_expect(json_is_true(json_object_get(layers, "seccomp")));
	degraded = json_object_get(r.attestation, "degraded");
	d = json_dumps(degraded, 0);
	cr_expect(strstr(d, "\"userns\"") != NULL && strstr(d, "\"mntns\"") != NULL, "%s", d);
	free(d);
	json_decref(r.attestation);
}

/* Without a pid namespace there is no /proc of our own: unless "proc" may
 * degrade too, the child's report fails the spawn. */
Test(degrade, child_report_is_checked) {
	struct harness_result r;

	no_user_namespaces();
	run("{\"profile\":\"strict\",\"degrade\":[\"userns\",\"pidns\",\"netns\","
	    "\"ipcns\",\"utsns\",\"mntns\",\"rootfs\"]}", &r);
	cr_expect(!r.spawned);
	cr_expect(strstr(r.error, "\"proc\" is required") != NULL, "%s", r.error);
}
