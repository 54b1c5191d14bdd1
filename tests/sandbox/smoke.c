/* Manual driver: sandbox-smoke SECTION_JSON PROGRAM ARGS... */
#include <stdio.h>
#include <stdlib.h>

#include "tests/sandbox/harness.h"

int
main(int argc, char **argv)
{
	static const char *const env[] = { "PATH=/usr/bin:/bin", "HOME=/nonexistent",
	    "LANG=C.UTF-8", NULL };
	struct harness_result r;

	if (argc < 3) {
		fprintf(stderr, "usage: sandbox-smoke SECTION_JSON PROGRAM ARGS...\n");
		return 2;
	}
	harness_run(argv[1], (const char *const *)argv + 2,
	    getenv("SMOKE_PROBE_ENV") ? NULL : env, &r);
	printf("error=%s pointer=%s\nout=%s\nexit=%d signal=%d\n", r.error,
	    r.pointer, r.out, r.exit_code, r.signal);
	for (int i = 0; i < r.n_events; i++)
		printf("event %s %s nr=%d %s\n", sandbox_event_kind_name(r.events[i].kind),
		    sandbox_action_name(r.events[i].action), r.events[i].nr, r.events[i].name);
	if (getenv("ATTEST") != NULL && r.attestation != NULL) {
		char *s = json_dumps(r.attestation, JSON_INDENT(1));

		puts(s);
		free(s);
	}
	json_decref(r.attestation);
	return r.spawned && r.exit_code == 0 ? 0 : 1;
}
