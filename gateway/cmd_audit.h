/*
 * The audit review tools and key generation, as command-table entries of
 * the capgate binary:
 *
 *   capgate keygen BASENAME
 *   capgate audit verify LOG... --key BASENAME.pub
 *   capgate audit show LOG [filters] [--json]
 *   capgate audit stats LOG [filters] [--json]
 *   capgate audit follow LOG [filters] [--key K.pub] [--max-records N]
 *
 * Exit codes: 0 success (verify: intact, sealed and closed cleanly);
 * 1 failure (verify: a record altered, forged, unsealed, or the wrong key);
 * 2 verify/follow: intact but ended uncleanly (crash or truncated tail);
 * 64 usage error. docs/AUDIT.md has the details.
 */
#ifndef CG_GATEWAY_CMD_AUDIT_H
#define CG_GATEWAY_CMD_AUDIT_H

/* argv[0] is "audit"; argv[1] the subcommand. Returns the exit code. */
int cmd_audit(int argc, char **argv);

/* argv[0] is "keygen". Returns the exit code. */
int cmd_keygen(int argc, char **argv);

#endif
