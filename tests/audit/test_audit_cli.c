/* The command-line tools, run as a separate process (audit_tool stands in
 * for the capgate binary's command table). */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "audit/query.h"
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "helpers.h"

TestSuite(audit_cli, .fini = th_cleanup);

static int
cg_read_file_for_test(const char *path, char **out)
{
	return cg_read_file(path, 4096, out, NULL);
}

static const char *
tool(void)
{
	const char *t = getenv("AUDIT_TOOL");

	cr_assert_not_null(t, "AUDIT_TOOL not set (run via meson test)");
	return t;
}

/* Runs `audit_tool a0 a1 ...` (NULL-terminated); exit status, output in out. */
static int
run(char **out, ...)
{
	char *argv[16];
	va_list ap;
	int n = 0;

	argv[n++] = (char *)(uintptr_t)tool();
	va_start(ap, out);
	while ((argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	return th_run(argv, out);
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(audit_cli, keygen_writes_a_private_key_and_refuses_to_overwrite)
{
	char base[300], key[320], pub[320], *out, *before, *after;
	struct stat st;
	struct th_env e;

	th_setup(&e);
	snprintf(base, sizeof(base), "%s/new", e.dir);
	snprintf(key, sizeof(key), "%s.key", base);
	snprintf(pub, sizeof(pub), "%s.pub", base);
	cr_assert_eq(run(&out, "keygen", base, NULL), 0);
	free(out);
	cr_assert_eq(stat(key, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	cr_assert_eq(stat(pub, &st), 0);
	cr_assert_eq(cg_read_file_for_test(key, &before), 0);
	cr_assert_eq(run(&out, "keygen", base, NULL), 1);
	free(out);
	cr_assert_eq(cg_read_file_for_test(key, &after), 0);
	cr_assert_str_eq(before, after, "the key was overwritten");
	free(before);
	free(after);
	cr_assert_eq(run(&out, "keygen", NULL), 64);
	free(out);
}

Test(audit_cli, verify_exit_codes_and_locations)
{
	char *out, wrong[320];
	struct th_env e;
	struct th_lines l;

	th_setup(&e);
	th_write_log(&e, 20, 5);
	cr_assert_eq(run(&out, "audit", "verify", e.log, "--key", e.pub, NULL), 0,
	    "%s", out);
	cr_assert(strstr(out, "intact") != NULL, "%s", out);
	free(out);
	cr_assert_eq(run(&out, "audit", "verify", e.log, NULL), 64);
	free(out);
	/* tampered: exit 1, FILE:LINE: what */
	th_read_lines(e.log, &l);
	l.line[9][strlen(l.line[9]) - 3] ^= 1;
	th_write_lines(e.log, &l);
	cr_assert_eq(run(&out, "audit", "verify", "--key", e.pub, e.log, NULL), 1);
	snprintf(wrong, sizeof(wrong), "%s:10: ", e.log);
	cr_assert(strncmp(out, wrong, strlen(wrong)) == 0, "%s", out);
	free(out);
	/* truncated: exit 2 */
	l.line[9][strlen(l.line[9]) - 3] ^= 1;
	l.n -= 2;
	th_write_lines(e.log, &l);
	cr_assert_eq(run(&out, "audit", "verify", "--key", e.pub, e.log, NULL), 2);
	cr_assert(strstr(out, "uncleanly") != NULL, "%s", out);
	free(out);
	l.n += 2;
	th_free_lines(&l);
}

/* A FIFO with no writer at the log's path, a device or a directory: the
 * tools answer at once instead of blocking in open() or reading forever;
 * a log piped in is read. th_run's watchdog turns a hang into a failure. */
Test(audit_cli, tools_do_not_block_on_fifos_or_read_devices)
{
	char fifo[320], piped[32], *out, *text;
	struct th_env e;
	size_t len;
	int p[2];

	th_setup(&e);
	th_write_log(&e, 20, 5);
	snprintf(fifo, sizeof(fifo), "%s/fifo", e.dir);
	cr_assert_eq(mkfifo(fifo, 0600), 0);
	cr_assert_eq(run(&out, "audit", "verify", "--key", e.pub, fifo, NULL), 1);
	cr_assert(strstr(out, "the log is empty") != NULL, "%s", out);
	free(out);
	cr_assert_eq(run(&out, "audit", "show", fifo, NULL), 0);
	cr_assert_str_eq(out, "");
	free(out);
	cr_assert_eq(run(&out, "audit", "follow", fifo, NULL), 1);
	free(out);
	cr_assert_eq(run(&out, "audit", "verify", "--key", e.pub, "/dev/zero", NULL), 1);
	cr_assert(strstr(out, "not a regular file or a pipe") != NULL, "%s", out);
	free(out);
	cr_assert_eq(run(&out, "audit", "show", "/dev/zero", NULL), 1);
	free(out);
	cr_assert_eq(run(&out, "audit", "stats", e.dir, NULL), 1);
	free(out);

	/* a log that comes through a pipe verifies like the file */
	cr_assert_eq(cg_read_file(e.log, 1u << 20, &text, &len), 0);
	cr_assert_lt(len, 65536, "the log must fit in the pipe's buffer");
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], text, len), (ssize_t)len);
	close(p[1]);
	free(text);
	snprintf(piped, sizeof(piped), "/dev/fd/%d", p[0]);
	cr_assert_eq(run(&out, "audit", "verify", "--key", e.pub, piped, NULL), 0,
	    "%s", out);
	cr_assert(strstr(out, "intact") != NULL, "%s", out);
	free(out);
	close(p[0]);
}

Test(audit_cli, show_filters_and_json_lines)
{
	char *out, *line, *save;
	struct th_env e;
	json_t *r;
	size_t n = 0;

	th_setup(&e);
	th_write_log(&e, 30, 100);
	cr_assert_eq(run(&out, "audit", "show", e.log, NULL), 0);
	cr_assert_eq(count_lines(out), 32, "not a terminal: every record as JSON");
	free(out);
	cr_assert_eq(run(&out, "audit", "show", e.log, "--decision", "deny", NULL), 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		r = json_loads(line, 0, NULL);
		cr_assert_not_null(r, "%s", line);
		cr_assert_str_eq(json_string_value(json_object_get(r, "decision")), "deny");
		json_decref(r);
		n++;
	}
	cr_assert_eq(n, 10);
	free(out);
	cr_assert_eq(run(&out, "audit", "show", e.log, "--channel", "notes:*",
	    "--decision", "allow", NULL), 0);
	cr_assert_eq(count_lines(out), 5);
	free(out);
	cr_assert_eq(run(&out, "audit", "show", e.log, "--client", "nobody", NULL), 0);
	cr_assert_eq(count_lines(out), 0);
	free(out);
	cr_assert_eq(run(&out, "audit", "show", e.log, "--since", "2999-01-01", NULL), 0);
	cr_assert_eq(count_lines(out), 0);
	free(out);
	cr_assert_eq(run(&out, "audit", "show", e.log, "--until", "2999-01-01T00:00Z",
	    "--since", "@0", "--json", NULL), 0);
	cr_assert_eq(count_lines(out), 32);
	free(out);
	cr_assert_eq(run(&out, "audit", "show", e.log, "--decision", "maybe", NULL), 64);
	free(out);
	cr_assert_eq(run(&out, "audit", "show", e.log, "--since", "yesterday", NULL), 64);
	free(out);
}

/* On a terminal: a table, colour, and no escape sequences from records. */
Test(audit_cli, show_table_on_a_terminal)
{
	struct cg_audit_config cfg;
	struct cg_audit_decision d;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	char buf[65536];
	size_t len = 0;
	ssize_t n;
	int master, status;
	pid_t pid;

	th_setup(&e);
	cfg = th_config(&e, 100);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	th_decisions(a, 3, 1);
	memset(&d, 0, sizeof(d));
	d.client = "evil";
	d.channel = "x\033]0;pwned\007y";
	d.decision = CG_DECISION_DENY;
	d.reason = "not-granted";
	cr_assert_eq(audit_append_decision(a, &d), 0);
	/* C1 controls as UTF-8 (CSI, OSC, ST): valid text, and some
	 * terminals obey them */
	d.channel = "c1\xc2\x9b" "2J\xc2\x9d" "0;t\xc2\x9cz";
	cr_assert_eq(audit_append_decision(a, &d), 0);
	cr_assert_eq(audit_close(a), 0);
	pid = forkpty(&master, NULL, NULL, NULL);
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		unsetenv("NO_COLOR");
		execl(tool(), tool(), "audit", "show", e.log, (char *)NULL);
		_exit(127);
	}
	while (len < sizeof(buf) - 1 && (n = read(master, buf + len,
	    sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert(strstr(buf, "TIME") != NULL && strstr(buf, "DECISION") != NULL, "%s", buf);
	cr_assert(strstr(buf, "\033[31mdeny") != NULL, "deny in red: %s", buf);
	cr_assert(strstr(buf, "\033[32mallow") != NULL, "allow in green");
	cr_assert(strstr(buf, "x?]0;pwned?y") != NULL, "control bytes shown as ?: %s", buf);
	cr_assert_null(strstr(buf, "\033]0;"), "an escape sequence from a record reached the terminal");
	cr_assert(strstr(buf, "c1?2J?0;t?z") != NULL, "C1 controls shown as ?: %s", buf);
	cr_assert(strstr(buf, "\xc2\x9b") == NULL && strstr(buf, "\xc2\x9d") == NULL,
	    "a C1 control from a record reached the terminal");
}

/* Output of a tool on a pseudo-terminal (argv after the tool's path). */
static void
run_on_pty(char *buf, size_t cap, const char *a1, const char *a2,
    const char *a3, const char *a4, const char *a5, const char *a6)
{
	size_t len = 0;
	ssize_t n;
	int master, status;
	pid_t pid = forkpty(&master, NULL, NULL, NULL);

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		alarm(60);
		execl(tool(), tool(), a1, a2, a3, a4, a5, a6, (char *)NULL);
		_exit(127);
	}
	while (len < cap - 1 && (n = read(master, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(master);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", buf);
}

/* --json on a terminal: the records are JSON with the same meaning, but
 * DEL and the C1 controls are \u escapes and a carriage return between
 * tokens (a forged line can have one) is a space. */
Test(audit_cli, json_lines_on_a_terminal_carry_no_controls)
{
	struct cg_audit_config cfg;
	struct cg_audit_decision d;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	char buf[65536], *p;
	FILE *f;

	th_setup(&e);
	cfg = th_config(&e, 100);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	memset(&d, 0, sizeof(d));
	d.client = "evil";
	d.channel = "c1\xc2\x9b" "2J\x7f" "z";
	d.decision = CG_DECISION_DENY;
	d.reason = "not-granted";
	cr_assert_eq(audit_append_decision(a, &d), 0);
	cr_assert_eq(audit_close(a), 0);
	run_on_pty(buf, sizeof(buf), "audit", "follow", e.log, "--json",
	    "--key", e.pub);
	cr_assert(strstr(buf, "\"c1\\u009b2J\\u007fz\"") != NULL, "%s", buf);
	f = fopen(e.log, "a");
	fputs("{\"n\":9,\r\"ev\":\"x\",\"channel\":\"\xc2\x9d\"}\n", f);
	fclose(f);
	run_on_pty(buf, sizeof(buf), "audit", "show", e.log, "--json", NULL, NULL);
	cr_assert(strstr(buf, "\"c1\\u009b2J\\u007fz\"") != NULL, "%s", buf);
	cr_assert(strstr(buf, "{\"n\":9, \"ev\":\"x\",\"channel\":\"\\u009d\"}")
	    != NULL, "%s", buf);
	cr_assert(strstr(buf, "\xc2\x9b") == NULL && strstr(buf, "\x7f") == NULL &&
	    strstr(buf, "\xc2\x9d") == NULL, "a control reached the terminal");
	for (p = buf; (p = strchr(p, '\r')) != NULL; p++)
		cr_assert_eq(p[1], '\n', "a carriage return reached the terminal");
}

/* verify's and follow's messages quote the log (a record's kind, the
 * parser's view of a bad line): they must not carry its control bytes. */
Test(audit_cli, verdicts_do_not_replay_control_bytes_from_the_log)
{
	static const char zeros[] = "0000000000000000000000000000000000000000"
	    "000000000000000000000000";
	char *out, line[512];
	struct th_env e;
	FILE *f;

	th_setup(&e);
	th_write_log(&e, 2, 5);
	f = fopen(e.log, "w");
	cr_assert_not_null(f);
	snprintf(line, sizeof(line), "{\"n\":0,\"t\":\"x\",\"ev\":\"\\u001b[2J"
	    "\\u001b]0;owned\\u0007\",\"prev\":\"%s\"}\n", zeros);
	fputs(line, f);
	fclose(f);
	cr_assert_eq(run(&out, "audit", "verify", e.log, "--key", e.pub, NULL), 1,
	    "%s", out);
	cr_assert(strchr(out, '\033') == NULL && strchr(out, '\007') == NULL,
	    "%s", out);
	free(out);
	cr_assert_eq(run(&out, "audit", "follow", e.log, "--key", e.pub, NULL), 1);
	cr_assert(strchr(out, '\033') == NULL && strchr(out, '\007') == NULL,
	    "%s", out);
	free(out);
}

/* The final seal is authentic, but the record before it was changed:
 * follow must not stop at the seal and call it a clean end. */
Test(audit_cli, follow_fails_when_the_record_before_the_final_seal_was_altered)
{
	char *out, *at;
	struct th_env e;
	struct th_lines l;

	th_setup(&e);
	th_write_log(&e, 12, 5);
	th_read_lines(e.log, &l);
	at = strstr(l.line[l.n - 2], "\"ev\":\"");
	cr_assert_not_null(at, "%s", l.line[l.n - 2]);
	at[6] = 'X';
	th_write_lines(e.log, &l);
	th_free_lines(&l);
	cr_assert_eq(run(&out, "audit", "verify", e.log, "--key", e.pub, NULL), 1,
	    "%s", out);
	free(out);
	cr_assert_eq(run(&out, "audit", "follow", e.log, "--key", e.pub, NULL), 1,
	    "%s", out);
	free(out);
}

Test(audit_cli, stats_counts_per_client_and_channel)
{
	char *out, *line, *save;
	struct th_env e;
	json_t *r;
	int rows = 0;

	th_setup(&e);
	th_write_log(&e, 30, 100);
	cr_assert_eq(run(&out, "audit", "stats", e.log, "--json", NULL), 0);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		r = json_loads(line, 0, NULL);
		cr_assert_not_null(r, "%s", line);
		cr_assert_str_eq(json_string_value(json_object_get(r, "client")), "main");
		/* i = 0..29: channel file:read for even i, notes:list for odd;
		 * allow i%3==0, deny i%3==1, error i%3==2 */
		cr_assert_eq(json_integer_value(json_object_get(r, "allowed")), 5);
		cr_assert_eq(json_integer_value(json_object_get(r, "denied")), 5);
		cr_assert_eq(json_integer_value(json_object_get(r, "errors")), 5);
		cr_assert_eq(json_integer_value(json_object_get(
		    json_object_get(r, "denied_by_reason"), "schema")), 5);
		cr_assert_gt(json_number_value(json_object_get(r, "p99_us")),
		    json_number_value(json_object_get(r, "p50_us")));
		json_decref(r);
		rows++;
	}
	cr_assert_eq(rows, 2);
	free(out);
}

Test(audit_cli, follow_stops_at_clean_shutdown_or_max_records)
{
	char *out;
	struct th_env e;
	struct th_lines l;

	th_setup(&e);
	th_write_log(&e, 12, 5);
	cr_assert_eq(run(&out, "audit", "follow", e.log, "--key", e.pub, NULL), 0);
	cr_assert_eq(count_lines(out), 1 + 12 + 3);
	free(out);
	/* two runs: the first run's final seal is not the end */
	th_write_log(&e, 2, 5);
	cr_assert_eq(run(&out, "audit", "follow", e.log, "--key", e.pub, NULL), 0);
	cr_assert_eq(count_lines(out), 1 + 12 + 3 + 1 + 2 + 1);
	free(out);
	cr_assert_eq(run(&out, "audit", "follow", e.log, "--max-records", "3",
	    "--decision", "deny", NULL), 0);
	cr_assert_eq(count_lines(out), 3);
	free(out);
	th_read_lines(e.log, &l);
	l.line[4][strlen(l.line[4]) - 5] ^= 1;      /* in the first run */
	th_write_lines(e.log, &l);
	th_free_lines(&l);
	cr_assert_eq(run(&out, "audit", "follow", e.log, NULL), 1);
	free(out);
}

/* follow on a log that is still being written: it prints what comes and
 * exits at the writer's clean-shutdown seal. */
Test(audit_cli, follow_a_growing_log)
{
	struct cg_audit_config cfg;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	char buf[65536];
	size_t len = 0;
	ssize_t n;
	int pipefd[2], status;
	pid_t pid;

	th_setup(&e);
	cfg = th_config(&e, 4);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	th_decisions(a, 3, 1);
	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execl(tool(), tool(), "audit", "follow", e.log, "--key", e.pub,
		    (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	usleep(300000);
	th_decisions(a, 6, 10);
	usleep(200000);
	cr_assert_eq(audit_close(a), 0);
	while ((n = read(pipefd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* header + 9 records + 2 seals + final seal */
	cr_assert_eq(count_lines(buf), 13, "%s", buf);
}

/* `audit follow` in the background; its stdout is the returned fd. */
static pid_t
follow_start(const struct th_env *e, int *out_fd)
{
	int pipefd[2];
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		alarm(60);      /* a watchdog: a follower that never ends fails */
		execl(tool(), tool(), "audit", "follow", e->log, "--key", e->pub,
		    (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	*out_fd = pipefd[0];
	return pid;
}

/* Reads the follower's output until it has printed `lines` lines. */
static void
follow_wait_lines(int fd, size_t lines)
{
	size_t seen = 0;
	char c;

	while (seen < lines) {
		cr_assert_eq(read(fd, &c, 1), 1, "the follower ended after %zu "
		    "lines", seen);
		seen += c == '\n';
	}
}

/* The rest of the follower's output, and its exit status. */
static int
follow_finish(pid_t pid, int fd, size_t *lines)
{
	char buf[4096];
	ssize_t n;
	int status;

	*lines = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			*lines += buf[i] == '\n';
	close(fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "the follower was killed");
	return WEXITSTATUS(status);
}

/*
 * A writer died mid-record while followed; the next run cuts the torn
 * bytes off and writes its open record where they were. The follower had
 * read those bytes: it must drop them and read the open record, not glue
 * the two into a line that fails, and end as verify does: 2, unclean.
 */
Test(audit_cli, follow_across_a_torn_record_cut_by_the_next_run)
{
	struct th_env e;
	size_t rest;
	char *out;
	pid_t pid;
	FILE *f;
	int fd;

	th_setup(&e);
	th_write_log(&e, 5, 10);
	f = fopen(e.log, "a");
	fputs("{\"n\":7,\"t\":\"2026-", f);   /* a record cut short */
	fclose(f);
	pid = follow_start(&e, &fd);
	/* header, 5 records, the final seal: the read that got them got the
	 * torn bytes too */
	follow_wait_lines(fd, 7);
	th_write_log(&e, 2, 10);
	cr_assert_eq(follow_finish(pid, fd, &rest), 2);
	cr_assert_eq(rest, 1 + 2 + 1, "the second run's lines");
	cr_assert_eq(run(&out, "audit", "verify", e.log, "--key", e.pub, NULL), 2,
	    "%s", out);
	free(out);
}

/* Lines already read and checked, then removed in place: the follower
 * says so and fails instead of reading on from a stale offset. */
Test(audit_cli, follow_fails_when_read_lines_are_truncated_away)
{
	struct cg_audit_config cfg;
	struct cg_error err;
	struct cg_audit *a;
	struct th_env e;
	struct stat st;
	size_t rest;
	pid_t pid;
	int fd;

	th_setup(&e);
	cfg = th_config(&e, 100);
	cg_error_clear(&err);
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a, "%s", err.msg);
	th_decisions(a, 10, 1);
	pid = follow_start(&e, &fd);
	follow_wait_lines(fd, 11);
	cr_assert_eq(stat(e.log, &st), 0);
	cr_assert_eq(truncate(e.log, st.st_size / 2), 0);
	cr_assert_eq(follow_finish(pid, fd, &rest), 1);
	cr_assert_eq(audit_close(a), 0);
}

/* Without --key the first key is taken from the log: an intact log ends
 * with 0 (the verdict says the key was trusted); an earlier unclean run
 * ends with 2, as with verify. */
Test(audit_cli, follow_exit_codes_match_verify)
{
	struct th_env e;
	char *out;
	FILE *f;

	th_setup(&e);
	th_write_log(&e, 6, 4);
	cr_assert_eq(run(&out, "audit", "follow", e.log, NULL), 0, "%s", out);
	free(out);
	f = fopen(e.log, "a");
	fputs("{\"n\":", f);
	fclose(f);
	th_write_log(&e, 2, 4);
	cr_assert_eq(run(&out, "audit", "verify", e.log, "--key", e.pub, NULL), 2);
	free(out);
	cr_assert_eq(run(&out, "audit", "follow", e.log, "--key", e.pub, NULL), 2);
	free(out);
	cr_assert_eq(run(&out, "audit", "follow", e.log, NULL), 2);
	free(out);
}

Test(audit_cli, help_and_usage)
{
	static const char *const subs[] = { "verify", "show", "stats", "follow" };
	char *out;
	size_t i;

	for (i = 0; i < 4; i++) {
		cr_assert_eq(run(&out, "audit", subs[i], "--help", NULL), 0);
		cr_assert(strstr(out, "usage: capgate audit") != NULL, "%s", out);
		free(out);
	}
	cr_assert_eq(run(&out, "keygen", "--help", NULL), 0);
	cr_assert(strstr(out, "BASENAME.key") != NULL);
	free(out);
	cr_assert_eq(run(&out, "audit", "--help", NULL), 0);
	free(out);
	cr_assert_eq(run(&out, "audit", "frobnicate", NULL), 64);
	free(out);
	cr_assert_eq(run(&out, "audit", "show", NULL), 64);
	free(out);
	cr_assert_eq(run(&out, "audit", "verify", "x", "--max-records", "3", NULL), 64,
	    "follow's options are not verify's");
	free(out);
}

/* Stats over many distinct (client, channel) pairs, each seen twice with
 * the pairs interleaved: the row index finds every repeat through its
 * growth, and the rows come out sorted, one per pair. */
/* A log with a new denial reason on every line: the first ones are
 * counted each, the rest together, and every denial is counted once. */
Test(audit_cli, stats_bounds_the_reasons_of_a_row)
{
	struct cg_audit_stats s = { 0 };
	uint64_t total = 0, other = 0;
	char text[256];

	for (int i = 0; i < 5000; i++) {
		json_t *rec;

		snprintf(text, sizeof(text), "{\"ev\":\"decision\",\"client\":"
		    "\"c\",\"channel\":\"ch\",\"decision\":\"deny\","
		    "\"reason\":\"r%d\"}", i < 100 ? i % 10 : i);
		rec = json_loads(text, 0, NULL);
		cr_assert_not_null(rec);
		cr_assert_eq(audit_stats_add(&s, rec), 0);
		json_decref(rec);
	}
	audit_stats_finish(&s);
	cr_assert_eq(s.nrows, 1);
	cr_assert_eq(s.rows[0].denied, 5000);
	cr_assert_eq(s.rows[0].nreasons, AUDIT_STATS_REASONS_MAX);
	for (size_t j = 0; j < s.rows[0].nreasons; j++) {
		total += s.rows[0].reasons[j].count;
		if (strcmp(s.rows[0].reasons[j].reason, "r3") == 0)
			cr_assert_eq(s.rows[0].reasons[j].count, 10);
		if (strcmp(s.rows[0].reasons[j].reason,
		    AUDIT_STATS_OTHER_REASONS) == 0)
			other = s.rows[0].reasons[j].count;
	}
	cr_assert_eq(total, 5000);
	/* r0..r9 ten times each, then r100.. r152 once each, then the rest */
	cr_assert_eq(other, 5000 - 100 - (AUDIT_STATS_REASONS_MAX - 1 - 10));
	audit_stats_free(&s);
}

Test(audit_cli, stats_rows_over_many_distinct_channels)
{
	struct cg_audit_stats s = { 0 };
	char text[256];

	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 3000; i++) {
			json_t *rec;

			snprintf(text, sizeof(text), "{\"ev\":\"decision\","
			    "\"client\":\"c%d\",\"channel\":\"ch%d\","
			    "\"decision\":\"deny\",\"reason\":\"r%d\"}", i % 7, i,
			    round);
			rec = json_loads(text, 0, NULL);
			cr_assert_not_null(rec);
			cr_assert_eq(audit_stats_add(&s, rec), 0);
			json_decref(rec);
		}
	audit_stats_finish(&s);
	cr_assert_eq(s.nrows, 3000);
	for (size_t i = 0; i < s.nrows; i++) {
		cr_assert_eq(s.rows[i].denied, 2, "%s %s", s.rows[i].client,
		    s.rows[i].channel);
		cr_assert_eq(s.rows[i].nreasons, 2);
		if (i > 0) {
			int c = strcmp(s.rows[i - 1].client, s.rows[i].client);
			cr_assert(c < 0 || (c == 0 && strcmp(s.rows[i - 1].channel,
			    s.rows[i].channel) < 0));
		}
	}
	audit_stats_free(&s);
}
