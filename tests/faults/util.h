/* Helpers for the fault, bound and hygiene tests (beside tests/e2e/harness). */
#ifndef CG_TESTS_FAULTS_UTIL_H
#define CG_TESTS_FAULTS_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "../e2e/harness.h"

extern const char *const fault_peer;
extern const char *const fault_policy_dir;

/* A capgate run in the background: stdin is a pipe the test writes to,
 * stdout and stderr go to files. */
struct fault_gw {
	pid_t pid;
	int in_fd;               /* the client's stdin, or -1 once closed */
	char out[512];
	char err[512];
};

/*
 * Starts `[pre...] capgate run --policy P --audit A [--audit-key K] --
 * argv...`. pre (NULL-terminated, may be NULL) wraps capgate, for prlimit
 * or valgrind.
 */
void fault_start(struct fault_gw *g, const char *const *pre,
    const char *policy, const char *audit, const char *key,
    const char *const *argv);
/* Closes the client's stdin. */
void fault_close_stdin(struct fault_gw *g);
/* Writes a line to the client's stdin. */
void fault_say(struct fault_gw *g, const char *line);

/* Waits until the file holds at least count lines containing needle.
 * Returns 0, or -1 on timeout. */
int fault_wait_for(const char *path, const char *needle, int count,
    int timeout_ms);
/* Lines of the file containing needle. */
int fault_count(const char *path, const char *needle);
/* The whole file, NUL-terminated, in a static buffer. */
const char *fault_slurp(const char *path);

/* `capgate keygen` into the tmpdir; returns the basename (.key/.pub). */
const char *fault_keygen(const char *name);
/* `capgate audit verify LOG --key PUB`: exit status; its output in out. */
int fault_verify(const char *log, const char *pub, char *out, size_t len);

/* When the gateway is built with AddressSanitizer, its quarantine holds
 * freed memory back on purpose, which an RSS measurement would count as
 * growth: turn it off for the gateways this process starts. */
void fault_flat_allocator(void);

/* The first child of pid (the sandboxed client of a gateway), or -1. */
pid_t fault_child(pid_t pid);
/* VmRSS of pid in KiB, or -1. */
long fault_rss_kb(pid_t pid);
/* Open fds of pid, or -1. */
int fault_fd_count(pid_t pid);

/* A policy file from tests/faults/policies copied into the tmpdir, so a
 * test may rewrite it. Returns the copy's path (static buffer per name). */
const char *fault_policy_copy(const char *name, const char *copy_as);
void fault_write_file(const char *path, const char *text);

#endif
