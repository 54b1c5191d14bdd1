/*
 * sandbox_prepare(): everything the child will need, computed in the
 * gateway, where allocation, file access and error messages are cheap and
 * safe. The child (spawn.c) then only issues system calls on this plan.
 *
 * Layers that can be judged here (Landlock ABI, seccomp, limits) are
 * checked against the policy's requirements now, so that a policy asking
 * for what this machine cannot give fails before any process exists;
 * namespaces can only be judged by trying, in sandbox_spawn().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/internal.h"

static char **
copy_strv(const char *const *v)
{
	size_t n = 0;
	char **out;

	while (v[n] != NULL)
		n++;
	out = calloc(n + 1, sizeof(char *));
	for (size_t i = 0; out != NULL && i < n; i++)
		if ((out[i] = strdup(v[i])) == NULL)
			return out;     /* caller sees a NULL hole: checked below */
	return out;
}

static bool
strv_complete(char **dst, const char *const *src)
{
	size_t i;

	if (dst == NULL)
		return false;
	for (i = 0; src[i] != NULL; i++)
		if (dst[i] == NULL)
			return false;
	return true;
}

static int
copy_list(struct cg_path_list *dst, const struct cg_path_list *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (sandbox_path_list_add(dst, src->paths[i]) != 0)
			return -1;
	return 0;
}

static int
copy_request(const struct cg_sandbox_config *cfg,
    const struct cg_spawn_request *req, struct cg_sandbox_plan *plan,
    struct cg_error *err)
{
	if (req->argv == NULL || req->argv[0] == NULL || req->argv[0][0] == '\0')
		return cg_error_set(err, "no program to run");
	if (req->gateway_fd < 0)
		return cg_error_set(err, "no gateway connection for the client");
	plan->gateway_fd = req->gateway_fd;
	plan->key_fd = req->key_fd;
	plan->profile = cfg->profile;
	plan->allow_exec = cfg->allow_exec;
	plan->limits = cfg->limits;
	plan->name = strdup(req->name != NULL ? req->name : req->argv[0]);
	plan->argv = copy_strv(req->argv);
	if (plan->name == NULL || !strv_complete(plan->argv, req->argv) ||
	    copy_list(&plan->read, &cfg->read) != 0 ||
	    copy_list(&plan->write, &cfg->write) != 0 ||
	    copy_list(&plan->exec, &cfg->exec) != 0)
		return cg_error_set(err, "out of memory");
	return 0;
}

static int
check_required(const struct cg_sandbox_plan *plan, struct cg_error *err)
{
	/* Namespaces and /proc are judged by sandbox_spawn(); the rest must
	 * be planned if required. */
	uint32_t missing = plan->required & ~plan->planned;

	for (uint32_t bit = 1; bit != 0 && bit <= CG_LAYER_ALL; bit <<= 1)
		if (missing & bit)
			return cg_error_set(err, "sandbox layer \"%s\" is required by the policy "
			    "but not available here (list it under \"degrade\" to run without it)",
			    sandbox_layer_name(bit));
	return 0;
}

int
sandbox_prepare(const struct cg_sandbox_config *cfg,
    const struct cg_spawn_request *req, struct cg_sandbox_plan **out,
    struct cg_error *err)
{
	struct cg_sandbox_plan *plan = calloc(1, sizeof(*plan));
	struct cg_lookup lookup = { 0 };
	int rc;

	*out = NULL;
	if (plan == NULL)
		return cg_error_set(err, "out of memory");
	plan->ruleset_fd = -1;
	plan->key_fd = -1;
	plan->status_fd = plan->pidfd = plan->report_fd = -1;
	plan->required = CG_LAYER_ALL & ~cfg->degrade;
	plan->planned = CG_LAYER_SESSION | CG_LAYER_NNP;
	rc = copy_request(cfg, req, plan, err) != 0 ||
	    sandbox_elf_resolve(plan->argv[0], req->envp, &plan->program,
	    &plan->implicit, &plan->refs, &lookup, err) != 0 ||
	    (access("/etc/ld.so.cache", R_OK) == 0 &&
	    sandbox_path_list_add(&plan->implicit, "/etc/ld.so.cache") != 0) ||
	    sandbox_env_prepare(req, plan, err) != 0 ||
	    sandbox_ns_prepare(plan, err) != 0 ||
	    sandbox_limits_prepare(cfg, plan, err) != 0 ||
	    sandbox_cgroup_prepare(plan, err) != 0 ||
	    sandbox_landlock_prepare(cfg, plan, err) != 0 ||
	    sandbox_view_prepare(cfg, plan, &lookup, err) != 0 ||
	    sandbox_seccomp_prepare(cfg, plan, err) != 0 ||
	    check_required(plan, err) != 0;
	sandbox_lookup_free(&lookup);
	if (rc != 0) {
		if (err != NULL && err->msg[0] == '\0')
			cg_error_set(err, "out of memory");
		sandbox_plan_free(plan);
		return -1;
	}
	*out = plan;
	return 0;
}

static void
free_strv(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
sandbox_plan_free(struct cg_sandbox_plan *plan)
{
	if (plan == NULL)
		return;
	sandbox_spawn_abort(plan);      /* started and never finished */
	if (plan->report_fd >= 0)
		close(plan->report_fd);
	if (plan->ruleset_fd >= 0)
		close(plan->ruleset_fd);
	sandbox_cgroup_release(plan);
	free(plan->name);
	free(plan->program);
	free_strv(plan->argv);
	free_strv(plan->envp);
	sandbox_path_list_free(&plan->implicit);
	sandbox_path_list_free(&plan->refs);
	sandbox_path_list_free(&plan->proc_paths);
	free(plan->proc_access);
	sandbox_view_free(plan);
	sandbox_path_list_free(&plan->read);
	sandbox_path_list_free(&plan->write);
	sandbox_path_list_free(&plan->exec);
	free(plan);
}

void
sandbox_plan_ids(const struct cg_sandbox_plan *plan, uid_t *uid, gid_t *gid)
{
	*uid = plan->outer_uid;
	*gid = plan->outer_gid;
}
