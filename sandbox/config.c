/*
 * The policy's "sandbox" section (docs/SANDBOX.md). Parsing is pure apart
 * from stat(): a path that does not exist is an error here, with the JSON
 * pointer of the offending element, so that a policy fails before anything
 * runs. Unknown keys are errors too: a misspelt "wrtie" must not silently
 * grant nothing while the author believes it grants something.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "sandbox/internal.h"

static const struct {
	const char *name;
	uint32_t bit;
} layer_names[] = {
	{ "session", CG_LAYER_SESSION },
	{ "userns", CG_LAYER_USERNS },
	{ "pidns", CG_LAYER_PIDNS },
	{ "netns", CG_LAYER_NETNS },
	{ "ipcns", CG_LAYER_IPCNS },
	{ "utsns", CG_LAYER_UTSNS },
	{ "mntns", CG_LAYER_MNTNS },
	{ "proc", CG_LAYER_PROC },
	{ "rlimits", CG_LAYER_RLIMITS },
	{ "cgroup", CG_LAYER_CGROUP },
	{ "fds", CG_LAYER_FDS },
	{ "env", CG_LAYER_ENV },
	{ "no_new_privs", CG_LAYER_NNP },
	{ "landlock", CG_LAYER_LANDLOCK },
	{ "landlock_net", CG_LAYER_LANDLOCK_NET },
	{ "landlock_scope", CG_LAYER_LANDLOCK_SCOPE },
	{ "seccomp", CG_LAYER_SECCOMP },
	{ "credentials", CG_LAYER_CREDS },
	{ "rootfs", CG_LAYER_ROOTFS },
};

const char *
sandbox_layer_name(uint32_t layer)
{
	for (size_t i = 0; i < CG_ARRAY_LEN(layer_names); i++)
		if (layer_names[i].bit == layer)
			return layer_names[i].name;
	return "unknown";
}

uint32_t
sandbox_layer_from_name(const char *name)
{
	for (size_t i = 0; i < CG_ARRAY_LEN(layer_names); i++)
		if (strcmp(layer_names[i].name, name) == 0)
			return layer_names[i].bit;
	return 0;
}

int
sandbox_path_list_add(struct cg_path_list *list, const char *path)
{
	if (sandbox_path_list_has(list, path))
		return 0;
	return sandbox_path_list_add_dup(list, path);
}

/* Appends even if present (for lists kept parallel to another). */
int
sandbox_path_list_add_dup(struct cg_path_list *list, const char *path)
{
	char **grown;

	grown = realloc(list->paths, (list->n + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	list->paths = grown;
	list->paths[list->n] = strdup(path);
	if (list->paths[list->n] == NULL)
		return -1;
	list->n++;
	return 0;
}

bool
sandbox_path_list_has(const struct cg_path_list *list, const char *path)
{
	for (size_t i = 0; i < list->n; i++)
		if (strcmp(list->paths[i], path) == 0)
			return true;
	return false;
}

void
sandbox_path_list_free(struct cg_path_list *list)
{
	for (size_t i = 0; i < list->n; i++)
		free(list->paths[i]);
	free(list->paths);
	list->paths = NULL;
	list->n = 0;
}

static int __attribute__((format(printf, 3, 4)))
fail_at(struct cg_error *err, const char *pointer, const char *fmt, ...)
{
	va_list ap;

	cg_error_set_pointer(err, pointer);
	if (err != NULL) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* jansson's iterators take a non-const object; we only read it. */
static json_t *
unconst(const json_t *j)
{
	union { const json_t *c; json_t *m; } u = { .c = j };

	return u.m;
}

static int
parse_paths(const json_t *arr, const char *key, const char *policy_dir,
    struct cg_path_list *list, struct cg_error *err)
{
	char ptr[64], path[PATH_MAX];
	const json_t *v;
	struct stat st;
	size_t i;

	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (!json_is_array(arr))
		return fail_at(err, ptr, "\"%s\" must be an array of paths", key);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		int n;

		snprintf(ptr, sizeof(ptr), "/%s/%zu", key, i);
		if (s == NULL || s[0] == '\0')
			return fail_at(err, ptr, "%s: expected a non-empty path string", key);
		if (s[0] == '/')
			n = snprintf(path, sizeof(path), "%s", s);
		else
			n = snprintf(path, sizeof(path), "%s/%s",
			    policy_dir != NULL ? policy_dir : ".", s);
		if (n < 0 || (size_t)n >= sizeof(path))
			return fail_at(err, ptr, "path too long: %s", s);
		if (stat(path, &st) != 0) {
			cg_error_set_pointer(err, ptr);
			return cg_error_set(err, "%s: %s", path, strerror(errno));
		}
		if (sandbox_path_list_add(list, path) != 0)
			return cg_error_set(err, "out of memory");
	}
	return 0;
}

static int
parse_syscalls(const json_t *arr, struct cg_sandbox_config *cfg,
    struct cg_error *err)
{
	const json_t *v;
	char ptr[64];
	size_t i;

	if (!json_is_array(arr))
		return fail_at(err, "/syscalls", "%s must be an array of syscall names", "syscalls");
	cfg->syscalls = calloc(json_array_size(arr) + 1, sizeof(int));
	if (cfg->syscalls == NULL)
		return cg_error_set(err, "out of memory");
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		int nr;

		snprintf(ptr, sizeof(ptr), "/syscalls/%zu", i);
		if (s == NULL)
			return fail_at(err, ptr, "%s: expected a syscall name", "syscalls");
		if (strcmp(s, "execve") == 0 || strcmp(s, "execveat") == 0)
			return fail_at(err, ptr, "%s: use \"allow_exec\": true instead", s);
		if (sandbox_syscall_never(s))
			return fail_at(err, ptr, "%s is never allowed in the sandbox", s);
		nr = seccomp_syscall_resolve_name(s);
		if (nr == __NR_SCMP_ERROR || nr < 0)
			return fail_at(err, ptr, "unknown syscall \"%s\"", s);
		cfg->syscalls[cfg->n_syscalls++] = nr;
	}
	return 0;
}

static int
parse_profile(const json_t *v, struct cg_sandbox_config *cfg, struct cg_error *err)
{
	const char *s = json_string_value(v);

	if (s == NULL)
		return fail_at(err, "/profile", "%s must be a string", "profile");
	if (strcmp(s, "strict") == 0)
		cfg->profile = CG_PROFILE_STRICT;
	else if (strcmp(s, "runtime") == 0)
		cfg->profile = CG_PROFILE_RUNTIME;
	else if (strcmp(s, "custom") == 0)
		cfg->profile = CG_PROFILE_CUSTOM;
	else
		return fail_at(err, "/profile",
		    "unknown profile \"%s\" (expected strict, runtime or custom)", s);
	return 0;
}

static const struct {
	const char *key;
	size_t offset;
	uint64_t max;
} limit_keys[] = {
	{ "memory_mb", offsetof(struct cg_sandbox_limits, memory_mb), 1u << 22 },
	{ "address_space_mb", offsetof(struct cg_sandbox_limits, address_space_mb), 1u << 30 },
	{ "processes", offsetof(struct cg_sandbox_limits, processes), 1u << 20 },
	{ "open_files", offsetof(struct cg_sandbox_limits, open_files), 1u << 20 },
	{ "file_size_mb", offsetof(struct cg_sandbox_limits, file_size_mb), 1u << 30 },
	{ "cpu_seconds", offsetof(struct cg_sandbox_limits, cpu_seconds), 1u << 30 },
	{ "stack_mb", offsetof(struct cg_sandbox_limits, stack_mb), 1u << 20 },
};

static int
parse_limits(const json_t *obj, struct cg_sandbox_limits *lim, struct cg_error *err)
{
	const char *key;
	const json_t *v;
	char ptr[64];

	if (!json_is_object(obj))
		return fail_at(err, "/limits", "%s must be an object", "limits");
	json_object_foreach(unconst(obj), key, v) {
		size_t i;

		snprintf(ptr, sizeof(ptr), "/limits/%s", key);
		for (i = 0; i < CG_ARRAY_LEN(limit_keys); i++)
			if (strcmp(limit_keys[i].key, key) == 0)
				break;
		if (i == CG_ARRAY_LEN(limit_keys))
			return fail_at(err, ptr, "unknown limit \"%s\"", key);
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    (uint64_t)json_integer_value(v) > limit_keys[i].max)
			return fail_at(err, ptr,
			    "%s must be a positive integer within range", key);
		*(uint64_t *)(void *)((char *)lim + limit_keys[i].offset) =
		    (uint64_t)json_integer_value(v);
	}
	return 0;
}

static int
parse_layers(const json_t *arr, const char *key, uint32_t *out, struct cg_error *err)
{
	const json_t *v;
	char ptr[64];
	size_t i;

	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (!json_is_array(arr))
		return fail_at(err, ptr, "\"%s\" must be an array of layer names", key);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		uint32_t bit = s != NULL ? sandbox_layer_from_name(s) : 0;

		snprintf(ptr, sizeof(ptr), "/%s/%zu", key, i);
		if (bit == 0)
			return fail_at(err, ptr, "unknown sandbox layer \"%s\"",
			    s != NULL ? s : "(not a string)");
		*out |= bit;
	}
	return 0;
}

static void
config_defaults(struct cg_sandbox_config *cfg)
{
	cfg->profile = CG_PROFILE_STRICT;
	cfg->limits.memory_mb = 1024;
	cfg->limits.processes = 64;
	cfg->limits.open_files = 256;
	cfg->limits.file_size_mb = 64;
	cfg->limits.stack_mb = 8;
}

static int
parse_key(const char *key, const json_t *v, const char *policy_dir,
    struct cg_sandbox_config *cfg, uint32_t *require, struct cg_error *err)
{
	char ptr[64];

	snprintf(ptr, sizeof(ptr), "/%s", key);
	if (strcmp(key, "profile") == 0)
		return parse_profile(v, cfg, err);
	if (strcmp(key, "syscalls") == 0)
		return parse_syscalls(v, cfg, err);
	if (strcmp(key, "read") == 0)
		return parse_paths(v, key, policy_dir, &cfg->read, err);
	if (strcmp(key, "write") == 0)
		return parse_paths(v, key, policy_dir, &cfg->write, err);
	if (strcmp(key, "exec") == 0)
		return parse_paths(v, key, policy_dir, &cfg->exec, err);
	if (strcmp(key, "limits") == 0)
		return parse_limits(v, &cfg->limits, err);
	if (strcmp(key, "require") == 0)
		return parse_layers(v, key, require, err);
	if (strcmp(key, "degrade") == 0)
		return parse_layers(v, key, &cfg->degrade, err);
	if (strcmp(key, "allow_exec") == 0) {
		if (!json_is_boolean(v))
			return fail_at(err, ptr, "%s must be true or false", key);
		cfg->allow_exec = json_is_true(v);
		return 0;
	}
	if (strcmp(key, "network") == 0) {
		if (!json_is_string(v) || strcmp(json_string_value(v), "none") != 0)
			return fail_at(err, ptr, "%s: only \"none\" is supported", key);
		return 0;
	}
	return fail_at(err, ptr, "unknown sandbox key \"%s\"", key);
}

struct cg_sandbox_config *
sandbox_config_parse(const json_t *section, const char *policy_dir,
    struct cg_error *err)
{
	struct cg_sandbox_config *cfg = calloc(1, sizeof(*cfg));
	uint32_t require = 0;
	const char *key;
	const json_t *v;

	if (cfg == NULL) {
		cg_error_set(err, "out of memory");
		return NULL;
	}
	config_defaults(cfg);
	if (section == NULL) {
		/* cgroup degrades by default: see below */
		cfg->degrade |= CG_LAYER_CGROUP;
		if (sandbox_seccomp_start(cfg, err) == 0)
			return cfg;
		goto fail;
	}
	if (!json_is_object(section)) {
		fail_at(err, "", "%s must be an object", "sandbox");
		goto fail;
	}
	json_object_foreach(unconst(section), key, v) {
		if (parse_key(key, v, policy_dir, cfg, &require, err) != 0)
			goto fail;
	}
	if ((require & cfg->degrade) != 0) {
		fail_at(err, "/require", "layer \"%s\" is both required and allowed to degrade",
		    sandbox_layer_name(require & cfg->degrade & -(require & cfg->degrade)));
		goto fail;
	}
	/* A cgroup can be had only where the system lets the gateway make one
	 * (docs/SANDBOX.md, cgroup), so that layer may be missing unless a
	 * policy requires it; then a spawn without one fails. */
	cfg->degrade = (cfg->degrade | CG_LAYER_CGROUP) & ~require;
	if (cfg->profile == CG_PROFILE_CUSTOM && json_object_get(section, "syscalls") == NULL) {
		fail_at(err, "/profile", "profile \"%s\" needs a \"syscalls\" list", "custom");
		goto fail;
	}
	if (sandbox_seccomp_start(cfg, err) != 0)
		goto fail;
	return cfg;
fail:
	sandbox_config_free(cfg);
	return NULL;
}

void
sandbox_config_free(struct cg_sandbox_config *cfg)
{
	if (cfg == NULL)
		return;
	sandbox_seccomp_stop(cfg);
	free(cfg->syscalls);
	free(cfg->filter);
	sandbox_path_list_free(&cfg->read);
	sandbox_path_list_free(&cfg->write);
	sandbox_path_list_free(&cfg->exec);
	free(cfg);
}
