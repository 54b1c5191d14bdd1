#include <stdio.h>
#include <stdlib.h>
#include "tests/sandbox/harness.h"
int main(int argc, char **argv) {
	struct harness_result r;
	const char *sec = argc > 2 ? argv[2] : "{\"profile\":\"strict\"}";
	char probe[512];
	snprintf(probe, sizeof probe, "%s/%s", harness_dir(), argc > 3 ? argv[3] : "probe");
	const char *av[] = { probe, argv[1], argc > 4 ? argv[4] : NULL, NULL };
	int rc = harness_run(sec, av, NULL, &r);
	printf("rc=%d err=%s ptr=%s\nout=%sexit=%d sig=%d events=%d\n", rc, r.error, r.pointer, r.out, r.exit_code, r.signal, r.n_events);
	for (int i = 0; i < r.n_events; i++) printf(" ev %s %s %d %s\n", sandbox_event_kind_name(r.events[i].kind), sandbox_action_name(r.events[i].action), r.events[i].nr, r.events[i].name);
	if (getenv("ATTEST") && r.attestation) { char *s = json_dumps(r.attestation, JSON_INDENT(1)); puts(s); free(s); }
	return 0;
}
