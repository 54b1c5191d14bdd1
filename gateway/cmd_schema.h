/*
 * `capgate schema validate SCHEMA [INSTANCE...|-]`: checks that a schema
 * compiles and validates instances against it, with the same validator the
 * gateway runs on every message.
 */
#ifndef CG_GATEWAY_CMD_SCHEMA_H
#define CG_GATEWAY_CMD_SCHEMA_H

/*
 * argv[0] is "schema", argv[1] the subcommand. Returns the process exit
 * status: 0 all instances valid, 1 some instance invalid, 2 usage error,
 * unreadable file, malformed JSON or a schema that does not compile.
 */
int cmd_schema(int argc, char **argv);

#endif
