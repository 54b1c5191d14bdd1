/*
 * Resource limits. Each limit is set as both soft and hard limit, so the
 * client can lower but never raise it. memory_mb bounds RLIMIT_DATA (the
 * private writable memory a process can have: heap and anonymous maps)
 * rather than the address space, because JIT runtimes reserve large
 * PROT_NONE regions they never touch; address_space_mb sets RLIMIT_AS for
 * policies that want it. stack_mb sets RLIMIT_STACK (8 MB unless the
 * policy says otherwise): the main stack is not data, and a gateway started
 * with an unlimited stack would otherwise pass that on. RLIMIT_NPROC is
 * counted per user namespace on this kernel generation (5.14 and later),
 * so "processes" bounds the sandbox, not every process of the invoking
 * user. Core dumps are off.
 *
 * A limit that the gateway itself cannot grant (above its own hard limit)
 * fails sandbox_prepare with the policy pointer, before anything runs.
 * These bound each process; where a cgroup can be had, cgroup.c bounds the
 * sandbox as a whole (memory of all its processes together, their number).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "common/util.h"
#include "sandbox/internal.h"

static int
add_limit(struct cg_sandbox_plan *plan, int resource, uint64_t value,
    const char *key, struct cg_error *err)
{
	struct cg_rlimit_item *it;
	struct rlimit cur;
	char ptr[64];

	if (getrlimit(resource, &cur) != 0)
		return cg_error_set(err, "getrlimit: %s", strerror(errno));
	if (cur.rlim_max != RLIM_INFINITY && value > cur.rlim_max) {
		snprintf(ptr, sizeof(ptr), "/limits/%s", key);
		cg_error_set_pointer(err, ptr);
		return cg_error_set(err, "%s cannot be applied: above the gateway's own "
		    "hard limit (%llu)", key, (unsigned long long)cur.rlim_max);
	}
	if (plan->n_rlimits >= CG_ARRAY_LEN(plan->rlimits))
		return cg_error_set(err, "too many limits");
	it = &plan->rlimits[plan->n_rlimits++];
	it->resource = resource;
	it->value.rlim_cur = it->value.rlim_max = value;
	return 0;
}

int
sandbox_limits_prepare(const struct cg_sandbox_config *cfg,
    struct cg_sandbox_plan *plan, struct cg_error *err)
{
	const struct cg_sandbox_limits *l = &cfg->limits;
	const uint64_t mb = 1024 * 1024;

	if ((l->memory_mb && add_limit(plan, RLIMIT_DATA, l->memory_mb * mb, "memory_mb", err)) ||
	    (l->address_space_mb && add_limit(plan, RLIMIT_AS,
	    l->address_space_mb * mb, "address_space_mb", err)) ||
	    (l->processes && add_limit(plan, RLIMIT_NPROC, l->processes, "processes", err)) ||
	    (l->open_files && add_limit(plan, RLIMIT_NOFILE, l->open_files, "open_files", err)) ||
	    (l->file_size_mb && add_limit(plan, RLIMIT_FSIZE, l->file_size_mb * mb,
	    "file_size_mb", err)) ||
	    (l->cpu_seconds && add_limit(plan, RLIMIT_CPU, l->cpu_seconds, "cpu_seconds", err)) ||
	    (l->stack_mb && add_limit(plan, RLIMIT_STACK, l->stack_mb * mb, "stack_mb", err)) ||
	    add_limit(plan, RLIMIT_CORE, 0, "core", err) ||
	    add_limit(plan, RLIMIT_MEMLOCK, 0, "memlock", err))
		return -1;
	/* Below this many descriptors sandbox_enter cannot place fd 3 and 4. */
	if (l->open_files && l->open_files < 8) {
		cg_error_set_pointer(err, "/limits/open_files");
		return cg_error_set(err, "open_files must be at least 8");
	}
	plan->planned |= CG_LAYER_RLIMITS;
	return 0;
}

int
sandbox_limits_enter(const struct cg_sandbox_plan *plan)
{
	for (size_t i = 0; i < plan->n_rlimits; i++)
		if (setrlimit(plan->rlimits[i].resource, &plan->rlimits[i].value) != 0)
			return errno;
	return 0;
}
