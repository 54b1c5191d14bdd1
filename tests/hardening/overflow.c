/*
 * Copies its first argument into an 8-byte buffer with a length known only
 * at run time. Built with the project's flags: with _FORTIFY_SOURCE the
 * copy is a checked call that aborts ("buffer overflow detected") before
 * one byte lands past the buffer; without it, the program would print the
 * argument. tests/hardening/check.py runs it with a longer argument.
 */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
	char buf[8];
	size_t n;

	if (argc != 2)
		return 2;
	n = strlen(argv[1]) + 1;
	memcpy(buf, argv[1], n);
	puts(buf);
	return 0;
}
