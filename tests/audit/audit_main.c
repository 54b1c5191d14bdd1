/*
 * A stand-in for the capgate binary's command table, so the audit tools can
 * be run end to end before the gateway's main() exists in this branch:
 * `audit_tool audit verify ...`, `audit_tool keygen BASENAME`.
 */
#include <stdio.h>
#include <string.h>

#include "gateway/cmd_audit.h"

int
main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "audit") == 0)
		return cmd_audit(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0)
		return cmd_keygen(argc - 1, argv + 1);
	fprintf(stderr, "usage: %s audit|keygen ...\n", argv[0]);
	return 64;
}
