/*
 * File descriptors and environment.
 *
 * The client starts with exactly 0, 1, 2, the gateway connection on 3 and,
 * when there is one, the key pipe on 4. Everything else the gateway had
 * open (other clients' sockets, the audit log, backends' pipes) is closed
 * here, not merely marked close-on-exec, except the descriptors
 * sandbox_enter still needs (status socket, Landlock ruleset, the init's
 * report pipe), which are
 * close-on-exec and moved above 4 first so that placing 3 and 4 cannot
 * clobber them.
 *
 * The environment is the gateway's already filtered list, minus the
 * dynamic loader's variables: the implicit grants were computed for the
 * libraries the program names, not for an LD_PRELOAD or LD_LIBRARY_PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sandbox/internal.h"

#define FIRST_FREE_FD CG_SANDBOX_FIRST_FREE_FD

int
sandbox_env_prepare(const struct cg_spawn_request *req,
    struct cg_sandbox_plan *plan, struct cg_error *err)
{
	size_t n = 0, k = 0;

	while (req->envp != NULL && req->envp[n] != NULL)
		n++;
	plan->envp = calloc(n + 1, sizeof(char *));
	if (plan->envp == NULL)
		return cg_error_set(err, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (strncmp(req->envp[i], "LD_", 3) == 0 || strchr(req->envp[i], '=') == NULL)
			continue;
		plan->envp[k] = strdup(req->envp[i]);
		if (plan->envp[k++] == NULL)
			return cg_error_set(err, "out of memory");
	}
	plan->planned |= CG_LAYER_ENV | CG_LAYER_FDS;
	return 0;
}

/* Moves *fd to FIRST_FREE_FD or above, close-on-exec. */
static int
move_high(int *fd)
{
	int nfd;

	if (*fd < 0 || *fd >= FIRST_FREE_FD)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, FIRST_FREE_FD);
	if (nfd < 0)
		return errno;
	*fd = nfd;
	return 0;
}

/* Makes 0, 1 and 2 exist (on /dev/null) and survive exec. */
static int
fix_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			int nfd = open("/dev/null", O_RDWR | O_NOCTTY);

			if (nfd < 0)
				return errno;
			if (nfd != fd && (dup2(nfd, fd) < 0 || close(nfd) != 0))
				return errno;
		}
		if (fcntl(fd, F_SETFD, 0) != 0)
			return errno;
	}
	return 0;
}

/* Closes every fd from lo up except the n in keep (each >= lo, or -1). */
static int
close_except(unsigned lo, const int *keep, size_t n)
{
	unsigned next = lo;

	for (;;) {
		unsigned low = ~0U;

		/* the smallest kept fd at or above next */
		for (size_t i = 0; i < n; i++)
			if (keep[i] >= 0 && (unsigned)keep[i] >= next &&
			    (unsigned)keep[i] < low)
				low = (unsigned)keep[i];
		if (low == ~0U)
			return close_range(next, ~0U, 0) != 0 ? errno : 0;
		if (low > next && close_range(next, low - 1, 0) != 0)
			return errno;
		next = low + 1;
	}
}

int
sandbox_fds_enter(const struct cg_sandbox_plan *plan, int *status_fd,
    int *ruleset_fd, int *report_fd)
{
	int gw = plan->gateway_fd, key = plan->key_fd, e;

	if ((e = fix_stdio()) != 0)
		return e;
	/* Everything we still need goes above 4 before 3 and 4 are placed. */
	if ((e = move_high(status_fd)) != 0 || (e = move_high(ruleset_fd)) != 0 ||
	    (e = move_high(report_fd)) != 0)
		return e;
	gw = fcntl(gw, F_DUPFD_CLOEXEC, FIRST_FREE_FD);
	if (gw < 0)
		return errno;
	if (key >= 0 && (key = fcntl(key, F_DUPFD_CLOEXEC, FIRST_FREE_FD)) < 0)
		return errno;
	if (dup2(gw, 3) != 3)
		return errno;
	if (key >= 0 && dup2(key, 4) != 4)
		return errno;
	if (key < 0 && close(4) != 0 && errno != EBADF)
		return errno;
	/* status, ruleset and report fds are distinct and >= 5 (or -1). */
	return close_except(FIRST_FREE_FD, (const int[]){ *status_fd, *ruleset_fd,
	    *report_fd }, 3);
}
