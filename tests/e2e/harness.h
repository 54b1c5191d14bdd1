/* Runs the real capgate binary for end-to-end tests. */
#ifndef CG_TESTS_E2E_HARNESS_H
#define CG_TESTS_E2E_HARNESS_H

#include "../audit_lines.h"

#include <stddef.h>
#include <sys/types.h>

struct e2e_result {
	int status;              /* exit code, 128+signal, or -1 on timeout */
	char out[65536];
	char err[16384];
};

/* Directory for this run's files, writable by the unprivileged test uid. */
const char *e2e_tmpdir(void);
/* A fresh audit log path in the tmpdir. */
const char *e2e_audit_path(const char *name);

/*
 * Runs `capgate run --policy POLICY --audit AUDIT [extra...] -- argv...`,
 * as CAPGATE_TEST_UID when that is set (via setpriv), with a timeout.
 * NULL-terminated lists.
 */
void e2e_run(const char *policy, const char *audit, const char *const *extra,
    const char *const *argv, int timeout_s, struct e2e_result *r);

/* Starts the same in the background; stdout is readable on *out_fd. */
pid_t e2e_start(const char *policy, const char *audit,
    const char *const *argv, int *out_fd);
int e2e_wait(pid_t pid, int timeout_s);

/* Paths of the built binaries. */
extern const char *const e2e_capgate;
extern const char *const e2e_client;
extern const char *const e2e_hostile;
extern const char *const e2e_policy_dir;

#endif
