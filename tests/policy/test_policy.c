/*
 * The policy loader: every file in invalid/ must fail with the position and
 * message in its .expect file ("LINE:COL: text"); every file in valid/ and
 * the shipped policies/ must load.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/handlers.h"
#include "policy/policy.h"

#ifndef POLICY_TEST_DIR
#error POLICY_TEST_DIR must be defined
#endif

static char *
slurp_line(const char *path)
{
	static char line[512];
	FILE *f = fopen(path, "r");

	cr_assert_not_null(f, "cannot open %s", path);
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return line;
}

Test(policy, invalid_files_fail_at_their_position)
{
	DIR *d = opendir(POLICY_TEST_DIR "/invalid");
	struct dirent *e;
	int checked = 0;

	cr_assert_not_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[1024], expect_path[1024], msg[2048], want[1200];
		struct cg_error err;
		struct cg_policy *p;
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/invalid/%s", POLICY_TEST_DIR, e->d_name);
		snprintf(expect_path, sizeof(expect_path), "%.*s.expect",
		    (int)(strlen(path) - 5), path);
		p = policy_load(path, handler_check, &err);
		cr_expect_null(p, "%s loaded but must fail", e->d_name);
		policy_free(p);
		cg_error_format(&err, msg, sizeof(msg));
		char *exp = slurp_line(expect_path);
		char *colon2 = strchr(strchr(exp, ':') + 1, ':');
		snprintf(want, sizeof(want), "%s:%.*s", path, (int)(colon2 - exp + 1), exp);
		cr_expect(strncmp(msg, want, strlen(want)) == 0,
		    "%s: got \"%s\", want prefix \"%s\"", e->d_name, msg, want);
		cr_expect(strstr(msg, colon2 + 1) != NULL,
		    "%s: got \"%s\", want text \"%s\"", e->d_name, msg, colon2 + 1);
		checked++;
	}
	closedir(d);
	cr_assert_geq(checked, 15, "only %d invalid policies found", checked);
}

static void
load_all_in(const char *dir, int min)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "cannot open %s", dir);
	while ((e = readdir(d)) != NULL) {
		char path[1024], msg[2048];
		struct cg_error err;
		struct cg_policy *p;
		size_t len = strlen(e->d_name);

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		p = policy_load(path, handler_check, &err);
		cg_error_format(&err, msg, sizeof(msg));
		cr_expect_not_null(p, "%s must load: %s", path, msg);
		policy_free(p);
		n++;
	}
	closedir(d);
	cr_assert_geq(n, min);
}

Test(policy, valid_and_shipped_policies_load)
{
	load_all_in(POLICY_TEST_DIR "/valid", 1);
	load_all_in(POLICY_SHIPPED_DIR, 1);
}

Test(policy, grants_and_lookup)
{
	struct cg_error err;
	struct cg_policy *p = policy_load(POLICY_TEST_DIR "/valid/two-clients.json",
	    handler_check, &err);
	const struct cg_client_policy *ui, *worker;
	int echo, time_ch, log_ch;

	cr_assert_not_null(p, "%s", err.msg);
	ui = policy_client(p, "ui");
	worker = policy_client(p, "worker");
	cr_assert_not_null(ui);
	cr_assert_not_null(worker);
	cr_assert_null(policy_client(p, "nobody"));
	echo = policy_channel_index(p, "ui:echo", 7);
	time_ch = policy_channel_index(p, "ui:time", 7);
	log_ch = policy_channel_index(p, "worker:log", 10);
	cr_assert(echo >= 0 && time_ch >= 0 && log_ch >= 0);
	cr_assert_eq(policy_channel_index(p, "ui:ech", 6), -1);
	cr_assert_eq(policy_channel_index(p, "ui:echo2", 8), -1);
	/* "ui:*" grants both ui channels and nothing else */
	cr_assert_geq(ui->slot[echo], 0);
	cr_assert_geq(ui->slot[time_ch], 0);
	cr_assert_lt(ui->slot[log_ch], 0);
	cr_assert_lt(worker->slot[echo], 0);
	cr_assert_geq(worker->slot[log_ch], 0);
	cr_assert_eq(p->channels[echo].rate.per_sec, 10.0);
	cr_assert_eq(p->channels[time_ch].uses, 1);
	cr_assert_eq(p->channels[time_ch].after, echo);
	policy_free(p);
}

Test(policy, ten_thousand_channels_load)
{
	char path[] = "/tmp/capgate-policy-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct cg_error err;
	struct cg_policy *p;

	cr_assert_not_null(f);
	fprintf(f, "{\"capgate\":1,\"channels\":{");
	for (int i = 0; i < 10000; i++)
		fprintf(f, "%s\"ch:%d\":{\"kind\":\"invoke\",\"to\":\"builtin:echo\"}",
		    i ? "," : "", i);
	fprintf(f, "}}");
	fclose(f);
	p = policy_load(path, handler_check, &err);
	unlink(path);
	cr_assert_not_null(p, "%s", err.msg);
	cr_assert_eq(p->nchannels, 10000);
	for (int i = 0; i < 10000; i += 997) {
		char name[32];
		snprintf(name, sizeof(name), "ch:%d", i);
		cr_assert_eq(policy_channel_index(p, name, strlen(name)), i);
	}
	cr_assert_eq(p->clients[0].nslots, 10000);
	policy_free(p);
}
