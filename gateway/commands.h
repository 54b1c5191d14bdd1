/* Subcommands of the capgate binary. Each returns the process exit code. */
#ifndef CG_GATEWAY_COMMANDS_H
#define CG_GATEWAY_COMMANDS_H

int cmd_run(int argc, char **argv);
int cmd_policy(int argc, char **argv);

#endif
