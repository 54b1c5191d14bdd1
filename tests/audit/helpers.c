#include "helpers.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"

static char cleanup_dirs[64][256];
static int ncleanup;
static pid_t cleanup_pid;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Scratch directories go when the test process exits (a failing test's
 * directory goes too; rerun it with --debug to keep state in view). */
void
th_cleanup(void)
{
	int i;

	if (getpid() != cleanup_pid)
		return;
	for (i = 0; i < ncleanup; i++)
		nftw(cleanup_dirs[i], rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ncleanup = 0;
}

void
th_setup(struct th_env *e)
{
	struct cg_error err;
	char base[280];

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "/tmp/cg-audit-test-XXXXXX");
	cr_assert_not_null(mkdtemp(e->dir));
	if (ncleanup == 0) {
		cleanup_pid = getpid();
		atexit(th_cleanup);
	}
	if (ncleanup < 64)
		snprintf(cleanup_dirs[ncleanup++], sizeof(cleanup_dirs[0]), "%s", e->dir);
	snprintf(base, sizeof(base), "%s/k", e->dir);
	snprintf(e->key, sizeof(e->key), "%s.key", base);
	snprintf(e->pub, sizeof(e->pub), "%s.pub", base);
	snprintf(e->log, sizeof(e->log), "%s/audit.log", e->dir);
	cg_error_clear(&err);
	cr_assert_eq(audit_keygen(base, &err), 0, "keygen: %s", err.msg);
	cr_assert_eq(audit_key_load_public(e->pub, e->pk, &err), 0, "%s", err.msg);
}

struct cg_audit_config
th_config(const struct th_env *e, uint32_t every)
{
	struct cg_audit_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.path = e->log;
	cfg.key_path = e->key;
	cfg.sync = CG_AUDIT_SYNC_BATCH;
	cfg.checkpoint_every = every;
	return cfg;
}

void
th_decisions(struct cg_audit *a, int count, int first_req)
{
	unsigned char digest[AUDIT_DIGEST_LEN];
	struct cg_audit_decision d;
	int i;

	for (i = 0; i < count; i++) {
		memset(&d, 0, sizeof(d));
		d.client = "main";
		d.pid = 4242;
		d.channel = i % 2 ? "notes:list" : "file:read";
		d.kind = "invoke";
		d.request_id = (uint32_t)(first_req + i);
		d.decision = (enum cg_decision)(i % 3 == 0 ? CG_DECISION_ALLOW :
		    i % 3 == 1 ? CG_DECISION_DENY : CG_DECISION_ERROR);
		d.reason = i % 3 == 0 ? "ok" : i % 3 == 1 ? "schema" : "handler-failed";
		d.pointer = i % 3 == 1 ? "/path" : NULL;
		d.latency_ns = 1000u + (uint64_t)i * 10u;
		audit_digest(a, &i, sizeof(i), digest);
		d.digest = digest;
		cr_assert_eq(audit_append_decision(a, &d), 0);
		cr_assert_eq(audit_commit(a), 0);
	}
}

void
th_write_log(const struct th_env *e, int count, uint32_t every)
{
	struct cg_audit_config cfg = th_config(e, every);
	struct cg_error err;
	struct cg_audit *a;

	cg_error_clear(&err);
	a = audit_open(&cfg, "00ff", &err);
	cr_assert_not_null(a, "audit_open: %s", err.msg);
	th_decisions(a, count, 1);
	cr_assert_eq(audit_close(a), 0);
}

void
th_read_lines(const char *path, struct th_lines *l)
{
	char *text, *p, *nl;
	size_t len;

	memset(l, 0, sizeof(*l));
	cr_assert_eq(cg_read_file(path, 64u << 20, &text, &len), 0, "%s", path);
	l->line = calloc(len + 1, sizeof(char *));
	for (p = text; p < text + len; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (nl == NULL) {
			l->torn = 1;
			nl = text + len;
		}
		l->line[l->n++] = strndup(p, (size_t)(nl - p));
	}
	free(text);
}

void
th_write_lines(const char *path, const struct th_lines *l)
{
	FILE *f = fopen(path, "w");
	size_t i;

	cr_assert_not_null(f);
	for (i = 0; i < l->n; i++)
		fprintf(f, i + 1 == l->n && l->torn ? "%s" : "%s\n", l->line[i]);
	cr_assert_eq(fclose(f), 0);
}

void
th_free_lines(struct th_lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->line[i]);
	free(l->line);
	memset(l, 0, sizeof(*l));
}

void
th_set_line(struct th_lines *l, size_t i, const char *s)
{
	free(l->line[i]);
	l->line[i] = strdup(s);
}

size_t
th_find(const struct th_lines *l, const char *needle, size_t from)
{
	size_t i;

	for (i = from; i < l->n; i++)
		if (strstr(l->line[i], needle) != NULL)
			return i;
	return (size_t)-1;
}

enum cg_audit_verdict
th_verify(const struct th_env *e, struct cg_audit_verify_result *res)
{
	const char *files[] = { e->log };

	return audit_verify_files(files, 1, e->pk, res);
}

int
th_run(char *const argv[], char **out)
{
	int pipefd[2], status;
	size_t len = 0, cap = 4096;
	ssize_t n;
	pid_t pid;

	cr_assert_eq(pipe(pipefd), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		close(pipefd[1]);
		/* a watchdog, not a time limit on the answer: a tool that blocks
		 * (on a FIFO, say) is killed and the run counts as failed */
		alarm(60);
		execv(argv[0], argv);
		_exit(127);
	}
	close(pipefd[1]);
	*out = malloc(cap);
	while ((n = read(pipefd[0], *out + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2)
			*out = realloc(*out, cap *= 2);
	}
	(*out)[len] = '\0';
	close(pipefd[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
