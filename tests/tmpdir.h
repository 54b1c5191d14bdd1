/*
 * A test process's scratch directory under /tmp, removed with everything in
 * it when the process that made it exits. Criterion runs each test in a
 * process of its own, so each test gets (and removes) its own directory.
 * A child forked after it was made shares it and, if it exits without
 * exec, does not remove it: the removal runs only in the process that
 * made it. CAPGATE_TEST_KEEP=1 keeps the directories
 * for a look after a failure.
 */
#ifndef CAPGATE_TESTS_TMPDIR_H
#define CAPGATE_TESTS_TMPDIR_H

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static char test_tmpdir_path[256];
static pid_t test_tmpdir_owner;

static int
test_tmpdir_remove_one(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	/* a test that mounted something below it in its own mount
	 * namespace: the mount point is busy until unmounted */
	if (remove(path) != 0 && errno == EBUSY && umount2(path, MNT_DETACH) == 0)
		remove(path);
	return 0;
}

static void
test_tmpdir_remove(void)
{
	const char *keep = getenv("CAPGATE_TEST_KEEP");

	if (getpid() != test_tmpdir_owner || test_tmpdir_path[0] == '\0' ||
	    (keep != NULL && strcmp(keep, "1") == 0))
		return;
	nftw(test_tmpdir_path, test_tmpdir_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* /tmp/PREFIX-XXXXXX with the given mode, made on the first call. */
static inline const char *
test_tmpdir(const char *prefix, mode_t mode)
{
	if (test_tmpdir_path[0] != '\0')
		return test_tmpdir_path;   /* a forked child shares its parent's */
	snprintf(test_tmpdir_path, sizeof(test_tmpdir_path), "/tmp/%s-XXXXXX",
	    prefix);
	if (mkdtemp(test_tmpdir_path) == NULL ||
	    chmod(test_tmpdir_path, mode) != 0)
		abort();
	test_tmpdir_owner = getpid();
	atexit(test_tmpdir_remove);
	return test_tmpdir_path;
}

#endif
