/*
 * The scoped file built-ins end to end, and every way out of a scope we
 * know of: "..", absolute paths, symlinks (also swapped in during the
 * call), /proc/self/root, NUL bytes, over-long names, FIFOs.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bk.h"

static struct bk_result r;
static const char *probe[] = { PROBE_BIN, NULL };
static char dir[512], policy[512], audit[600];

/* A fresh tree per test:
 *   DIR/secret.txt            outside every scope
 *   DIR/data/hello.txt        "hello\n"
 *   DIR/data/bin.dat          3 bytes, not UTF-8
 *   DIR/data/sub/a.txt
 *   DIR/data/link -> ../secret.txt, data/inlink -> hello.txt,
 *   DIR/data/up -> .., data/fifo (a FIFO), data/rw/ (writable scope) */
static void
setup_tree(void)
{
	static int n;
	char p[700];

	snprintf(dir, sizeof(dir), "%s/fs%d-%d", bk_tmpdir(), (int)getpid(), n++);
	cr_assert_eq(mkdir(dir, 0755), 0);
#define AT(rel) (snprintf(p, sizeof(p), "%s/%s", dir, rel), p)
	bk_write_file(AT("secret.txt"), "TOPSECRET\n");
	cr_assert_eq(mkdir(AT("data"), 0755), 0);
	cr_assert_eq(mkdir(AT("data/sub"), 0755), 0);
	cr_assert_eq(mkdir(AT("data/rw"), 0755), 0);
	bk_write_file(AT("data/hello.txt"), "hello\n");
	bk_write_file(AT("data/bin.dat"), "\xff\x01\x02");
	bk_write_file(AT("data/sub/a.txt"), "a\n");
	cr_assert_eq(symlink("../secret.txt", AT("data/link")), 0);
	cr_assert_eq(symlink("hello.txt", AT("data/inlink")), 0);
	cr_assert_eq(symlink("..", AT("data/up")), 0);
	cr_assert_eq(symlink("../../secret.txt", AT("data/rw/link")), 0);
	cr_assert_eq(mkfifo(AT("data/fifo"), 0644), 0);
	snprintf(policy, sizeof(policy), "%s", bk_policy("fs.json", dir));
	snprintf(audit, sizeof(audit), "%s/audit.log", dir);
#undef AT
}

TestSuite(fs, .init = setup_tree, .timeout = 60);

static void
run(const char *script)
{
	bk_run(policy, audit, script, probe, 30, &r);
	cr_assert_eq(r.status, 0, "status %d\nout: %s\nerr: %s", r.status, r.out,
	    r.err);
	cr_assert_null(strstr(r.out, "TOPSECRET"), "%s", r.out);
}

static int
reason(const char *why)
{
	char want[128];

	snprintf(want, sizeof(want), "\"reason\":\"%s\"", why);
	return audit_lines_count(audit, want, NULL);
}

Test(fs, read_returns_text_and_binary)
{
	run("invoke fs:read {\"path\":\"hello.txt\"}\n"
	    "invoke fs:read {\"path\":\"bin.dat\"}\n"
	    "invoke fs:read {\"path\":\"sub/a.txt\"}\n"
	    "invoke fs:read {\"path\":\"sub/../hello.txt\"}\n");
	cr_assert_str_eq(r.out, "{\"data\":\"hello\\n\",\"size\":6}\n"
	    "{\"base64\":\"/wEC\",\"size\":3}\n"
	    "{\"data\":\"a\\n\",\"size\":2}\n"
	    "{\"data\":\"hello\\n\",\"size\":6}\n", "%s", r.out);
}

Test(fs, dot_dot_out_of_the_root_gets_nothing)
{
	run("invoke fs:read {\"path\":\"../secret.txt\"}\n"
	    "invoke fs:read {\"path\":\"sub/../../secret.txt\"}\n"
	    "invoke fs:read {\"path\":\"..\"}\n");
	cr_assert_str_eq(r.out, "error: denied\nerror: denied\nerror: denied\n");
	cr_assert_eq(reason("scope-escape"), 3);
}

Test(fs, absolute_paths_get_nothing)
{
	char script[2048];

	/* even the absolute path of a file inside the root */
	snprintf(script, sizeof(script), "invoke fs:read {\"path\":\"/etc/passwd\"}\n"
	    "invoke fs:read {\"path\":\"%s/data/hello.txt\"}\n"
	    "invoke fs:read {\"path\":\"%s/secret.txt\"}\n", dir, dir);
	run(script);
	cr_assert_str_eq(r.out, "error: denied\nerror: denied\nerror: denied\n");
	cr_assert_eq(reason("scope-escape"), 3);
}

Test(fs, symlinks_get_nothing)
{
	run("invoke fs:read {\"path\":\"link\"}\n"
	    "invoke fs:read {\"path\":\"inlink\"}\n"
	    "invoke fs:read {\"path\":\"up/secret.txt\"}\n"
	    "invoke fs:open {\"path\":\"link\"}\n"
	    "invoke fs:stat {\"path\":\"up/secret.txt\"}\n"
	    "invoke fs:list {\"path\":\"up\"}\n");
	cr_assert_str_eq(r.out, "error: denied\nerror: denied\nerror: denied\n"
	    "error: denied\nerror: denied\nerror: denied\n", "%s", r.out);
	cr_assert_eq(reason("symlink"), 6);
}

Test(fs, proc_self_root_gets_nothing)
{
	run("invoke fs:read {\"path\":\"/proc/self/root/etc/passwd\"}\n"
	    "invoke fs:read {\"path\":\"../../../../proc/self/root/etc/passwd\"}\n");
	cr_assert_str_eq(r.out, "error: denied\nerror: denied\n");
	cr_assert_eq(reason("scope-escape"), 2);
}

Test(fs, nul_bytes_get_nothing)
{
	/* a NUL can only be written as \u0000 in JSON: the body is refused
	 * before any handler sees it */
	run("invoke fs:read {\"path\":\"hello.txt\\u0000../secret.txt\"}\n");
	cr_assert_str_eq(r.out, "error: invalid\n");
	cr_assert_eq(audit_lines_count(audit, "\"channel\":\"fs:read\"",
	    "\"decision\":\"deny\"", NULL), 1);
}

Test(fs, over_long_names_get_nothing)
{
	char *script = malloc(20000), *p = script;

	p += sprintf(p, "invoke fs:read {\"path\":\"");
	memset(p, 'a', 300);
	p += 300;
	p += sprintf(p, "\"}\ninvoke fs:read {\"path\":\"");
	for (int i = 0; i < 2100; i++)
		p += sprintf(p, "./");
	p += sprintf(p, "hello.txt\"}\n");
	run(script);
	free(script);
	cr_assert_str_eq(r.out, "error: denied\nerror: denied\n", "%s", r.out);
	cr_assert_eq(reason("name-too-long"), 1);
	cr_assert_eq(reason("bad-path"), 1);
}

Test(fs, a_mount_point_below_the_root_gets_nothing)
{
	char p[700];

	/* A private mount namespace for this test process and the gateway
	 * it starts; the host's mounts are untouched. */
	if (unshare(CLONE_NEWNS) != 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		cr_assert_null(getenv("CAPGATE_REQUIRE_ALL"),
		    "cannot make a mount namespace: %s", strerror(errno));
		cr_skip_test("cannot make a mount namespace (not root?): %s",
		    strerror(errno));
	}
	snprintf(p, sizeof(p), "%s/data/mnt", dir);
	cr_assert_eq(mkdir(p, 0755), 0);
	cr_assert_eq(mount("tmpfs", p, "tmpfs", 0, "size=64k"), 0, "%s",
	    strerror(errno));
	snprintf(p, sizeof(p), "%s/data/mnt/x.txt", dir);
	bk_write_file(p, "on another filesystem\n");
	run("invoke fs:read {\"path\":\"mnt/x.txt\"}\n"
	    "invoke fs:list {\"path\":\"mnt\"}\n"
	    "invoke fs:read {\"path\":\"hello.txt\"}\n");
	cr_assert_str_eq(r.out, "error: denied\nerror: denied\n"
	    "{\"data\":\"hello\\n\",\"size\":6}\n", "%s", r.out);
	cr_assert_eq(reason("scope-escape"), 2);
}

Test(fs, a_fifo_is_not_opened_and_does_not_block_the_gateway)
{
	run("invoke fs:read {\"path\":\"fifo\"}\n"
	    "invoke fs:open {\"path\":\"fifo\"}\n"
	    "invoke fs:read {\"path\":\"hello.txt\"}\n");
	cr_assert_str_eq(r.out, "error: denied\nerror: denied\n"
	    "{\"data\":\"hello\\n\",\"size\":6}\n");
	cr_assert_eq(reason("not-a-file"), 2);
}

Test(fs, size_limits_apply)
{
	char p[700], big[5000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(p, sizeof(p), "%s/data/big.txt", dir);
	bk_write_file(p, big);
	run("invoke fs:read {\"path\":\"big.txt\"}\n"
	    "invoke fs:write {\"path\":\"x.txt\",\"data\":\""
	    "0123456789012345678901234567890123456789012345678901234567890123456789"
	    "0123456789012345678901234567890123456789\"}\n");
	cr_assert_str_eq(r.out, "error: denied\nerror: denied\n", "%s", r.out);
	cr_assert_eq(reason("too-big"), 2);
}

Test(fs, write_creates_inside_the_writable_scope_only)
{
	char p[700], *text = NULL;
	size_t len;
	FILE *f;

	run("invoke fs:write {\"path\":\"note.txt\",\"data\":\"one\"}\n"
	    "invoke fs:write {\"path\":\"note.txt\",\"data\":\"+two\",\"append\":true}\n"
	    "invoke fs:write {\"path\":\"../escaped.txt\",\"data\":\"x\"}\n"
	    "invoke fs:write {\"path\":\"link\",\"data\":\"x\"}\n"
	    "invoke fs:write-ro {\"path\":\"hello.txt\",\"data\":\"x\"}\n");
	cr_assert_str_eq(r.out, "{\"written\":3}\n{\"written\":4}\n"
	    "error: denied\nerror: denied\nerror: denied\n", "%s", r.out);
	snprintf(p, sizeof(p), "%s/data/rw/note.txt", dir);
	f = fopen(p, "r");
	cr_assert_not_null(f);
	cr_assert_gt(getline(&text, &len, f), 0);
	cr_assert_str_eq(text, "one+two");
	fclose(f);
	free(text);
	snprintf(p, sizeof(p), "%s/data/escaped.txt", dir);
	cr_assert_neq(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/secret.txt", dir);
	f = fopen(p, "r");
	text = NULL;
	cr_assert_gt(getline(&text, &len, f), 0);
	cr_assert_str_eq(text, "TOPSECRET\n");
	fclose(f);
	free(text);
	cr_assert_eq(reason("read-only-scope"), 1);
}

Test(fs, list_and_stat)
{
	run("invoke fs:list {\"path\":\"sub\"}\n"
	    "invoke fs:stat {\"path\":\"hello.txt\"}\n"
	    "invoke fs:list {\"path\":\"..\"}\n"
	    "invoke fs:stat {\"path\":\"../secret.txt\"}\n");
	cr_assert(strncmp(r.out, "{\"entries\":[{\"name\":\"a.txt\",\"type\":\"file\","
	    "\"size\":2}],\"truncated\":false}\n{\"type\":\"file\",\"size\":6,"
	    "\"mtime_ms\":", strlen("{\"entries\":[{\"name\":\"a.txt\",\"type\":\"file\","
	    "\"size\":2}],\"truncated\":false}\n{\"type\":\"file\",\"size\":6,"
	    "\"mtime_ms\":")) == 0, "%s", r.out);
	cr_assert_not_null(strstr(r.out, "}\nerror: denied\nerror: denied\n"));
}

Test(fs, open_hands_a_read_only_fd_unless_the_scope_allows_writing)
{
	char p[700];

	snprintf(p, sizeof(p), "%s/data/rw/doc.txt", dir);
	bk_write_file(p, "document\n");
	run("invoke fs:open {\"path\":\"hello.txt\"}\n"
	    "invoke fs:open {\"path\":\"hello.txt\",\"write\":true}\n"
	    "invoke fs:open-rw {\"path\":\"doc.txt\",\"write\":true}\n"
	    "invoke fs:open-rw {\"path\":\"new.txt\",\"write\":true,\"create\":true}\n");
	cr_assert_str_eq(r.out,
	    "{\"size\":6,\"write\":false,\"fd\":0}\n"
	    "fd: mode=ro size=6 write=EBADF head=hello.\n"
	    "error: denied\n"
	    "{\"size\":9,\"write\":true,\"fd\":0}\n"
	    "fd: mode=rw size=9 write=ok head=document.\n"
	    "{\"size\":0,\"write\":true,\"fd\":0}\n"
	    "fd: mode=rw size=0 write=ok head=\n", "%s", r.out);
}

Test(fs, read_with_an_fd_needs_the_policy_to_declare_it)
{
	run("invoke fs:read {\"path\":\"hello.txt\",\"fd\":true}\n"
	    "invoke fs:readfd {\"path\":\"hello.txt\",\"fd\":true}\n");
	/* the fd is a sealed copy: it cannot be written through */
	cr_assert_str_eq(r.out, "error: denied\n{\"size\":6,\"fd\":0}\n"
	    "fd: mode=rw size=6 write=EPERM head=hello.\n", "%s", r.out);
	cr_assert_eq(reason("fd-not-declared"), 1);
}

Test(fs, a_100_mib_read_travels_as_an_fd_and_is_fast)
{
	char p[700];
	int fd;

	snprintf(p, sizeof(p), "%s/data/big.bin", dir);
	fd = open(p, O_WRONLY | O_CREAT, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(posix_fallocate(fd, 0, 100 << 20), 0);
	cr_assert_eq(pwrite(fd, "BIGFILE!", 8, 0), 8);
	close(fd);
	run("invoke fs:readfd {\"path\":\"big.bin\",\"fd\":true}\n"
	    "invoke fs:open {\"path\":\"big.bin\"}\n");
	cr_assert_str_eq(r.out, "{\"size\":104857600,\"fd\":0}\n"
	    "fd: mode=rw size=104857600 write=EPERM head=BIGFILE!........\n"
	    "{\"size\":104857600,\"write\":false,\"fd\":0}\n"
	    "fd: mode=ro size=104857600 write=EBADF head=BIGFILE!........\n",
	    "%s", r.out);
	/* the data never rode in a frame: the reply carried an fd (timing is
	 * for bench/, not for tests on a shared machine) */
}

/* Swaps a name between a regular file and a symlink out of the scope as
 * fast as it can, while the client reads it. */
static volatile int racing;

static void *
swapper(void *arg)
{
	char a[700], b[700], tmp[700];

	(void)arg;
	snprintf(a, sizeof(a), "%s/data/race", dir);
	snprintf(b, sizeof(b), "%s/data/race.file", dir);
	snprintf(tmp, sizeof(tmp), "%s/data/race.link", dir);
	bk_write_file(b, "inside\n");
	while (racing) {
		unlink(tmp);
		if (symlink("../secret.txt", tmp) != 0)
			break;
		rename(tmp, a);
		/* may fail while the reader holds the name: the race goes on */
		if (link(b, tmp) != 0)
			continue;
		rename(tmp, a);
	}
	return NULL;
}

static void *
dir_swapper(void *arg)
{
	char a[700], d[700], tmp[700];

	(void)arg;
	snprintf(a, sizeof(a), "%s/data/racedir", dir);
	snprintf(d, sizeof(d), "%s/data/racedir.real", dir);
	snprintf(tmp, sizeof(tmp), "%s/data/racedir.tmp", dir);
	mkdir(d, 0755);
	snprintf(tmp, sizeof(tmp), "%s/data/racedir.real/secret.txt", dir);
	bk_write_file(tmp, "inside\n");
	snprintf(tmp, sizeof(tmp), "%s/data/racedir.tmp", dir);
	while (racing) {
		unlink(tmp);
		if (symlink("..", tmp) != 0)
			break;
		renameat2(AT_FDCWD, tmp, AT_FDCWD, a, 0);
		unlink(tmp);
		if (symlink("racedir.real", tmp) != 0)
			continue;
		/* a real directory cannot be renamed over a symlink; swap the
		 * symlink target between the scope's parent and a real dir */
		renameat2(AT_FDCWD, tmp, AT_FDCWD, a, 0);
	}
	return NULL;
}

Test(fs, symlinks_swapped_in_during_the_calls_get_nothing)
{
	pthread_t t1, t2;
	char *script = malloc(200000), *p = script;
	int inside = 0;

	for (int i = 0; i < 1500; i++)
		p += sprintf(p, "invoke fs:read {\"path\":\"race\"}\n"
		    "invoke fs:read {\"path\":\"racedir/secret.txt\"}\n");
	racing = 1;
	cr_assert_eq(pthread_create(&t1, NULL, swapper, NULL), 0);
	cr_assert_eq(pthread_create(&t2, NULL, dir_swapper, NULL), 0);
	run(script);
	racing = 0;
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	free(script);
	/* every answer is the file inside, or a denial / not-found; the
	 * secret outside never comes back (checked in run()) */
	for (char *s = r.out; (s = strstr(s, "inside")) != NULL; s++)
		inside++;
	cr_assert_gt(inside, 0, "the race never saw the real file: %s", r.out);
	cr_assert_gt(reason("symlink"), 0, "the race never saw the symlink");
}
