/*
 * Crashes and full disks. A writer killed with SIGKILL leaves a log that
 * verifies as intact up to its last complete record and is reported as
 * ended uncleanly (exit 2), never as tampered and never as a pass; the next
 * run cuts off a torn record and continues the chain. A write that fails
 * (RLIMIT_FSIZE stands in for a full disk) makes the writer fail for good.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit/internal.h"
#include "helpers.h"

TestSuite(audit_crash, .fini = th_cleanup);

/* Starts the crash writer, sealing every `every` records, waits until
 * `ready` records are on disk, lets it run for delay_us more, then kills
 * it with SIGKILL. */
static void
run_and_kill_every(const struct th_env *e, int ready, long delay_us,
    const char *every)
{
	const char *tool = getenv("AUDIT_CRASHWRITER");
	char nready[16], buf[16];
	int pipefd[2], status;
	pid_t pid;

	cr_assert_not_null(tool, "AUDIT_CRASHWRITER not set (run via meson test)");
	snprintf(nready, sizeof(nready), "%d", ready);
	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		execl(tool, tool, e->log, e->key, nready, every, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	cr_assert_eq(read(pipefd[0], buf, 6), 6, "the writer did not get ready");
	cr_assert_eq(memcmp(buf, "ready\n", 6), 0);
	usleep((useconds_t)delay_us);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "the writer was not killed mid-stream");
	close(pipefd[0]);
}

static void
run_and_kill(const struct th_env *e, int ready, long delay_us)
{
	run_and_kill_every(e, ready, delay_us, "7");
}

Test(audit_crash, kill9_leaves_an_intact_but_unclean_log)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	struct th_lines l;
	int round;

	for (round = 0; round < 6; round++) {
		th_setup(&e);
		run_and_kill(&e, 20, round * 700);
		cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN,
		    "round %d: verdict %d at line %llu: %s", round, res.verdict,
		    (unsigned long long)res.line, res.msg);
		th_read_lines(e.log, &l);
		/* the last complete record is named (or the torn one after it) */
		cr_assert_eq(res.line, l.n, "round %d: %s", round, res.msg);
		cr_assert_geq(l.n, 21);
		cr_assert_gt(res.sealed_line, 0);
		th_free_lines(&l);
	}
}

Test(audit_crash, next_run_resumes_after_a_crash)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	struct th_lines l;
	size_t hdr;
	uint64_t crashed_at;

	th_setup(&e);
	run_and_kill(&e, 30, 1000);
	th_read_lines(e.log, &l);
	crashed_at = l.torn ? l.n - 1 : l.n;
	th_free_lines(&l);
	th_write_log(&e, 15, 10);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN, "%d: %s", res.verdict,
	    res.msg);
	th_read_lines(e.log, &l);
	hdr = th_find(&l, "\"resume\":\"unclean\"", 1);
	cr_assert_neq(hdr, (size_t)-1, "the new segment says the last one crashed");
	/* the report names the crashed segment's last line (or the header
	 * that dropped its torn record) */
	cr_assert(res.line == crashed_at || res.line == hdr + 1,
	    "line %llu (crash at %llu, header %zu): %s",
	    (unsigned long long)res.line, (unsigned long long)crashed_at, hdr + 1,
	    res.msg);
	cr_assert(strstr(l.line[l.n - 1], "\"final\":true") != NULL);
	th_free_lines(&l);
}

/* A writer that stops without closing after `count` decisions, sealing
 * every `every`: what a crash between two records leaves. */
static void
write_and_stop(const struct th_env *e, int count, uint32_t every)
{
	int status;
	pid_t pid = fork();

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct cg_audit_config cfg = th_config(e, every);
		struct cg_error err;
		struct cg_audit *a = audit_open(&cfg, "00ff", &err);

		if (a == NULL)
			_exit(1);
		th_decisions(a, count, 1);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The last line holding needle, counted from 1; 0 if none. */
static size_t
last_line_with(const struct th_lines *l, const char *needle)
{
	size_t i;

	for (i = l->n; i > 0; i--)
		if (strstr(l->line[i - 1], needle) != NULL)
			return i;
	return 0;
}

/*
 * Records a crashed run wrote after its last seal were never signed by it:
 * a later run's seals cover them as they stood when it resumed, and anyone
 * who could write the log in between could have changed them. The verdict
 * names that stretch instead of reading "sealed up to" the end alone; a
 * run that stopped right after a seal has no such stretch.
 */
Test(audit_crash, unsigned_records_of_a_crashed_run_are_named)
{
	struct cg_audit_verify_result res;
	char want[400];
	struct th_env e;
	struct th_lines l;
	size_t seal, last;

	th_setup(&e);
	write_and_stop(&e, 23, 10);
	th_read_lines(e.log, &l);
	seal = last_line_with(&l, "\"ev\":\"seal\"");
	last = l.n;
	th_free_lines(&l);
	cr_assert(seal > 0 && seal + 3 == last, "seal at %zu, last %zu", seal, last);
	th_write_log(&e, 5, 10);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN, "%d: %s", res.verdict,
	    res.msg);
	cr_assert_eq(res.line, last, "%s", res.msg);
	snprintf(want, sizeof(want), "never signed its records after %s:%zu;",
	    e.log, seal);
	cr_assert(strstr(res.msg, want) != NULL, "%s", res.msg);

	th_setup(&e);
	write_and_stop(&e, 20, 10);
	th_read_lines(e.log, &l);
	last = l.n;
	cr_assert_eq(last_line_with(&l, "\"ev\":\"seal\""), last);
	th_free_lines(&l);
	th_write_log(&e, 5, 10);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN, "%s", res.msg);
	cr_assert_eq(res.line, last, "%s", res.msg);
	cr_assert(strstr(res.msg, "right after its last seal") != NULL, "%s",
	    res.msg);
}

/*
 * The writer checks the last 64 KiB of a log first and reads a mebibyte
 * only when those hold no open or seal record (audit/open.c,
 * TAIL_FIRST_WINDOW). A run killed more than 64 KiB of records after its
 * open record, possibly mid-record, takes that second path; the next run
 * must still cut the torn record off and continue the chain.
 */
Test(audit_crash, resume_reads_past_the_first_window)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	struct th_lines l;
	size_t tail = 0, i;
	uint64_t crashed_at;

	th_setup(&e);
	th_write_log(&e, 10, 3);
	run_and_kill_every(&e, 300, 500, "1000000");
	th_read_lines(e.log, &l);
	crashed_at = l.torn ? l.n - 1 : l.n;
	/* the premise: no open or seal record in the last 64 KiB */
	for (i = l.n; i > 0 && tail < 64u * 1024u; i--) {
		tail += strlen(l.line[i - 1]) + 1;
		cr_assert_null(strstr(l.line[i - 1], "\"ev\":\"open\""), "line %zu", i);
		cr_assert_null(strstr(l.line[i - 1], "\"ev\":\"seal\""), "line %zu", i);
	}
	cr_assert_geq(tail, 64u * 1024u, "the crashed run wrote too little");
	th_free_lines(&l);
	th_write_log(&e, 5, 3);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN, "%d at line %llu: %s",
	    res.verdict, (unsigned long long)res.line, res.msg);
	th_read_lines(e.log, &l);
	cr_assert(res.line == crashed_at || res.line == crashed_at + 1,
	    "line %llu, crash at %llu: %s", (unsigned long long)res.line,
	    (unsigned long long)crashed_at, res.msg);
	cr_assert_neq(th_find(&l, "\"resume\":\"unclean\"", 1), (size_t)-1);
	cr_assert(strstr(l.line[l.n - 1], "\"final\":true") != NULL);
	th_free_lines(&l);
}

Test(audit_crash, torn_record_is_cut_off_and_counted)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	struct th_lines l;
	FILE *f;

	th_setup(&e);
	th_write_log(&e, 5, 10);
	f = fopen(e.log, "a");
	fputs("{\"n\":7,\"t\":\"2026-", f);       /* a record cut short */
	fclose(f);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN);
	cr_assert_eq(res.line, 8);   /* header, 5 records, final seal, torn */
	cr_assert(strstr(res.msg, "incomplete") != NULL, "%s", res.msg);
	th_write_log(&e, 2, 10);
	th_read_lines(e.log, &l);
	cr_assert(!l.torn);
	cr_assert(strstr(l.line[7], "\"ev\":\"open\"") != NULL, "%s", l.line[7]);
	cr_assert(strstr(l.line[7], "\"dropped\":17") != NULL, "%s", l.line[7]);
	th_free_lines(&l);
	/* bytes were lost, so the log is not a clean pass */
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN, "%s", res.msg);
	cr_assert_eq(res.line, 8);
}

Test(audit_crash, writer_refuses_to_extend_a_broken_tail)
{
	struct cg_audit_config cfg;
	struct cg_error err;
	struct th_env e;
	struct th_lines l;
	char *p;

	th_setup(&e);
	th_write_log(&e, 5, 10);
	th_read_lines(e.log, &l);
	p = strstr(l.line[l.n - 2], "\"prev\":\"");
	p[9] = p[9] == '0' ? '1' : '0';
	th_write_lines(e.log, &l);
	th_free_lines(&l);
	cfg = th_config(&e, 10);
	cg_error_clear(&err);
	cr_assert_null(audit_open(&cfg, "aa", &err));
	cr_assert(strstr(err.msg, "does not chain") != NULL, "%s", err.msg);
}

/* The tail check reads most lines without a JSON parse (audit/open.c,
 * quick_fields): every link it reads that way must still be checked. Each
 * line in turn gets its "n" or one digit of its "prev" changed, or is
 * dropped, or swapped with the next; the writer must refuse each log. */
Test(audit_crash, writer_refuses_every_broken_link)
{
	struct cg_audit_config cfg;
	struct cg_error err;
	struct th_env e;
	struct th_lines l;
	struct cg_audit *a;
	char num[32], *saved, *p;

	th_setup(&e);
	th_write_log(&e, 12, 5);    /* open, decisions, seals in between */
	th_read_lines(e.log, &l);
	cr_assert_geq(l.n, 15);
	cfg = th_config(&e, 5);
	for (size_t i = 0; i < l.n; i++) {
		for (int how = 0; how < 4; how++) {
			struct th_lines t = l;
			char *lines[64];

			cr_assert_lt(l.n, 64);
			memcpy(lines, l.line, l.n * sizeof(char *));
			t.line = lines;
			saved = NULL;
			if (how == 0) {             /* another record number */
				unsigned long long n = strtoull(l.line[i] + 5, &p, 10);
				snprintf(num, sizeof(num), "%llu", n + 2);
				saved = malloc(strlen(l.line[i]) + 32);
				sprintf(saved, "{\"n\":%s%s", num, p);
				lines[i] = saved;
			} else if (how == 1) {      /* one digit of prev */
				saved = strdup(l.line[i]);
				p = strstr(saved, "\"prev\":\"") + 8;
				p[20] = p[20] == 'a' ? 'b' : 'a';
				lines[i] = saved;
			} else if (how == 2) {      /* dropped */
				/* not the first (the tail check does not ask for
				 * an open record first: verify does) nor the last
				 * (a cut tail looks like a shorter log) */
				if (i == 0 || i == l.n - 1)
					continue;
				memmove(lines + i, lines + i + 1, (l.n - i - 1) * sizeof(char *));
				t.n = l.n - 1;
			} else {                    /* swapped with the next */
				if (i + 1 >= l.n)
					continue;
				lines[i] = l.line[i + 1];
				lines[i + 1] = l.line[i];
			}
			th_write_lines(e.log, &t);
			cg_error_clear(&err);
			a = audit_open(&cfg, "aa", &err);
			cr_expect_null(a, "line %zu, change %d: the writer extended a "
			    "broken tail", i, how);
			if (a != NULL)
				audit_close(a);
			free(saved);
		}
	}
	th_write_lines(e.log, &l);
	th_free_lines(&l);
}

/* RLIMIT_FSIZE with SIGXFSZ ignored: write() fails with EFBIG, as it would
 * with ENOSPC on a full disk. */
Test(audit_crash, full_disk_fails_the_writer)
{
	struct cg_audit_config cfg;
	struct cg_audit_decision d;
	struct cg_audit_verify_result res;
	struct cg_error err;
	struct cg_audit *a;
	struct rlimit rl;
	struct stat st;
	struct th_env e;
	int i, rc = 0;

	th_setup(&e);
	cfg = th_config(&e, 1000);
	cfg.sync = CG_AUDIT_SYNC_EVERY;
	a = audit_open(&cfg, "aa", &err);
	cr_assert_not_null(a);
	th_decisions(a, 3, 1);
	cr_assert_eq(stat(e.log, &st), 0);
	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = (rlim_t)st.st_size + 1500;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	memset(&d, 0, sizeof(d));
	d.client = "main";
	d.channel = "demo:echo";
	d.decision = CG_DECISION_ALLOW;
	for (i = 0; i < 100 && rc == 0; i++) {
		rc = audit_append_decision(a, &d);
		if (rc == 0)
			rc = audit_commit(a);
	}
	cr_assert_eq(rc, -1, "writes past the limit must fail");
	cr_assert_eq(audit_failed(a), 1);
	cr_assert_eq(audit_append_decision(a, &d), -1, "failure is sticky");
	cr_assert_eq(audit_commit(a), -1);
	cr_assert_eq(audit_close(a), -1);
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	/* the torn write was cut back: what is there is intact, not closed */
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN, "%d: %s", res.verdict,
	    res.msg);
}

/* Crash, resume, crash again: the key file catches up each time and the
 * log stays intact (exit 2 for the unclean runs, never exit 1). */
Test(audit_crash, repeated_crashes_and_resumes)
{
	struct cg_audit_verify_result res;
	struct th_env e;
	int round;

	th_setup(&e);
	for (round = 0; round < 4; round++) {
		run_and_kill(&e, 10, round * 500);
		cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN,
		    "round %d: verdict %d at line %llu: %s", round, res.verdict,
		    (unsigned long long)res.line, res.msg);
	}
	th_write_log(&e, 3, 10);
	cr_assert_eq(th_verify(&e, &res), CG_AUDIT_UNCLEAN, "%s", res.msg);
	cr_assert_eq(res.segments, 5);
	cr_assert(strstr(res.msg, "a run ended uncleanly") != NULL, "%s", res.msg);
}
