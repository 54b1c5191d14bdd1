/*
 * capgate policy check|show: the policy author's tools.
 *
 * check loads each file exactly as `capgate run` does (so what check
 * accepts, run accepts, and the other way round), then adds the linter's
 * warnings. show prints what the loader made of the grants: per client,
 * every channel it can reach, with its effective limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "gateway/commands.h"
#include "gateway/handlers.h"
#include "gateway/options.h"
#include "policy/policy.h"
#include "sandbox/sandbox.h"

struct check_opts {
	bool strict;
	bool quiet;
};

static const struct cg_option check_options[] = {
	{ "strict", 0, NULL, "exit 1 if there is any warning" },
	{ "quiet", 'q', NULL, "print errors and warnings only" },
	{ NULL, 0, NULL, NULL },
};

static int
check_option(void *ctx, int index, const char *arg)
{
	struct check_opts *o = ctx;

	(void)arg;
	if (index == 0)
		o->strict = true;
	else if (index == 1)
		o->quiet = true;
	else
		return -1;
	return 0;
}

static void
print_warning(void *ctx, const char *pointer, int line, int column,
    const char *msg)
{
	const char *path = ctx;

	(void)pointer;
	if (line > 0)
		fprintf(stderr, "%s:%d:%d: warning: %s\n", path, line, column, msg);
	else
		fprintf(stderr, "%s: warning: %s\n", path, msg);
}

static void
print_error(const struct cg_error *err, const char *path)
{
	if (err->line > 0)
		fprintf(stderr, "%s:%d:%d: error: %s\n", path, err->line,
		    err->column, err->msg);
	else
		fprintf(stderr, "%s: error: %s\n", path, err->msg);
}

static void
report_error(void *ctx, const struct cg_error *err)
{
	print_error(err, ctx);
}

/* The seccomp filters that were not compiled at build time are compiled
 * on threads while the policy loads (sandbox_config_compiled): a filter
 * that does not compile is an error here too, not only when a client
 * starts. */
static int
check_filters(const struct cg_policy *p, struct cg_error *err)
{
	if (sandbox_config_compiled(p->sandbox, err) != 0)
		return -1;
	for (size_t i = 0; i < p->nbackends; i++)
		if (p->backends[i].sandbox != NULL &&
		    sandbox_config_compiled(p->backends[i].sandbox, err) != 0)
			return -1;
	return 0;
}

/* 0 clean, 1 error, 2 warnings only. */
static int
check_one(const char *path, const struct check_opts *o)
{
	struct cg_error err;
	struct cg_policy *p = policy_load_all(path, handler_check, report_error,
	    (void *)(uintptr_t)path, &err);
	int warnings;

	if (p == NULL)
		return 1;
	cg_error_clear(&err);
	if (check_filters(p, &err) != 0) {
		print_error(&err, path);
		policy_free(p);
		return 1;
	}
	warnings = policy_lint(p, print_warning, (void *)(uintptr_t)path, &err);
	if (warnings < 0) {
		print_error(&err, path);
		policy_free(p);
		return 1;
	}
	if (!o->quiet)
		printf("%s: ok (%zu channels, %zu clients, %d warning%s, policy "
		    "%.16s)\n", path, p->nchannels, p->nclients, warnings,
		    warnings == 1 ? "" : "s", p->hash);
	policy_free(p);
	return warnings > 0 ? 2 : 0;
}

static int
policy_check(int argc, char **argv)
{
	struct check_opts o = { false, false };
	int first = options_parse("policy check", argc, argv, check_options,
	    check_option, &o);
	int errors = 0, warned = 0;

	if (first == -2) {
		options_usage(stdout, "capgate policy check [--strict] FILE...",
		    "Loads each policy exactly as capgate run would and reports "
		    "every problem as\nfile:line:column: error|warning: message. "
		    "Exits 1 if a policy has an error\n(or, with --strict, a "
		    "warning), 0 otherwise.", check_options);
		return 0;
	}
	if (first < 0 || first >= argc) {
		fprintf(stderr, "usage: capgate policy check [--strict] FILE...\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		int rc = check_one(argv[i], &o);
		errors += rc == 1;
		warned += rc == 2;
	}
	return errors > 0 || (o.strict && warned > 0) ? 1 : 0;
}

/* --- show ---------------------------------------------------------------- */

enum show_col {
	COL_CHANNEL, COL_KIND, COL_HANDLER, COL_SCHEMAS, COL_MAX_BYTES, COL_RATE,
	COL_USES, COL_PHASE, COL_DEADLINE, COL_INFLIGHT, COL_SCOPE, COL_N_,
};

static const char *const col_names[COL_N_] = { "CHANNEL", "KIND", "HANDLER",
	"SCHEMAS", "MAX_BYTES", "RATE", "USES", "PHASE", "DEADLINE",
	"INFLIGHT", "SCOPE" };

#define CELL_MAX 160

static void
phase_text(const struct cg_policy *p, const struct cg_channel *ch, char *out,
    size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	for (uint32_t i = 0; i < ch->nafter && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s", i ? "," :
		    "after ", p->channels[ch->after_all[i]].name);
	for (uint32_t i = 0; i < ch->nuntil && n < len; i++)
		n += (size_t)snprintf(out + n, len - n, "%s%s", i ? "," :
		    n ? " until " : "until ", p->channels[ch->until_any[i]].name);
	if (out[0] == '\0')
		snprintf(out, len, "-");
}

static void
fill_row(const struct cg_policy *p, const struct cg_channel *ch,
    char cells[COL_N_][CELL_MAX])
{
	const char *rate = json_string_value(json_object_get(ch->config, "rate"));
	bool event = ch->kind == CG_CHAN_EVENT;
	char *scope = ch->scope ? json_dumps(ch->scope, JSON_COMPACT |
	    JSON_SORT_KEYS) : NULL;

	snprintf(cells[COL_CHANNEL], CELL_MAX, "%s", ch->name);
	snprintf(cells[COL_KIND], CELL_MAX, "%s", policy_kind_name(ch->kind));
	snprintf(cells[COL_HANDLER], CELL_MAX, "%s%s", event ? "from " : "",
	    ch->handler);
	snprintf(cells[COL_SCHEMAS], CELL_MAX, "%s%s%s", ch->request ?
	    (event ? "payload" : "request") : "", ch->request && ch->response ?
	    "," : "", ch->response ? "response" : "");
	if (cells[COL_SCHEMAS][0] == '\0')
		snprintf(cells[COL_SCHEMAS], CELL_MAX, "-");
	snprintf(cells[COL_MAX_BYTES], CELL_MAX, "%u", (unsigned)ch->max_bytes);
	if (rate != NULL)
		snprintf(cells[COL_RATE], CELL_MAX, "%s burst %.0f", rate,
		    ch->rate.burst);
	else
		snprintf(cells[COL_RATE], CELL_MAX, "-");
	snprintf(cells[COL_USES], CELL_MAX, ch->uses ? "%u" : "-",
	    (unsigned)ch->uses);
	phase_text(p, ch, cells[COL_PHASE], CELL_MAX);
	snprintf(cells[COL_DEADLINE], CELL_MAX, event ? "-" : "%ums",
	    (unsigned)ch->deadline_ms);
	snprintf(cells[COL_INFLIGHT], CELL_MAX, ch->max_inflight ? "%u" : "-",
	    (unsigned)ch->max_inflight);
	snprintf(cells[COL_SCOPE], CELL_MAX, "%s", scope ? scope : "-");
	free(scope);
}

static void
print_row(char cells[COL_N_][CELL_MAX], const int *width)
{
	printf(" ");
	for (int k = 0; k + 1 < COL_N_; k++)
		printf(" %-*s", width[k], cells[k]);
	printf(" %s\n", cells[COL_N_ - 1]);
}

static void
show_client(const struct cg_policy *p, const struct cg_client_policy *cl)
{
	char (*rows)[COL_N_][CELL_MAX] = calloc(cl->nslots + 1, sizeof(*rows));
	char *grants = json_dumps(cl->grants, JSON_COMPACT);
	int width[COL_N_];

	printf("client %s: %u channel%s, grants %s\n", cl->name, cl->nslots,
	    cl->nslots == 1 ? "" : "s", grants ? grants : "?");
	free(grants);
	if (rows == NULL)
		return;
	for (int k = 0; k < COL_N_; k++) {
		snprintf(rows[cl->nslots][k], CELL_MAX, "%s", col_names[k]);
		width[k] = (int)strlen(col_names[k]);
	}
	for (uint32_t s = 0; s < cl->nslots; s++) {
		fill_row(p, &p->channels[cl->slot_channel[s]], rows[s]);
		for (int k = 0; k < COL_N_; k++)
			if ((int)strlen(rows[s][k]) > width[k])
				width[k] = (int)strlen(rows[s][k]);
	}
	print_row(rows[cl->nslots], width);
	for (uint32_t s = 0; s < cl->nslots; s++)
		print_row(rows[s], width);
	free(rows);
}

static json_t *
channel_names(const struct cg_policy *p, const int32_t *idx, uint32_t n)
{
	json_t *a = json_array();

	for (uint32_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(p->channels[idx[i]].name));
	return a;
}

static json_t *
channel_json(const struct cg_policy *p, const struct cg_channel *ch)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:b,s:b,s:i,s:o,s:o,s:o}",
	    "channel", ch->name, "kind", policy_kind_name(ch->kind),
	    "handler", ch->handler, "request", ch->request != NULL,
	    "response", ch->response != NULL, "max_bytes", (int)ch->max_bytes,
	    "after", channel_names(p, ch->after_all, ch->nafter),
	    "until", channel_names(p, ch->until_any, ch->nuntil),
	    "scope", ch->scope ? json_incref(ch->scope) : json_null());

	if (o == NULL)
		return NULL;
	if (ch->rate.per_sec > 0)
		json_object_set_new(o, "rate", json_pack("{s:f,s:f}", "per_sec",
		    ch->rate.per_sec, "burst", ch->rate.burst));
	else
		json_object_set_new(o, "rate", json_null());
	json_object_set_new(o, "uses", ch->uses ? json_integer(ch->uses) :
	    json_null());
	json_object_set_new(o, "deadline_ms", ch->kind == CG_CHAN_EVENT ?
	    json_null() : json_integer(ch->deadline_ms));
	json_object_set_new(o, "inflight", ch->max_inflight ?
	    json_integer(ch->max_inflight) : json_null());
	return o;
}

static int
show_json(const struct cg_policy *p)
{
	json_t *clients = json_array(), *doc;
	int rc;

	for (size_t i = 0; i < p->nclients; i++) {
		const struct cg_client_policy *cl = &p->clients[i];
		json_t *chans = json_array();
		for (uint32_t s = 0; s < cl->nslots; s++)
			json_array_append_new(chans, channel_json(p,
			    &p->channels[cl->slot_channel[s]]));
		json_array_append_new(clients, json_pack("{s:s,s:O,s:o}", "client",
		    cl->name, "grants", cl->grants, "channels", chans));
	}
	doc = json_pack("{s:s,s:s,s:i,s:o}", "policy", p->path, "hash", p->hash,
	    "inflight", (int)p->limits.inflight, "clients", clients);
	rc = doc != NULL && json_dumpf(doc, stdout, JSON_INDENT(2)) == 0 ? 0 : 1;
	printf("\n");
	json_decref(doc);
	return rc;
}

static const struct cg_option show_options[] = {
	{ "json", 0, NULL, "machine-readable output" },
	{ NULL, 0, NULL, NULL },
};

static int
show_option(void *ctx, int index, const char *arg)
{
	(void)arg;
	if (index != 0)
		return -1;
	*(bool *)ctx = true;
	return 0;
}

static int
policy_show(int argc, char **argv)
{
	bool json = false;
	int first = options_parse("policy show", argc, argv, show_options,
	    show_option, &json);
	struct cg_error err;
	struct cg_policy *p;
	int rc = 0;

	if (first == -2) {
		options_usage(stdout, "capgate policy show [--json] FILE",
		    "Prints the effective grants of each client: every channel it "
		    "can use, with\nits kind, handler, schemas, scope and limits "
		    "(\"-\": none).", show_options);
		return 0;
	}
	if (first < 0 || first + 1 != argc) {
		fprintf(stderr, "usage: capgate policy show [--json] FILE\n");
		return 2;
	}
	p = policy_load(argv[first], handler_check, &err);
	if (p == NULL) {
		print_error(&err, argv[first]);
		return 1;
	}
	if (json) {
		rc = show_json(p);
	} else {
		for (size_t i = 0; i < p->nclients; i++) {
			printf("%s", i ? "\n" : "");
			show_client(p, &p->clients[i]);
		}
	}
	policy_free(p);
	return rc;
}

int
cmd_policy(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return policy_check(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return policy_show(argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0)) {
		printf("usage: capgate policy check [--strict] FILE...\n"
		    "       capgate policy show [--json] FILE\n");
		return 0;
	}
	fprintf(stderr, "usage: capgate policy check [--strict] FILE... | "
	    "capgate policy show [--json] FILE\n");
	return 2;
}
