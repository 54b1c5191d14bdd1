/*
 * `capgate audit verify|show|stats|follow` and `capgate keygen`. Options
 * come from one table (opt_table); each subcommand names the options it
 * takes, and --help is printed from the same table.
 *
 * Everything printed to a terminal passes through term_str(): record fields
 * can hold bytes an untrusted client chose (a channel name), and they must
 * not reach the reviewer's terminal as escape sequences.
 */
#include "gateway/cmd_audit.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/internal.h"
#include "audit/query.h"
#include "common/util.h"

static void print_verdict(FILE *out, const struct cg_audit_verify_result *res,
    int where);

#define EXIT_USAGE 64

enum opt_id {
	OPT_KEY = 1000, OPT_CLIENT, OPT_CHANNEL, OPT_DECISION, OPT_SINCE,
	OPT_UNTIL, OPT_JSON, OPT_TABLE, OPT_MAX, OPT_HELP,
};

enum { S_VERIFY = 1, S_SHOW = 2, S_STATS = 4, S_FOLLOW = 8, S_KEYGEN = 16 };
#define S_FILTER (S_SHOW | S_STATS | S_FOLLOW)

struct opt_spec {
	const char *name;
	int has_arg;
	int id;
	unsigned cmds;
	const char *arg;
	const char *help;
};

static const struct opt_spec opt_table[] = {
	{ "key", 1, OPT_KEY, S_VERIFY | S_FOLLOW, "FILE.pub",
	  "public key written by capgate keygen" },
	{ "client", 1, OPT_CLIENT, S_FILTER, "NAME", "only this client's records" },
	{ "channel", 1, OPT_CHANNEL, S_FILTER, "GLOB",
	  "only channels matching GLOB (fnmatch)" },
	{ "decision", 1, OPT_DECISION, S_FILTER, "allow|deny|error",
	  "only decisions of this kind" },
	{ "since", 1, OPT_SINCE, S_FILTER, "TIME",
	  "records at or after TIME (UTC: 2026-11-21[T20:51[:44[.5]]][Z], or @UNIXSECS)" },
	{ "until", 1, OPT_UNTIL, S_FILTER, "TIME", "records before TIME" },
	{ "json", 0, OPT_JSON, S_FILTER, NULL,
	  "JSON lines even on a terminal (the default when not a terminal)" },
	{ "table", 0, OPT_TABLE, S_SHOW | S_STATS, NULL,
	  "an aligned table even when not a terminal (no colour)" },
	{ "max-records", 1, OPT_MAX, S_FOLLOW, "N",
	  "exit 0 after printing N matching records" },
	{ "help", 0, OPT_HELP, ~0u, NULL, "show this help" },
};

struct opts {
	const char *key;
	struct cg_audit_filter f;
	int json;
	int table;
	uint64_t max_records;
	int help;
	char **args;
	int nargs;
};

struct subcmd {
	const char *name;
	unsigned mask;
	const char *usage;
	const char *about;
	int min_args, max_args;
	int (*run)(struct opts *o);
};

static int run_verify(struct opts *o);
static int run_show(struct opts *o);
static int run_stats(struct opts *o);
static int run_follow(struct opts *o);
static int run_keygen(struct opts *o);

static const struct subcmd subcmds[] = {
	{ "verify", S_VERIFY, "capgate audit verify LOG... --key FILE.pub",
	  "Checks every record's hash chain and every epoch seal, starting from\n"
	  "the public key. Give rotated files oldest first (log.2 log.1 log).\n"
	  "Exit 0: intact, sealed and closed cleanly. 1: the first bad record is\n"
	  "named (FILE:LINE: what is wrong). 2: intact, but the log (or a run\n"
	  "of it) ended without its clean-shutdown seal: a crash or a truncation.",
	  1, 4096, run_verify },
	{ "show", S_SHOW, "capgate audit show LOG... [filters] [--json]",
	  "Prints records: an aligned table on a terminal, JSON lines otherwise.\n"
	  "Does not verify the log; run verify for that.", 1, 4096, run_show },
	{ "stats", S_STATS, "capgate audit stats LOG... [filters] [--json]",
	  "Per client and channel: allowed, denied (by reason), errors, the rate\n"
	  "over the span of the log, and latency percentiles (nearest rank).",
	  1, 4096, run_stats },
	{ "follow", S_FOLLOW, "capgate audit follow LOG [filters] [--key FILE.pub] "
	  "[--max-records N]",
	  "Like tail -f: prints records as they are appended, checking the hash\n"
	  "chain and the epoch seals as it goes (from the first epoch's key with\n"
	  "--key, else trusting the key the log starts with).\n"
	  "Exits 0 at the log's clean-shutdown seal or after --max-records, 1 at\n"
	  "the first bad record (or when lines already read are truncated away),\n"
	  "2 at the clean-shutdown seal of a log in which an earlier run ended\n"
	  "uncleanly.", 1, 1, run_follow },
};

static const struct subcmd keygen_cmd = {
	"keygen", S_KEYGEN, "capgate keygen BASENAME",
	"Makes a key for sealing one audit log: BASENAME.key (secret, mode 0600;\n"
	"the policy's audit.sign_key; the gateway advances it at every seal) and\n"
	"BASENAME.pub (epoch 0's Ed25519 public key, for audit verify). Never\n"
	"overwrites an existing key. Use a new key for each new log.",
	1, 1, run_keygen,
};

static void
print_help(FILE *out, const struct subcmd *c)
{
	char left[64];
	size_t i;

	fprintf(out, "usage: %s\n\n%s\n\noptions:\n", c->usage, c->about);
	for (i = 0; i < CG_ARRAY_LEN(opt_table); i++) {
		if (!(opt_table[i].cmds & c->mask))
			continue;
		snprintf(left, sizeof(left), "--%s%s%s", opt_table[i].name,
		    opt_table[i].arg ? " " : "",
		    opt_table[i].arg ? opt_table[i].arg : "");
		fprintf(out, "  %-28s %s\n", left, opt_table[i].help);
	}
}

static int
set_opt(struct opts *o, int id, const char *arg, struct cg_error *err)
{
	char *end;

	switch (id) {
	case OPT_KEY: o->key = arg; break;
	case OPT_CLIENT: o->f.client = arg; break;
	case OPT_CHANNEL: o->f.channel = arg; break;
	case OPT_DECISION: o->f.decision = arg; break;
	case OPT_JSON: o->json = 1; break;
	case OPT_TABLE: o->table = 1; break;
	case OPT_HELP: o->help = 1; break;
	case OPT_SINCE:
	case OPT_UNTIL:
		if (audit_parse_time(arg, id == OPT_SINCE ? &o->f.since_ns :
		    &o->f.until_ns) != 0)
			return cg_error_set(err, "bad time \"%s\"", arg);
		*(id == OPT_SINCE ? &o->f.has_since : &o->f.has_until) = 1;
		break;
	case OPT_MAX:
		o->max_records = strtoull(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || o->max_records == 0)
			return cg_error_set(err, "--max-records: expected a count");
		break;
	default:
		return cg_error_set(err, "unknown option");
	}
	return 0;
}

/* Parses argv (argv[0] is the subcommand's name) against the options the
 * subcommand takes. 0, or an exit code. */
static int
parse_opts(const struct subcmd *c, int argc, char **argv, struct opts *o)
{
	struct option longopts[CG_ARRAY_LEN(opt_table) + 1];
	struct cg_error err;
	size_t i, n = 0;
	int ch;

	memset(longopts, 0, sizeof(longopts));
	for (i = 0; i < CG_ARRAY_LEN(opt_table); i++)
		if (opt_table[i].cmds & c->mask)
			longopts[n++] = (struct option){ opt_table[i].name,
			    opt_table[i].has_arg, NULL, opt_table[i].id };
	cg_error_clear(&err);
	optind = 0;    /* GNU: re-initialise; cmd_audit may run more than once */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch == '?' || set_opt(o, ch, optarg, &err) != 0) {
			if (err.msg[0] != '\0')
				fprintf(stderr, "capgate %s: %s\n", c->name, err.msg);
			fprintf(stderr, "usage: %s (see --help)\n", c->usage);
			return EXIT_USAGE;
		}
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->help) {
		print_help(stdout, c);
		return -1;
	}
	if (o->nargs < c->min_args || o->nargs > c->max_args ||
	    audit_filter_check(&o->f, &err) != 0) {
		if (err.msg[0] != '\0')
			fprintf(stderr, "capgate %s: %s\n", c->name, err.msg);
		fprintf(stderr, "usage: %s (see --help)\n", c->usage);
		return EXIT_USAGE;
	}
	return 0;
}

static int
run_subcmd(const struct subcmd *c, int argc, char **argv)
{
	struct opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = parse_opts(c, argc, argv, &o);
	if (rc == -1)
		return 0;        /* --help */
	if (rc != 0)
		return rc;
	return c->run(&o);
}

int
cmd_keygen(int argc, char **argv)
{
	return run_subcmd(&keygen_cmd, argc, argv);
}

static void
audit_usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: capgate audit SUBCOMMAND ... (SUBCOMMAND --help for more)\n");
	for (i = 0; i < CG_ARRAY_LEN(subcmds); i++)
		fprintf(out, "  %s\n", subcmds[i].usage);
}

int
cmd_audit(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		audit_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		audit_usage(stdout);
		return 0;
	}
	for (i = 0; i < CG_ARRAY_LEN(subcmds); i++)
		if (strcmp(argv[1], subcmds[i].name) == 0)
			return run_subcmd(&subcmds[i], argc - 1, argv + 1);
	fprintf(stderr, "capgate audit: unknown subcommand \"%s\"\n", argv[1]);
	audit_usage(stderr);
	return EXIT_USAGE;
}

static int
run_keygen(struct opts *o)
{
	struct cg_error err;

	cg_error_clear(&err);
	if (audit_keygen(o->args[0], &err) != 0) {
		fprintf(stderr, "capgate keygen: %s\n", err.msg);
		return 1;
	}
	printf("wrote %s.key (secret; it seals one log) and %s.pub (for capgate "
	    "audit verify)\n", o->args[0], o->args[0]);
	return 0;
}

static int
load_key(const char *path, unsigned char pk[AUDIT_PUBKEY_LEN])
{
	struct cg_error err;

	cg_error_clear(&err);
	if (audit_key_load_public(path, pk, &err) != 0) {
		fprintf(stderr, "capgate audit: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int
run_verify(struct opts *o)
{
	unsigned char pk[AUDIT_PUBKEY_LEN];
	struct cg_audit_verify_result res;
	enum cg_audit_verdict v;

	if (o->key == NULL) {
		fprintf(stderr, "capgate audit verify: --key FILE.pub is required\n");
		return EXIT_USAGE;
	}
	if (load_key(o->key, pk) != 0)
		return 1;
	v = audit_verify_files((const char *const *)o->args, (size_t)o->nargs, pk,
	    &res);
	switch (v) {
	case CG_AUDIT_INTACT:
		print_verdict(stdout, &res, 0);
		return 0;
	case CG_AUDIT_UNCLEAN:
		print_verdict(stdout, &res, 1);
		return 2;
	case CG_AUDIT_BAD:
		break;
	}
	print_verdict(stdout, &res, 1);
	return 1;
}

/* --- show --- */

struct printer {
	int table;
	int tty;                     /* stdout is a terminal */
	int colour;
	int header_done;
};

/* Prints s to out, at most width bytes (0: no limit), padded; control
 * characters become '?' so a record cannot drive the terminal: C0 bytes,
 * DEL, and the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F), which some
 * terminals obey as CSI, OSC and ST. */
static void
term_put(FILE *out, const char *s, int width, int pad)
{
	int col = 0;

	for (; s != NULL && *s != '\0' && (width == 0 || col < width); s++, col++) {
		unsigned char c = (unsigned char)*s;

		if (c == 0xc2 && (unsigned char)s[1] >= 0x80 &&
		    (unsigned char)s[1] <= 0x9f) {
			s++;
			c = '?';
		}
		fputc(c < 0x20 || c == 0x7f ? '?' : c, out);
	}
	for (; pad && col < width; col++)
		fputc(' ', out);
}

static void
term_str(const char *s, int width, int pad)
{
	term_put(stdout, s, width, pad);
}

/* A verdict: its message quotes the log (a record's kind, the parser's
 * view of a bad line), so it goes out as term_str does. */
static void
print_verdict(FILE *out, const struct cg_audit_verify_result *res, int where)
{
	if (where)
		fprintf(out, "%s:%llu: ", res->file, (unsigned long long)res->line);
	term_put(out, res->msg, 0, 0);
	fputc('\n', out);
}

static const char *
str_field(json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));

	return s ? s : "";
}

static const char *
colour_of(const char *decision, const char *ev)
{
	if (strcmp(decision, "allow") == 0)
		return "\033[32m";
	if (strcmp(decision, "deny") == 0)
		return "\033[31m";
	if (strcmp(decision, "error") == 0)
		return "\033[33m";
	return strcmp(ev, "seal") == 0 || strcmp(ev, "open") == 0 ?
	    "\033[2m" : "\033[36m";
}

/* Members of an event worth showing: everything but the chain plumbing. */
static void
event_summary(json_t *rec)
{
	static const char *const skip[] = { "n", "t", "ev", "policy", "prev",
	    "sig", "pk", "next", "commit", "key" };
	const char *key;
	json_t *val;
	size_t i;
	char *text;
	int first = 1;

	json_object_foreach(rec, key, val) {
		for (i = 0; i < CG_ARRAY_LEN(skip) && strcmp(key, skip[i]) != 0; i++)
			;
		if (i < CG_ARRAY_LEN(skip))
			continue;
		text = json_dumps(val, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!first)
			putchar(' ');
		term_str(key, 0, 0);
		putchar('=');
		term_str(text, 200, 0);
		free(text);
		first = 0;
	}
}

static void
print_table_row(struct printer *p, json_t *rec)
{
	const char *ev = str_field(rec, "ev"), *decision = str_field(rec, "decision");
	int is_decision = strcmp(ev, "decision") == 0;
	char us[32] = "";

	if (!p->header_done) {
		printf("%-27s %-12s %-24s %-8s %-20s %10s\n", "TIME", "CLIENT",
		    "CHANNEL", "DECISION", "REASON", "US");
		p->header_done = 1;
	}
	term_str(str_field(rec, "t"), 27, 1);
	putchar(' ');
	term_str(str_field(rec, "client"), 12, 1);
	putchar(' ');
	term_str(str_field(rec, "channel"), 24, 1);
	putchar(' ');
	if (p->colour)
		fputs(colour_of(decision, ev), stdout);
	term_str(is_decision ? decision : ev, 8, 1);
	if (p->colour)
		fputs("\033[0m", stdout);
	putchar(' ');
	if (is_decision) {
		term_str(str_field(rec, "reason"), 20, 1);
		if (json_is_number(json_object_get(rec, "us")))
			snprintf(us, sizeof(us), "%.3f",
			    json_number_value(json_object_get(rec, "us")));
		printf(" %10s", us);
		if (json_object_get(rec, "pointer") != NULL) {
			fputs("  at ", stdout);
			term_str(str_field(rec, "pointer"), 80, 0);
		}
		if (json_object_get(rec, "detail") != NULL) {
			fputs("  (", stdout);
			term_str(str_field(rec, "detail"), 120, 0);
			putchar(')');
		}
	} else {
		event_summary(rec);
	}
	putchar('\n');
}

/*
 * A record's line as JSON that cannot drive a terminal. A line that parsed
 * has no raw control bytes in its strings, but it may have DEL and the C1
 * controls there (valid JSON; some terminals act on U+009B as CSI), which
 * become \u escapes of the same characters, and tabs or carriage returns
 * between its tokens, which become spaces.
 */
static void
put_json_for_terminal(const char *line, size_t len)
{
	const unsigned char *s = (const unsigned char *)line;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			printf("\\u%04x", s[++i]);
		else if (s[i] == 0x7f)
			fputs("\\u007f", stdout);
		else
			putchar(s[i] < 0x20 ? ' ' : s[i]);
	}
	putchar('\n');
}

static void
print_record(struct printer *p, const char *line, size_t len, json_t *rec)
{
	if (p->table)
		print_table_row(p, rec);
	else if (p->tty)
		put_json_for_terminal(line, len);
	else
		printf("%.*s\n", (int)len, line);
}

static void
printer_init(struct printer *p, const struct opts *o)
{
	memset(p, 0, sizeof(*p));
	p->tty = isatty(STDOUT_FILENO);
	p->table = !o->json && (o->table || p->tty);
	p->colour = p->table && isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
}

/* Calls fn for each record of each file that passes the filters. */
static int
each_record(struct opts *o, void (*fn)(void *, const char *, size_t, json_t *),
    void *arg)
{
	struct audit_buf line = { 0 };
	json_t *rec;
	int i, got, complete, rc = 0;

	for (i = 0; i < o->nargs; i++) {
		char why[64];
		int fd = audit_open_log(o->args[i], 1, why, sizeof(why));
		FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
		uint64_t lineno = 0;
		if (f == NULL) {
			fprintf(stderr, "capgate audit: %s: %s\n", o->args[i],
			    fd < 0 ? why : strerror(errno));
			if (fd >= 0)
				close(fd);
			rc = 1;
			continue;
		}
		while ((got = audit_read_line(f, &line, &complete)) > 0) {
			lineno++;
			rec = json_loadb(line.p, line.len, 0, NULL);
			if (!json_is_object(rec)) {
				fprintf(stderr, "capgate audit: %s:%llu: not a record\n",
				    o->args[i], (unsigned long long)lineno);
				rc = 1;
			} else if (audit_filter_match(&o->f, rec)) {
				fn(arg, line.p, line.len, rec);
			}
			json_decref(rec);
		}
		if (got < 0) {
			fprintf(stderr, "capgate audit: %s:%llu: unreadable or too "
			    "long\n", o->args[i], (unsigned long long)lineno + 1);
			rc = 1;
		}
		fclose(f);
	}
	audit_buf_free(&line);
	return rc;
}

static void
show_one(void *arg, const char *line, size_t len, json_t *rec)
{
	print_record(arg, line, len, rec);
}

static int
run_show(struct opts *o)
{
	struct printer p;
	int rc;

	printer_init(&p, o);
	rc = each_record(o, show_one, &p);
	fflush(stdout);
	return rc;
}

/* --- stats --- */

static void
stats_one(void *arg, const char *line, size_t len, json_t *rec)
{
	if (audit_stats_add(arg, rec) != 0) {
		fprintf(stderr, "capgate audit stats: out of memory\n");
		exit(1);
	}
}

static double
rate_of(const struct cg_audit_stats *s, const struct cg_audit_stats_row *r)
{
	double span = (double)(s->last_ns - s->first_ns) / 1e9;

	return span > 0 ? (double)(r->allowed + r->denied + r->errors) / span : 0;
}

static void
stats_json(const struct cg_audit_stats *s)
{
	const struct cg_audit_stats_row *r;
	json_t *o, *reasons;
	size_t i, j;
	char *text;

	for (i = 0; i < s->nrows; i++) {
		r = &s->rows[i];
		reasons = json_object();
		for (j = 0; j < r->nreasons; j++)
			json_object_set_new(reasons, r->reasons[j].reason,
			    json_integer((json_int_t)r->reasons[j].count));
		o = json_pack("{s:s, s:s, s:I, s:I, s:o, s:I, s:f, s:f, s:f, s:f, s:f}",
		    "client", r->client, "channel", r->channel,
		    "allowed", (json_int_t)r->allowed, "denied", (json_int_t)r->denied,
		    "denied_by_reason", reasons, "errors", (json_int_t)r->errors,
		    "rate_per_s", rate_of(s, r), "p50_us", r->p50, "p90_us", r->p90,
		    "p99_us", r->p99, "max_us", r->max);
		text = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
		if (text != NULL)
			printf("%s\n", text);
		free(text);
		json_decref(o);
	}
}

static void
stats_table(const struct cg_audit_stats *s)
{
	const struct cg_audit_stats_row *r;
	size_t i, j;

	printf("%-12s %-24s %8s %8s %8s %9s %9s %9s %9s\n", "CLIENT", "CHANNEL",
	    "ALLOWED", "DENIED", "ERRORS", "RATE/s", "P50us", "P90us", "P99us");
	for (i = 0; i < s->nrows; i++) {
		r = &s->rows[i];
		term_str(r->client, 12, 1);
		putchar(' ');
		term_str(r->channel, 24, 1);
		printf(" %8llu %8llu %8llu %9.2f %9.3f %9.3f %9.3f\n",
		    (unsigned long long)r->allowed, (unsigned long long)r->denied,
		    (unsigned long long)r->errors, rate_of(s, r), r->p50, r->p90,
		    r->p99);
		for (j = 0; j < r->nreasons; j++) {
			printf("%-37s denied: ", "");
			term_str(r->reasons[j].reason, 40, 0);
			printf(" %llu\n", (unsigned long long)r->reasons[j].count);
		}
	}
}

static int
run_stats(struct opts *o)
{
	struct cg_audit_stats s;
	int rc;

	memset(&s, 0, sizeof(s));
	rc = each_record(o, stats_one, &s);
	audit_stats_finish(&s);
	if (o->json || (!o->table && !isatty(STDOUT_FILENO)))
		stats_json(&s);
	else
		stats_table(&s);
	audit_stats_free(&s);
	fflush(stdout);
	return rc;
}

/* --- follow --- */

struct follower {
	struct cg_audit_verifier *v;
	struct printer p;
	struct opts *o;
	uint64_t printed;
	char *buf;                   /* read, not yet a complete line */
	size_t len, cap;
	uint64_t off;                /* the file offset of buf[0] */
};

/* Feeds the complete lines in f->buf to the verifier. 1 after
 * --max-records, -1 on a bad record, 0 to go on. */
static int
follow_lines(struct follower *f)
{
	struct cg_audit_verify_result res;
	size_t start = 0;
	char *nl;
	json_t *rec;

	while ((nl = memchr(f->buf + start, '\n', f->len - start)) != NULL) {
		size_t len = (size_t)(nl - (f->buf + start));
		rec = NULL;
		if (audit_verifier_line(f->v, f->buf + start, len, 1, &rec) != 0) {
			audit_verifier_result(f->v, &res);
			fflush(stdout);
			print_verdict(stderr, &res, 1);
			return -1;
		}
		if (audit_filter_match(&f->o->f, rec)) {
			print_record(&f->p, f->buf + start, len, rec);
			f->printed++;
		}
		json_decref(rec);
		start += len + 1;
		if (f->o->max_records && f->printed >= f->o->max_records)
			return 1;
	}
	memmove(f->buf, f->buf + start, f->len - start);
	f->len -= start;
	f->off += start;
	return 0;
}

/*
 * Whether the bytes in f->buf are still the file's at f->off. They are not
 * when a writer that crashed mid-record is followed by the next run, which
 * cuts the torn record off and writes its open record in its place: the
 * buffered part is then dropped and reading starts again at f->off (the
 * open record says how many bytes were dropped; the verifier counts the
 * run as unclean). 1 if they were dropped, 0 if they stand, -1 if the
 * file lost lines that were already read (truncated in place).
 */
static int
follow_recheck(struct follower *f, int fd)
{
	char cmp[4096];
	struct stat st;
	size_t done = 0;
	ssize_t n;

	if (fstat(fd, &st) != 0)
		return 0;
	if ((uint64_t)st.st_size < f->off)
		return -1;
	while (done < f->len) {
		size_t want = f->len - done < sizeof(cmp) ? f->len - done : sizeof(cmp);
		n = pread(fd, cmp, want, (off_t)(f->off + done));
		if (n <= 0 || memcmp(cmp, f->buf + done, (size_t)n) != 0)
			break;
		done += (size_t)n;
	}
	if (done == f->len)
		return 0;
	f->len = 0;
	return lseek(fd, (off_t)f->off, SEEK_SET) < 0 ? -1 : 1;
}

/* The verdict at the end of a closed run: 0 intact, 2 unclean, 1 bad. */
static int
follow_verdict(struct follower *f)
{
	struct cg_audit_verify_result res;
	enum cg_audit_verdict v = audit_verifier_result(f->v, &res);

	if (v == CG_AUDIT_INTACT)
		return 0;
	fflush(stdout);
	print_verdict(stderr, &res, 1);
	return v == CG_AUDIT_UNCLEAN ? 2 : 1;
}

/* After a rotation the name points at a new file: continue there once
 * everything of the old one has been read. */
static int
follow_rotated(struct follower *f, int *fd)
{
	struct stat a, b;
	char why[64];
	int nfd;

	if (f->len != 0 || fstat(*fd, &a) != 0 || stat(f->o->args[0], &b) != 0 ||
	    (a.st_ino == b.st_ino && a.st_dev == b.st_dev))
		return 0;
	nfd = audit_open_log(f->o->args[0], 0, why, sizeof(why));
	if (nfd < 0)
		return 0;
	close(*fd);
	*fd = nfd;
	f->off = 0;
	audit_verifier_file(f->v, f->o->args[0]);
	return 1;
}

static int
follow_loop(struct follower *f, int *fd)
{
	struct timespec pause = { 0, 100 * 1000000L };
	size_t partial;
	ssize_t n;
	int rc;

	for (;;) {
		if (f->cap - f->len < 65536) {
			char *p = realloc(f->buf, f->cap + 65536);
			if (p == NULL || f->cap > AUDIT_LINE_MAX * 2)
				return 1;
			f->buf = p;
			f->cap += 65536;
		}
		partial = f->len;
		n = read(*fd, f->buf + f->len, f->cap - f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		/* a line begun in an earlier read: was its start cut off since? */
		if (partial != 0 || n == 0) {
			f->len = partial;
			rc = follow_recheck(f, *fd);
			if (rc < 0) {
				fflush(stdout);
				fprintf(stderr, "%s: the file was truncated below what "
				    "was already read (lines were removed in place)\n",
				    f->o->args[0]);
				return 1;
			}
			if (rc > 0)
				continue;
		}
		if (n == 0) {
			/* At the end of what is written: stop if the run being
			 * written has closed (an earlier run's final seal is
			 * followed by the next run's records, not by the end).
			 * The seal is authentic, but a link before it may be
			 * broken, or an earlier run unclean: the verdict says. */
			if (audit_verifier_closed(f->v) && f->len == 0)
				return follow_verdict(f);
			fflush(stdout);
			if (!follow_rotated(f, fd))
				nanosleep(&pause, NULL);
			continue;
		}
		f->len += (size_t)n;
		rc = follow_lines(f);
		if (rc != 0)
			return rc > 0 ? 0 : 1;
	}
}

static int
run_follow(struct opts *o)
{
	unsigned char pk[AUDIT_PUBKEY_LEN];
	struct follower f;
	char why[64];
	int fd, rc;

	memset(&f, 0, sizeof(f));
	if (o->key != NULL && load_key(o->key, pk) != 0)
		return 1;
	fd = audit_open_log(o->args[0], 0, why, sizeof(why));
	if (fd < 0) {
		fprintf(stderr, "capgate audit follow: %s: %s\n", o->args[0],
		    why);
		return 1;
	}
	f.v = audit_verifier_new(o->key != NULL ? pk : NULL);
	f.o = o;
	printer_init(&f.p, o);
	if (f.v == NULL) {
		close(fd);
		return 1;
	}
	if (o->key == NULL)
		audit_verifier_trust_first_key(f.v);
	audit_verifier_file(f.v, o->args[0]);
	rc = follow_loop(&f, &fd);
	fflush(stdout);
	audit_verifier_free(f.v);
	free(f.buf);
	close(fd);
	return rc;
}
