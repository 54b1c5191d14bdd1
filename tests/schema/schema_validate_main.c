/* Stand-in for capgate's command table until it exists: runs
 * `schema-validate-test schema validate ...` through cmd_schema(). */
#include "gateway/cmd_schema.h"

int
main(int argc, char **argv)
{
	return cmd_schema(argc - 1, argv + 1);
}
