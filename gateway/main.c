/* capgate: subcommands from a table. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "gateway/cmd_audit.h"
#include "gateway/cmd_schema.h"
#include "gateway/commands.h"

struct cg_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct cg_command commands[] = {
	{ "run", cmd_run, "run PROGRAM as an untrusted front-end under a policy" },
	{ "policy", cmd_policy, "check a policy file, or show its effective grants" },
	{ "schema", cmd_schema, "validate JSON instances against a JSON Schema (draft-07)" },
	{ "keygen", cmd_keygen, "make an audit signing key pair (BASENAME.key, BASENAME.pub)" },
	{ "audit", cmd_audit, "verify, show, summarise or follow an audit log" },
};

static void
usage(FILE *out)
{
	fprintf(out, "usage: capgate COMMAND [ARGS...]   (capgate COMMAND --help)\n\n"
	    "commands:\n");
	for (size_t i = 0; i < CG_ARRAY_LEN(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int
main(int argc, char **argv)
{
	cg_log_init("capgate");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("capgate 0.1.0\n");
		return 0;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "capgate: libsodium failed to initialise\n");
		return 2;
	}
	for (size_t i = 0; i < CG_ARRAY_LEN(commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "capgate: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return 2;
}
