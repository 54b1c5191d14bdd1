/*
 * What the sandbox's files share: the parsed configuration, the plan that
 * sandbox_prepare() builds for one child, and one function per layer.
 *
 * Functions named *_enter / *_child run in the child between clone and
 * execve: they must not allocate, must be async-signal-safe, and report
 * failure as an errno value (0 on success) so that sandbox_enter() can send
 * the failed step to the parent and exit. Everything else runs in the
 * gateway and uses struct cg_error.
 */
#ifndef CG_SANDBOX_INTERNAL_H
#define CG_SANDBOX_INTERNAL_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "sandbox/sandbox.h"

/* Layers, as bits. Names (sandbox_layer_name) appear in policies and in
 * the attestation, so neither the bits nor the names change. */
enum cg_layer {
	CG_LAYER_SESSION = 1u << 0,
	CG_LAYER_USERNS = 1u << 1,
	CG_LAYER_PIDNS = 1u << 2,
	CG_LAYER_NETNS = 1u << 3,
	CG_LAYER_IPCNS = 1u << 4,
	CG_LAYER_UTSNS = 1u << 5,
	CG_LAYER_MNTNS = 1u << 6,
	CG_LAYER_PROC = 1u << 7,            /* fresh /proc of the pid namespace */
	CG_LAYER_RLIMITS = 1u << 8,
	CG_LAYER_CGROUP = 1u << 9,
	CG_LAYER_FDS = 1u << 10,
	CG_LAYER_ENV = 1u << 11,
	CG_LAYER_NNP = 1u << 12,
	CG_LAYER_LANDLOCK = 1u << 13,       /* filesystem rules */
	CG_LAYER_LANDLOCK_NET = 1u << 14,   /* TCP bind/connect denied (ABI 4) */
	CG_LAYER_LANDLOCK_SCOPE = 1u << 15, /* abstract unix + signals (ABI 6) */
	CG_LAYER_SECCOMP = 1u << 16,
	CG_LAYER_CREDS = 1u << 17,          /* uid/gid set, capabilities dropped */
	CG_LAYER_ROOTFS = 1u << 18,         /* minimal filesystem view (view.c) */
};
#define CG_LAYER_NAMESPACES (CG_LAYER_USERNS | CG_LAYER_PIDNS | CG_LAYER_NETNS | \
	CG_LAYER_IPCNS | CG_LAYER_UTSNS | CG_LAYER_MNTNS)
#define CG_LAYER_ALL ((CG_LAYER_ROOTFS << 1) - 1)

const char *sandbox_layer_name(uint32_t layer);
uint32_t sandbox_layer_from_name(const char *name);

enum cg_sandbox_profile {
	CG_PROFILE_STRICT = 1,
	CG_PROFILE_RUNTIME = 2,
	CG_PROFILE_CUSTOM = 3,
};

struct cg_path_list {
	char **paths;       /* absolute, existing at parse time */
	size_t n;
};

/* Limits in the policy's units; 0 means "not set". */
struct cg_sandbox_limits {
	uint64_t memory_mb;
	uint64_t address_space_mb;
	uint64_t processes;
	uint64_t open_files;
	uint64_t file_size_mb;
	uint64_t cpu_seconds;
	uint64_t stack_mb;
};

struct cg_sandbox_config {
	enum cg_sandbox_profile profile;
	int *syscalls;              /* extra (or, for custom, all) syscall numbers */
	size_t n_syscalls;
	struct cg_path_list read, write, exec;
	bool allow_exec;
	struct cg_sandbox_limits limits;
	uint32_t degrade;           /* layers allowed to be missing */
	/* The seccomp filter depends on the policy only: compiled once, on a
	 * thread started at parse time (build; seccomp.c), and copied into
	 * each plan. filter and filter_len belong to that thread until
	 * sandbox_seccomp_wait() has returned. */
	struct sock_filter *filter;
	unsigned short filter_len;
	struct cg_seccomp_build *build;
};

/* Child → parent status messages over the status socket (SEQPACKET). */
enum cg_child_msg_kind {
	CG_CHILD_READY = 1,         /* layers applied; carries the notify fd */
	CG_CHILD_FAILED = 2,        /* step failed with err */
};

/* Steps of sandbox_enter(), named in failure messages. */
enum cg_step {
	CG_STEP_SYNC = 1,
	CG_STEP_SESSION,
	CG_STEP_IDS,
	CG_STEP_MOUNTS,             /* private mounts, view, /proc */
	CG_STEP_HOSTNAME,
	CG_STEP_RLIMITS,
	CG_STEP_FDS,
	CG_STEP_CAPS,
	CG_STEP_NNP,
	CG_STEP_LANDLOCK,
	CG_STEP_INIT,               /* fork of the program under the init */
	CG_STEP_CGROUP,             /* the program joins its cgroup */
	CG_STEP_SECCOMP,
	CG_STEP_REPORT,
	CG_STEP_EXEC,
};
const char *sandbox_step_name(int step);

struct cg_child_msg {
	uint32_t kind;
	uint32_t step;
	int32_t err;
	uint32_t applied;           /* layers the child applied */
	int32_t landlock_abi;
	uint32_t pad;
};

/* Precomputed resource limits for setrlimit() in the child. */
struct cg_rlimit_item {
	int resource;
	struct rlimit value;
};

/* One step of building the filesystem view, replayed by the child. */
enum cg_view_kind {
	CG_VIEW_DIR = 1,            /* mkdir dst */
	CG_VIEW_FILE = 2,           /* create dst (a mount point for a file) */
	CG_VIEW_LINK = 3,           /* symlink src -> dst */
	CG_VIEW_BIND_RO = 4,        /* bind src on dst, read-only */
	CG_VIEW_BIND_RW = 5,        /* bind src on dst */
};

struct cg_view_op {
	enum cg_view_kind kind;
	char *path;                 /* the path as the client sees it */
	char *dst;                  /* "/newroot" + path */
	char *src;                  /* "/oldroot" + path, or a link's target */
};

#define CG_CGROUPS_MAX 2

/* One cgroup directory the gateway creates for a child (cgroup.c). */
struct cg_cgroup_dir {
	char *base;                 /* the gateway's own cgroup directory */
	char *dir;                  /* base/capgate-<gateway pid>-<child pid> */
	const char *join;           /* the file the program writes "0" to */
	const char *files[2];       /* limit files and their values */
	unsigned long long values[2];
	int n_files;
	bool created;
};

struct cg_sandbox_plan {
	char *name;
	char *program;              /* resolved absolute path that is exec'd */
	char **argv;                /* copies, NULL-terminated */
	char **envp;
	int gateway_fd;
	int key_fd;
	enum cg_sandbox_profile profile;
	bool allow_exec;
	uint32_t required;          /* layers whose absence fails the spawn */
	uint32_t planned;           /* layers that will be attempted */

	struct cg_path_list implicit;   /* program, interpreter, libraries */
	struct cg_path_list refs;       /* the names they are opened by */
	struct cg_view_op *view_ops;
	size_t n_view_ops;
	struct cg_path_list read, write, exec;  /* copies, for the attestation */
	struct cg_sandbox_limits limits;

	/* namespaces */
	uint64_t clone_flags;
	uid_t outer_uid, inner_uid;
	gid_t outer_gid, inner_gid;
	bool drop_groups;           /* gateway is root: setgroups(0) in child */

	/* rlimits, and a cgroup where one can be had */
	struct cg_rlimit_item rlimits[10];
	size_t n_rlimits;
	struct cg_cgroup_dir cgroups[CG_CGROUPS_MAX]; /* v2: one; v1: memory, pids */
	size_t n_cgroups;
	bool cgroup_applied;
	bool cgroup_failed;         /* a step failed: not attached (degraded) */

	/* landlock */
	int landlock_abi;           /* 0: unavailable */
	int ruleset_fd;             /* -1 if no Landlock */
	/* Grants under /proc: the child's /proc is a new mount, so their
	 * rules are added in the child, on its own /proc. */
	struct cg_path_list proc_paths;
	uint64_t *proc_access;

	/* seccomp: the policy's config until sandbox_spawn_finish sends its
	 * filter to the child; then the filter's length (0: none sent) */
	const struct cg_sandbox_config *seccomp_cfg;
	unsigned short filter_len;

	/* between sandbox_spawn_start and _finish (-1 otherwise) */
	int status_fd;              /* the gateway's end of the status socket */
	int pidfd;                  /* the init's, until _finish hands it over */
	/* the read end of the init's report pipe (O_NONBLOCK), from
	 * _start until the report is read or the plan freed; -1 without a
	 * pid namespace */
	int report_fd;

	/* filled by sandbox_spawn from the child's report */
	bool spawned;
	uint32_t applied;
	pid_t pid;                  /* the init */
	pid_t program_pid;          /* the program, from its credentials */
};

/* init.c: in the init after the fork of the program; never returns. It
 * closes the status socket, the ruleset and fds 0-4, and reports the
 * program's status on report (-1: no report) once nothing else is left in
 * its pid namespace. Signals must be blocked (all of them) when it is
 * called. */
void sandbox_init_run(pid_t program, int status, int ruleset, int report)
    __attribute__((noreturn));

/* config.c */
int sandbox_path_list_add(struct cg_path_list *list, const char *path);
int sandbox_path_list_add_dup(struct cg_path_list *list, const char *path);
void sandbox_path_list_free(struct cg_path_list *list);
bool sandbox_path_list_has(const struct cg_path_list *list, const char *path);

/* lookup.c: lstat, readlink and realpath(3), each path asked of the
 * kernel once per cache; a prepare owns one and frees it at its end.
 * Errors as the system calls' (-1 or NULL with errno). */
struct stat;
struct cg_lookup_entry;
struct cg_lookup {
	struct cg_lookup_entry *v;
	uint32_t *index;        /* open addressing, 2 * cap slots */
	size_t n, cap;
};
int sandbox_lookup_lstat(struct cg_lookup *c, const char *path, struct stat *st);
const char *sandbox_lookup_link(struct cg_lookup *c, const char *path);
int sandbox_lookup_realpath(struct cg_lookup *c, const char *path, char *out,
    size_t outlen);
/* realpath's walk, telling visit about each symlink it follows (target
 * set) and each directory it passes through (target NULL); a nonzero
 * return stops it (errno ECANCELED). *st is the final path's lstat. On
 * failure out names the path at which the walk stopped. */
typedef int (*cg_lookup_visit)(void *ctx, const char *path, const char *target);
int sandbox_lookup_walk(struct cg_lookup *c, const char *path, char *out,
    size_t outlen, struct stat *st, cg_lookup_visit visit, void *ctx);
int sandbox_lookup_stat(struct cg_lookup *c, const char *path, struct stat *st);
void sandbox_lookup_free(struct cg_lookup *c);

/* elf.c: adds program, interpreter(s) and libraries to list. */
int sandbox_elf_resolve(const char *program, const char *const *envp,
    char **resolved, struct cg_path_list *list, struct cg_path_list *refs,
    struct cg_lookup *lk, struct cg_error *err);

/* view.c */
int sandbox_view_prepare(const struct cg_sandbox_config *cfg,
    struct cg_sandbox_plan *plan, struct cg_lookup *lk, struct cg_error *err);
void sandbox_view_free(struct cg_sandbox_plan *plan);
int sandbox_view_enter(const struct cg_sandbox_plan *plan, uint32_t *applied);

/* landlock.c */
int sandbox_landlock_abi(void);
int sandbox_landlock_prepare(const struct cg_sandbox_config *cfg,
    struct cg_sandbox_plan *plan, struct cg_error *err);
int sandbox_landlock_enter(const struct cg_sandbox_plan *plan, int ruleset_fd,
    uint32_t *applied);
int sandbox_landlock_proc_enter(const struct cg_sandbox_plan *plan, int ruleset_fd);

/* seccomp.c: _start takes the filter compiled at build time when the
 * policy uses a built-in profile as it is, and otherwise compiles it on a
 * thread (or at once, if no thread can be made); _wait joins it and
 * returns its result, every time; _stop joins it and frees its state
 * (sandbox_config_free). _compile is the compiler itself, which the build
 * runs (seccomp_gen.c) and the tests compare with what it built. */
int sandbox_seccomp_start(struct cg_sandbox_config *cfg, struct cg_error *err);
int sandbox_seccomp_compile(struct cg_sandbox_config *cfg, struct cg_error *err);
int sandbox_seccomp_wait(const struct cg_sandbox_config *cfg, struct cg_error *err);
void sandbox_seccomp_stop(struct cg_sandbox_config *cfg);
int sandbox_seccomp_prepare(const struct cg_sandbox_config *cfg,
    struct cg_sandbox_plan *plan, struct cg_error *err);
int sandbox_seccomp_send(struct cg_sandbox_plan *plan, int status,
    struct cg_error *err);
int sandbox_seccomp_enter(int status, int *notify_fd);
bool sandbox_syscall_never(const char *name);

/* The filters of the built-in profiles without extra syscalls, compiled
 * by sandbox_seccomp_compile() when capgate was built, by the same
 * libseccomp it links (sandbox/meson.build). The table is generated
 * (seccomp_gen.c); it is empty where the build could not run what it
 * built (a cross build), and every filter is then compiled at run time. */
struct cg_seccomp_prebuilt {
	enum cg_sandbox_profile profile;
	bool allow_exec;
	unsigned short len;
	const struct sock_filter *filter;
};
extern const struct cg_seccomp_prebuilt cg_seccomp_prebuilt[];
extern const size_t cg_seccomp_prebuilt_n;
const struct cg_seccomp_prebuilt *sandbox_seccomp_prebuilt(
    const struct cg_sandbox_config *cfg);

/* namespaces.c */
int sandbox_ns_prepare(struct cg_sandbox_plan *plan, struct cg_error *err);
int sandbox_ns_write_maps(const struct cg_sandbox_plan *plan, pid_t pid,
    struct cg_error *err);
int sandbox_ns_mounts_enter(const struct cg_sandbox_plan *plan, uint32_t *applied);
int sandbox_ns_hostname_enter(const struct cg_sandbox_plan *plan);
int sandbox_ids_enter(const struct cg_sandbox_plan *plan);
int sandbox_caps_enter(void);

/* limits.c */
int sandbox_limits_prepare(const struct cg_sandbox_config *cfg,
    struct cg_sandbox_plan *plan, struct cg_error *err);
int sandbox_limits_enter(const struct cg_sandbox_plan *plan);

/* cgroup.c */
/* Whether a /proc/PID/cgroup line is controller's hierarchy's (NULL: v2);
 * its path into out. */
bool sandbox_cgroup_own_line(const char *line, const char *controller,
    char *out, size_t len);
int sandbox_cgroup_prepare(struct cg_sandbox_plan *plan, struct cg_error *err);
/* Plans the v1 memory and pids directories (one if they are the same). */
int sandbox_cgroup_plan_v1(struct cg_sandbox_plan *plan, const char *mem,
    const char *pids);
/* Removes the empty capgate-<pid>-* cgroups in base whose gateway is gone. */
void sandbox_cgroup_sweep(const char *base);
int sandbox_cgroup_create(struct cg_sandbox_plan *plan, pid_t init);
int sandbox_cgroup_failed(struct cg_sandbox_plan *plan, int e,
    struct cg_error *err);
int sandbox_cgroup_send(struct cg_sandbox_plan *plan, int status,
    struct cg_error *err);
int sandbox_cgroup_enter(int status, size_t expected, bool *joined, int *join_err);
void sandbox_cgroup_release(struct cg_sandbox_plan *plan);

/* fds.c: 0-2, gateway on 3, key on 4; the first fd left free. */
#define CG_SANDBOX_FIRST_FREE_FD 5
int sandbox_env_prepare(const struct cg_spawn_request *req,
    struct cg_sandbox_plan *plan, struct cg_error *err);
int sandbox_fds_enter(const struct cg_sandbox_plan *plan, int *status_fd,
    int *ruleset_fd, int *report_fd);

/* notify.c */
struct seccomp_notif;
int sandbox_notify_recv(int fd, struct seccomp_notif *n, struct cg_error *err);
int sandbox_notify_respond(int fd, uint64_t id, int error, uint32_t flags);
bool sandbox_notify_is_exec(const struct seccomp_notif *n);
void sandbox_notify_describe(const struct seccomp_notif *n, struct cg_sandbox_event *ev);


#endif
