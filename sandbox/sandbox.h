/*
 * The sandbox around every client, behind a two-function interface:
 *
 *   sandbox_prepare()  runs in the gateway: resolves paths, builds the
 *                      seccomp filter and Landlock rules, the environment
 *                      and argv, so that the child allocates nothing;
 *   sandbox_spawn()    starts the child; in it, sandbox_enter() applies every
 *                      layer in a fixed order and execs the program, and
 *                      never returns on failure (the child exits 127 after
 *                      writing the failed step to the error pipe).
 *
 * policy/ parses the "sandbox" section with sandbox_config_parse() (pure:
 * no side effects) so that errors carry a JSON pointer that the policy
 * loader turns into file:line:column.
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

int sandbox_prepare(const struct cg_sandbox_config *cfg,
    const struct cg_spawn_request *req, struct cg_sandbox_plan **out,
    struct cg_error *err);
void sandbox_plan_free(struct cg_sandbox_plan *plan);

struct cg_child {
	pid_t pid;          /* as the gateway sees it */
	int pidfd;          /* CLOEXEC pidfd for the child, owned by the caller */
	int notify_fd;      /* seccomp user-notification fd, or -1 */
};

/*
 * Starts the child and returns once it has exec'd the program or failed to.
 * On failure returns -1 with err naming the step that failed. The caller
 * owns out->pidfd and out->notify_fd.
 */
int sandbox_spawn(const struct cg_sandbox_plan *plan, struct cg_child *out,
    struct cg_error *err);

/*
 * The attestation: which layers engaged for a plan, as a JSON object for the
 * audit log. Returns a new reference.
 */
json_t *sandbox_attestation(const struct cg_sandbox_plan *plan);

#endif
