/*
 * A stand-in for the gateway's event loop in the sandbox tests: parses a
 * sandbox section, prepares and spawns a client, answers "ping" with
 * "pong" on its connection, services the seccomp notifications with
 * sandbox_notify_handle() and collects the client's stdout and exit.
 */
#ifndef CG_TESTS_SANDBOX_HARNESS_H
#define CG_TESTS_SANDBOX_HARNESS_H

#include <stdbool.h>

#include "sandbox/sandbox.h"

#define HARNESS_MAX_EVENTS 64

struct harness_result {
	bool spawned;
	char error[600];            /* parse/prepare/spawn error, formatted */
	char pointer[256];          /* its JSON pointer */
	char out[8192];             /* the client's stdout */
	int exit_code;              /* -1 if killed */
	int signal;                 /* signal that ended it, or 0 */
	struct cg_sandbox_event events[HARNESS_MAX_EVENTS];
	int n_events;
	json_t *attestation;        /* after spawn; caller decrefs */
};

/* Runs argv under the sandbox section given as JSON text. envp may be
 * NULL (then PATH and CAPGATE_PROBE_OK only). Returns 0 if it ran. */
int harness_run(const char *section_json, const char *const *argv,
    const char *const *envp, struct harness_result *res);

/* The key fd the next harness_run() passes (fd 4 in the child); -1: none. */
extern int harness_key_fd;

/* The event whose syscall name is name, or NULL. */
const struct cg_sandbox_event *harness_event(const struct harness_result *res,
    const char *name);

/* Directory of the test programs (probe, probe-static). */
const char *harness_dir(void);

/* NULL when this kernel gives every layer the tests rely on (user
 * namespaces, Landlock ABI 6, seccomp notifications); otherwise why not. */
const char *harness_missing_feature(void);

/* CAPGATE_REQUIRE_ALL=1 turns a missing kernel feature into a failure. */
bool harness_require_all(void);

#endif
