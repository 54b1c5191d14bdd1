/*
 * The sandbox around every client, behind a two-function interface:
 *
 *   sandbox_prepare()  runs in the gateway: resolves paths, builds the
 *                      seccomp filter and Landlock rules, the environment
 *                      and argv, so that the child allocates nothing;
 *   sandbox_spawn()    starts the child; in it, sandbox_enter() applies every
 *                      layer in a fixed order and execs the program, and
 *                      never returns on failure (the child exits 127 after
 *                      sending the failed step over its status socket).
 *
 * policy/ parses the "sandbox" section with sandbox_config_parse() (no side
 * effects; it stat()s the paths it names, and compiles the seccomp filter
 * on a thread of its own) so that errors carry a JSON pointer that the
 * policy loader turns into file:line:column.
 *
 * Per client the gateway calls: sandbox_prepare, sandbox_spawn, writes
 * sandbox_attestation() to the audit log, watches child.pidfd and
 * child.notify_fd, calls sandbox_notify_handle() when notify_fd is readable
 * and writes sandbox_event_json() for each event, reaps with
 * waitid(P_PIDFD), closes both fds and frees the plan. docs/SANDBOX.md has
 * the details, the policy keys and the order of the layers.
 */
#ifndef CG_SANDBOX_SANDBOX_H
#define CG_SANDBOX_SANDBOX_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

/* Parsed "sandbox" section of a policy. Owned by the policy. */
struct cg_sandbox_config;

/*
 * Parses a "sandbox" policy section (NULL means the defaults). policy_dir is
 * the directory relative paths in the policy are resolved against. On
 * failure returns NULL and fills err (err->pointer relative to the section,
 * e.g. "/read/2"). Free with sandbox_config_free(), which accepts NULL.
 */
struct cg_sandbox_config *sandbox_config_parse(const json_t *section,
    const char *policy_dir, struct cg_error *err);
void sandbox_config_free(struct cg_sandbox_config *cfg);

/*
 * The seccomp filter is one compiled at build time for a built-in profile
 * as it is, or is compiled on a thread that sandbox_config_parse() starts;
 * sandbox_prepare() waits for it. This waits for it too and says whether
 * it compiled (0) or why not (-1, err), for `capgate policy check`.
 */
int sandbox_config_compiled(const struct cg_sandbox_config *cfg,
    struct cg_error *err);

/* What one spawn needs besides the policy's sandbox section. */
struct cg_spawn_request {
	const char *const *argv;     /* argv[0] is the program; NULL-terminated */
	const char *const *envp;     /* the complete, already filtered env */
	int gateway_fd;              /* becomes fd 3 in the child */
	int key_fd;                  /* becomes fd 4 in the child, or -1 */
	const char *name;            /* client name, for messages */
};

/* Everything the child needs, prepared in the gateway. */
struct cg_sandbox_plan;

/*
 * Resolves the program (along req->envp's PATH), its loader and libraries,
 * builds the Landlock ruleset, the seccomp filter, the filesystem view and
 * the limits; copies argv and envp (req may be freed afterwards; the fds
 * are not dup'd and must stay open until sandbox_spawn returns). Fails
 * with err (err->pointer set for a limit that cannot be applied) if a
 * layer the policy requires is unavailable. *out is NULL on failure. Free
 * with sandbox_plan_free(), which accepts NULL.
 */
int sandbox_prepare(const struct cg_sandbox_config *cfg,
    const struct cg_spawn_request *req, struct cg_sandbox_plan **out,
    struct cg_error *err);
void sandbox_plan_free(struct cg_sandbox_plan *plan);

/* The uid and gid the child runs as, as the gateway sees them (the
 * credentials the kernel will attach to the child's messages). */
void sandbox_plan_ids(const struct cg_sandbox_plan *plan, uid_t *uid,
    gid_t *gid);

struct cg_child {
	pid_t pid;          /* the sandbox's init, as the gateway sees it */
	pid_t program_pid;  /* the program (the init's child): its messages'
	                     * sender, from the kernel's SCM_CREDENTIALS */
	int pidfd;          /* CLOEXEC pidfd for the init, owned by the caller:
	                     * its exit status is the program's (128+N for
	                     * signal N); killing it ends the whole sandbox */
	int notify_fd;      /* seccomp user-notification fd, or -1 */
	/* Kept by sandbox_spawn for sandbox_notify_handle(); not for callers. */
	bool allow_exec;    /* the policy allows later execs */
	unsigned denied;        /* calls refused so far (execs, sockets) */
};

/*
 * Starts the child and returns once it has exec'd the program or failed to.
 * On failure returns -1 with err naming the step that failed. The caller
 * owns out->pidfd and out->notify_fd. What the child reports it applied is
 * recorded in plan, for sandbox_attestation(); use one plan per spawn.
 * Runs the child's first execve past the seccomp filter itself, so the
 * program is running (or the call failed) when this returns.
 */
int sandbox_spawn(struct cg_sandbox_plan *plan, struct cg_child *out,
    struct cg_error *err);

/*
 * sandbox_spawn() in two halves, for a gateway with start-up work of its
 * own to do while the child enters its sandbox. _start creates the child
 * (namespaces, uid/gid maps) and lets it apply its layers; it
 * returns at once. _finish waits for the child's report and lets its exec
 * through, exactly as sandbox_spawn() does, which returns what _finish
 * returns. The program cannot run before _finish: its exec waits for the
 * gateway's answer. _abort kills and reaps a child that was started and
 * not finished (sandbox_plan_free() does too); a no-op otherwise.
 */
int sandbox_spawn_start(struct cg_sandbox_plan *plan, struct cg_error *err);
int sandbox_spawn_finish(struct cg_sandbox_plan *plan, struct cg_child *out,
    struct cg_error *err);
void sandbox_spawn_abort(struct cg_sandbox_plan *plan);

/* Kills the child behind pidfd (a no-op for one already exiting), waits
 * for it and closes pidfd: a sandbox init that is to leave nothing
 * behind. */
void sandbox_kill_and_reap(int pidfd);

/*
 * The program's status before the sandbox is torn down. With a pid
 * namespace the init, once the program has ended, kills and reaps every
 * other process in the namespace and then writes the program's status
 * (shell-style: its code, or 128+N for signal N) to a pipe whose read end
 * sandbox_report_fd() returns (-1 if none; it stays valid until the
 * report is read or the plan freed). When it is readable,
 * sandbox_report_read() returns 1 and sets *code: nothing the program
 * started is alive any more, and the cgroup is empty (sandbox_plan_free
 * can remove it), though the init may still be exiting; reap its pidfd
 * when it becomes readable. It returns 0 when there is no report (yet, or
 * ever: the init was killed; the fd is then closed): fall back to
 * waitid() on the pidfd, whose status is the same code.
 */
int sandbox_report_fd(const struct cg_sandbox_plan *plan);
int sandbox_report_read(struct cg_sandbox_plan *plan, int *code);

/*
 * The attestation: which layers engaged for a plan, as a JSON object for the
 * audit log. Before sandbox_spawn() it says what will be attempted; after,
 * what the child reported it applied. Returns a new reference.
 */
json_t *sandbox_attestation(const struct cg_sandbox_plan *plan);

/*
 * Seccomp user notifications. The filter's default action and execve /
 * execveat are notifications: the gateway adds child->notify_fd to its
 * event loop and calls sandbox_notify_handle() whenever it is readable.
 * Values cross into the audit log, so they are fixed.
 */
enum cg_sandbox_event_kind {
	CG_SANDBOX_EVENT_NONE = 0,         /* nothing pending (or it vanished) */
	CG_SANDBOX_EVENT_EXEC_ALLOWED = 1, /* policy allow_exec */
	CG_SANDBOX_EVENT_EXEC_DENIED = 2,  /* a second exec, refused */
	CG_SANDBOX_EVENT_VIOLATION = 3,    /* a syscall outside the profile */
};

enum cg_sandbox_action {
	CG_SANDBOX_ACTION_NONE = 0,
	CG_SANDBOX_ACTION_CONTINUED = 1,   /* the call ran */
	CG_SANDBOX_ACTION_DENIED = 2,      /* failed with EPERM */
	CG_SANDBOX_ACTION_KILLED = 3,      /* failed; the client was killed */
};

struct cg_sandbox_event {
	enum cg_sandbox_event_kind kind;
	enum cg_sandbox_action action;
	pid_t pid;              /* host pid of the calling task */
	uint32_t arch;          /* AUDIT_ARCH_* of the call */
	int nr;                 /* syscall number (x32 calls keep their bit) */
	char name[32];          /* resolved name, or "unknown" */
	uint64_t args[6];       /* raw arguments */
	uint64_t ip;            /* instruction pointer of the call */
	/* For exec events: the path the client passed, copied from its memory
	 * after the decision (which never depends on it) and printable only.
	 * Another thread of the client may have changed it meanwhile: it is
	 * what the client claims, for the audit log, not a fact. */
	char exec_path[128];
};

/*
 * Receives one notification from child->notify_fd, decides and answers it,
 * and describes it in *ev. Never blocks: returns 0 with ev->kind NONE when
 * nothing is pending or the caller died meanwhile. Violations kill the
 * client (pidfd SIGKILL) before the call is answered; later execs and
 * sockets the profile does not allow are denied (EPERM), and after
 * CG_SANDBOX_DENIED_MAX denials the client is killed. Returns -1 with err
 * when the fd is broken (the gateway should stop watching it; POLLHUP on
 * it means every sandboxed task is gone).
 */
#define CG_SANDBOX_DENIED_MAX 32
int sandbox_notify_handle(struct cg_child *child, struct cg_sandbox_event *ev,
    struct cg_error *err);

/* Short names for the audit log ("violation", "killed", ...). */
const char *sandbox_event_kind_name(enum cg_sandbox_event_kind kind);
const char *sandbox_action_name(enum cg_sandbox_action action);

/* Event as a JSON object for the audit log. Returns a new reference. */
json_t *sandbox_event_json(const struct cg_sandbox_event *ev);

#endif
