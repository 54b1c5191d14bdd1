/*
 * The attestation written to the audit log at start: which layers are in
 * force for a client. After sandbox_spawn() it is built from what the
 * child reported it applied (its READY message), so it records a fact, not
 * an intention; before, it says what is planned ("state": "planned").
 * A layer the policy allowed to degrade and that did not engage is listed
 * under "degraded".
 */
#include <sys/resource.h>

#include "common/util.h"
#include "sandbox/internal.h"

static const char *
profile_name(enum cg_sandbox_profile p)
{
	switch (p) {
	case CG_PROFILE_STRICT: return "strict";
	case CG_PROFILE_RUNTIME: return "runtime";
	case CG_PROFILE_CUSTOM: return "custom";
	}
	return "unknown";
}

static json_t *
list_json(const struct cg_path_list *list)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < list->n; i++)
		json_array_append_new(a, json_string(list->paths[i]));
	return a;
}

static const char *
rlimit_name(int resource)
{
	switch (resource) {
	case RLIMIT_DATA: return "data";
	case RLIMIT_AS: return "address_space";
	case RLIMIT_NPROC: return "processes";
	case RLIMIT_NOFILE: return "open_files";
	case RLIMIT_FSIZE: return "file_size";
	case RLIMIT_CPU: return "cpu_seconds";
	case RLIMIT_STACK: return "stack";
	case RLIMIT_CORE: return "core";
	case RLIMIT_MEMLOCK: return "memlock";
	default: return "other";
	}
}

static json_t *
limits_json(const struct cg_sandbox_plan *plan)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < plan->n_rlimits; i++)
		json_object_set_new(o, rlimit_name(plan->rlimits[i].resource),
		    json_integer((json_int_t)plan->rlimits[i].value.rlim_max));
	return o;
}

static json_t *
cgroups_json(const struct cg_sandbox_plan *plan)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && plan->cgroup_applied && i < plan->n_cgroups; i++)
		if (plan->cgroups[i].dir != NULL)
			json_array_append_new(a, json_string(plan->cgroups[i].dir));
	return a;
}

json_t *
sandbox_attestation(const struct cg_sandbox_plan *plan)
{
	uint32_t have = plan->spawned ? plan->applied : plan->planned;
	json_t *layers = json_object(), *degraded = json_array();

	for (uint32_t bit = 1; bit <= CG_LAYER_ALL; bit <<= 1) {
		json_object_set_new(layers, sandbox_layer_name(bit), json_boolean(have & bit));
		if (!(have & bit) && !(plan->required & bit))
			json_array_append_new(degraded, json_string(sandbox_layer_name(bit)));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:{s:i, s:i}, s:o, s:o, s:i,"
	    " s:{s:s, s:s, s:s, s:i}, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "sandbox", "linux",
	    "state", plan->spawned ? "applied" : "planned",
	    "client", plan->name,
	    "program", plan->program,
	    "pid", (int)plan->pid,
	    "program_pid", (int)plan->program_pid,
	    "init", 1,
	    "ids", "uid", (int)plan->inner_uid, "gid", (int)plan->inner_gid,
	    "layers", layers,
	    "degraded", degraded,
	    "landlock_abi", plan->landlock_abi,
	    "seccomp",
	    "profile", profile_name(plan->profile),
	    "default", "notify-kill",
	    "exec", plan->allow_exec ? "allowed" : "first-only",
	    "instructions", (int)plan->filter_len,
	    "limits", limits_json(plan),
	    "cgroups", cgroups_json(plan),
	    "implicit", list_json(&plan->implicit),
	    "read", list_json(&plan->read),
	    "write", list_json(&plan->write),
	    "exec", list_json(&plan->exec));
}
