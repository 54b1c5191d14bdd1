/*
 * Fuzzes the JSON Schema compiler: the input is parsed as a JSON document
 * and compiled as a draft-07 schema (formats asserted, as for policies;
 * no remotes, so a remote $ref must fail to compile, never fetch). A schema
 * that compiles is run against a few fixed instances; validating with and
 * without an error struct must agree.
 */
#include <stdint.h>
#include <stdlib.h>

#include "policy/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const instances[] = {
	"null", "true", "0", "-1.5e3", "1e300", "\"\"",
	"\"abc\"", "\"2024-01-01T00:00:00Z\"", "\"a@b.c\"", "[]", "[1,2,2]",
	"[\"x\",{\"a\":[null]}]", "{}", "{\"a\":1,\"b\":\"x\",\"c\":[1]}",
	"{\"\":{\"\":{\"\":[[[]]]}}}",
};

static json_t *parsed[sizeof(instances) / sizeof(instances[0])];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_schema_options opts = { 0 };
	struct cg_schema *s;
	struct cg_error err;
	json_error_t jerr;
	json_t *doc;

	if (parsed[0] == NULL)
		for (size_t i = 0; i < sizeof(parsed) / sizeof(parsed[0]); i++)
			if ((parsed[i] = json_loads(instances[i],
			    JSON_DECODE_ANY, &jerr)) == NULL)
				abort();
	if (size > 65536)
		return 0;
	doc = json_loadb((const char *)data, size,
	    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (doc == NULL)
		return 0;
	opts.assert_format = true;
	s = schema_compile(doc, &opts, &err);
	if (s != NULL) {
		for (size_t i = 0; i < sizeof(parsed) / sizeof(parsed[0]); i++) {
			int a = schema_validate(s, parsed[i], &err);
			int b = schema_validate(s, parsed[i], NULL);
			if (a != b)
				abort();
		}
		schema_free(s);
	}
	json_decref(doc);
	return 0;
}
