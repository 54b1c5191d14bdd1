/* Runs the real capgate binary for the backend, fs and event tests. */
#ifndef CG_TESTS_BACKEND_BK_H
#define CG_TESTS_BACKEND_BK_H

#include "../audit_lines.h"

#include <stddef.h>

struct bk_result {
	int status;              /* exit code, 128+signal, or -1 on timeout */
	char out[1 << 20];
	char err[16384];
	double seconds;
};

/* A fresh path in this run's temporary directory. */
const char *bk_path(const char *name);
const char *bk_tmpdir(void);

/* `capgate run --policy POLICY --audit AUDIT -- argv...` with input on its
 * stdin (NULL: empty). NULL-terminated argv. */
void bk_run(const char *policy, const char *audit, const char *input,
    const char *const *argv, int timeout_s, struct bk_result *r);

/* Writes text to a file (creating it). */
void bk_write_file(const char *path, const char *text);

/* Copies policies/NAME.in from the source tree to dir/NAME, substituting
 * @DIR@ with this source directory (a template: paths in it are absolute
 * once copied, so they hold in the sandbox's view). */
const char *bk_policy(const char *name, const char *dir);

extern const char *const bk_capgate;
extern const char *const bk_probe;
extern const char *const bk_srcdir;
extern const char *const bk_pydir;

#endif
