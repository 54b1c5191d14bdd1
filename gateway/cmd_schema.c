/*
 * `capgate schema validate`. Reads only the files named on the command line
 * (and, for remote references, the files the user maps with --remote);
 * nothing is fetched over the network.
 *
 * Output, one line per instance, in order:
 *   files:  "<file>: valid" | "<file>: invalid: <pointer>: <reason>"
 *   stdin:  "valid" | "invalid: <pointer>: <reason>" (one JSON per line;
 *           blank lines are skipped; a malformed line prints
 *           "error: -:<line>:<column>: <message>" and the run ends with 2)
 */
#include "gateway/cmd_schema.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/error.h"
#include "common/util.h"
#include "policy/jsonpos.h"
#include "policy/schema.h"

#define SCHEMA_MAX_FILE (16u << 20)
#define INSTANCE_MAX_FILE (64u << 20)
#define INSTANCE_MAX_LINE (16u << 20)

enum { EXIT_VALID = 0, EXIT_INVALID = 1, EXIT_ERROR = 2 };

static const char usage_text[] =
	"usage: capgate schema validate [--remote URI=FILE]... [--no-format]\n"
	"                               SCHEMA [INSTANCE...|-]\n"
	"\n"
	"Compiles SCHEMA (JSON Schema draft-07) and validates each INSTANCE file\n"
	"against it; with '-', reads one JSON instance per line from stdin.\n"
	"\n"
	"  --remote URI=FILE  resolve \"$ref\" to URI from FILE (repeatable);\n"
	"                     other remote references are errors, never fetched\n"
	"  --no-format        treat \"format\" as an annotation only\n"
	"  -h, --help         show this help\n"
	"\n"
	"Exit status: 0 all valid, 1 some instance invalid, 2 usage error,\n"
	"unreadable file, malformed JSON, or a schema that does not compile.\n";

struct schema_cli {
	const char *schema_path;
	json_t *remotes;
	bool no_format;
	char **instances;
	int ninstances;
};

static int
usage(FILE *out, int status)
{
	fputs(usage_text, out);
	return status;
}

static int
load_json_file(const char *path, size_t max, size_t flags, char **text,
    json_t **out)
{
	size_t len;
	json_error_t jerr;

	*text = NULL;
	if (cg_read_file(path, max, text, &len) < 0) {
		fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		return -1;
	}
	*out = json_loadb(*text, len, flags, &jerr);
	if (*out == NULL) {
		fprintf(stderr, "%s:%d:%d: %s\n", path, jerr.line, jerr.column,
		    jerr.text);
		free(*text);
		*text = NULL;
		return -1;
	}
	return 0;
}

static int
add_remote(struct schema_cli *cli, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *uri, *text;
	json_t *doc;

	if (eq == NULL || eq == arg || eq[1] == '\0') {
		fprintf(stderr, "capgate schema: --remote needs URI=FILE\n");
		return -1;
	}
	if (load_json_file(eq + 1, SCHEMA_MAX_FILE, JSON_REJECT_DUPLICATES,
	    &text, &doc) < 0)
		return -1;
	free(text);
	uri = strndup(arg, (size_t)(eq - arg));
	if (uri == NULL || json_object_set_new(cli->remotes, uri, doc) < 0) {
		free(uri);
		fprintf(stderr, "capgate schema: out of memory\n");
		return -1;
	}
	free(uri);
	return 0;
}

/* Returns 0 to go on, or -1 to stop with exit status *status. */
static int
parse_args(struct schema_cli *cli, int argc, char **argv, int *status)
{
	int i;

	*status = EXIT_ERROR;
	for (i = 2; i < argc && argv[i][0] == '-' && strcmp(argv[i], "-") != 0;
	    i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			*status = usage(stdout, EXIT_VALID);
			return -1;
		}
		if (strcmp(argv[i], "--no-format") == 0) {
			cli->no_format = true;
		} else if (strcmp(argv[i], "--remote") == 0 && i + 1 < argc) {
			if (add_remote(cli, argv[++i]) < 0)
				return -1;
		} else if (strncmp(argv[i], "--remote=", 9) == 0) {
			if (add_remote(cli, argv[i] + 9) < 0)
				return -1;
		} else {
			fprintf(stderr, "capgate schema: unknown option %s\n", argv[i]);
			usage(stderr, EXIT_ERROR);
			return -1;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "capgate schema validate: missing SCHEMA\n");
		usage(stderr, EXIT_ERROR);
		return -1;
	}
	cli->schema_path = argv[i++];
	cli->instances = argv + i;
	cli->ninstances = argc - i;
	return 0;
}

/* "SCHEMA:line:col: msg", placing a compile error at its schema location. */
static void
report_compile_error(const char *path, const char *text,
    const struct cg_error *err)
{
	struct cg_jsonpos *pos = jsonpos_index(text, strlen(text));
	int line = 0, col = 0;

	if (pos != NULL && jsonpos_lookup(pos, err->pointer, &line, &col) >= 0)
		fprintf(stderr, "%s:%d:%d: %s (at \"%s\")\n", path, line, col,
		    err->msg, err->pointer);
	else
		fprintf(stderr, "%s: %s (at \"%s\")\n", path, err->msg,
		    err->pointer);
	jsonpos_free(pos);
}

static struct cg_schema *
load_schema(const struct schema_cli *cli, json_t **doc)
{
	struct cg_schema_options opts = { .remotes = cli->remotes,
		.assert_format = !cli->no_format };
	struct cg_error err;
	struct cg_schema *s;
	char *text;

	if (load_json_file(cli->schema_path, SCHEMA_MAX_FILE,
	    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &text, doc) < 0)
		return NULL;
	cg_error_clear(&err);
	s = schema_compile(*doc, &opts, &err);
	if (s == NULL)
		report_compile_error(cli->schema_path, text, &err);
	free(text);
	return s;
}

static void
print_result(const char *prefix, int rc, const struct cg_error *err)
{
	if (rc == 0)
		printf("%s%svalid\n", prefix, prefix[0] ? ": " : "");
	else
		printf("%s%sinvalid: %s: %s%s%s%s\n", prefix, prefix[0] ? ": " : "",
		    err->pointer, err->msg, err->keyword[0] ? " (" : "",
		    err->keyword, err->keyword[0] ? ")" : "");
}

static int
validate_file(const struct cg_schema *s, const char *path)
{
	struct cg_error err;
	json_t *inst;
	char *text;
	int rc;

	if (load_json_file(path, INSTANCE_MAX_FILE, JSON_DECODE_ANY |
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &text, &inst) < 0)
		return EXIT_ERROR;
	free(text);
	cg_error_clear(&err);
	rc = schema_validate(s, inst, &err);
	print_result(path, rc, &err);
	json_decref(inst);
	return rc == 0 ? EXIT_VALID : EXIT_INVALID;
}

static bool
blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

static int
validate_line(const struct cg_schema *s, const char *line, size_t len,
    unsigned long lineno)
{
	struct cg_error err;
	json_error_t jerr;
	json_t *inst;
	int rc;

	if (len > INSTANCE_MAX_LINE) {
		printf("error: -:%lu: line longer than %u bytes\n", lineno,
		    INSTANCE_MAX_LINE);
		return EXIT_ERROR;
	}
	inst = json_loadb(line, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES |
	    JSON_ALLOW_NUL, &jerr);
	if (inst == NULL) {
		printf("error: -:%lu:%d: %s\n", lineno, jerr.column, jerr.text);
		return EXIT_ERROR;
	}
	cg_error_clear(&err);
	rc = schema_validate(s, inst, &err);
	print_result("", rc, &err);
	json_decref(inst);
	return rc == 0 ? EXIT_VALID : EXIT_INVALID;
}

static int
validate_stdin(const struct cg_schema *s)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	int status = EXIT_VALID;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		int rc;

		lineno++;
		if (blank(line, (size_t)n))
			continue;
		rc = validate_line(s, line, (size_t)n, lineno);
		status = rc > status ? rc : status;
		/* answers stream: a consumer may wait for each one */
		fflush(stdout);
	}
	if (ferror(stdin)) {
		fprintf(stderr, "-: read error: %s\n", strerror(errno));
		status = EXIT_ERROR;
	}
	free(line);
	return status;
}

static int
run_validate(struct schema_cli *cli)
{
	struct cg_schema *s;
	json_t *doc = NULL;
	int status = EXIT_VALID;

	if ((s = load_schema(cli, &doc)) == NULL) {
		json_decref(doc);
		return EXIT_ERROR;
	}
	if (cli->ninstances == 0)
		printf("%s: schema compiles\n", cli->schema_path);
	for (int i = 0; i < cli->ninstances; i++) {
		int rc = strcmp(cli->instances[i], "-") == 0 ? validate_stdin(s) :
		    validate_file(s, cli->instances[i]);

		status = rc > status ? rc : status;
	}
	schema_free(s);
	json_decref(doc);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "capgate schema: write error: %s\n", strerror(errno));
		return EXIT_ERROR;
	}
	return status;
}

int
cmd_schema(int argc, char **argv)
{
	struct schema_cli cli = { 0 };
	int rc;

	if (argc < 2)
		return usage(stderr, EXIT_ERROR);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout, EXIT_VALID);
	if (strcmp(argv[1], "validate") != 0) {
		fprintf(stderr, "capgate schema: unknown subcommand %s\n", argv[1]);
		return usage(stderr, EXIT_ERROR);
	}
	if ((cli.remotes = json_object()) == NULL)
		return EXIT_ERROR;
	if (parse_args(&cli, argc, argv, &rc) == 0)
		rc = run_validate(&cli);
	json_decref(cli.remotes);
	return rc;
}
