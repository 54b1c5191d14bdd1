/*
 * Schema validation on the per-message path: a typical ~200-byte request
 * against its compiled schema. Prints the median (and p10/p90) of ns per
 * validation over batches, and jansson's parse time of the same bytes for
 * scale. Not a test: numbers depend on the machine.
 *
 *   bench-schema [BATCHES [PER_BATCH]]     (default 1000 x 1000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/util.h"
#include "policy/schema.h"

static const char schema_text[] =
	"{\"type\": \"object\", \"additionalProperties\": false,"
	" \"required\": [\"id\", \"method\", \"path\"],"
	" \"properties\": {"
	"  \"id\": {\"type\": \"integer\", \"minimum\": 0},"
	"  \"method\": {\"enum\": [\"GET\", \"PUT\", \"POST\", \"DELETE\"]},"
	"  \"path\": {\"type\": \"string\", \"maxLength\": 256,"
	"            \"pattern\": \"^/[A-Za-z0-9._/-]*$\"},"
	"  \"title\": {\"type\": \"string\", \"maxLength\": 200},"
	"  \"user\": {\"type\": \"string\", \"maxLength\": 64},"
	"  \"size\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 1048576},"
	"  \"flags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"},"
	"            \"maxItems\": 8}}}";

static const char instance_text[] =
	"{\"id\": 12345, \"method\": \"PUT\","
	" \"path\": \"/notes/2026/11/meeting-notes.txt\","
	" \"title\": \"Weekly meeting: agenda, actions\","
	" \"user\": \"alice@example.org\", \"size\": 4096,"
	" \"flags\": [\"sync\", \"overwrite\"]}";

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
report(const char *what, double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	printf("%-22s median %7.1f ns/op   p10 %7.1f   p90 %7.1f\n", what,
	    v[n / 2], v[n / 10], v[n * 9 / 10]);
}

static int
bench_validate(const struct cg_schema *s, const json_t *inst, double *out,
    size_t batches, size_t per)
{
	for (size_t b = 0; b < batches; b++) {
		uint64_t t0 = cg_now_ns();

		for (size_t i = 0; i < per; i++)
			if (schema_validate(s, inst, NULL) != 0)
				return -1;
		out[b] = (double)(cg_now_ns() - t0) / (double)per;
	}
	return 0;
}

static int
bench_parse(double *out, size_t batches, size_t per)
{
	for (size_t b = 0; b < batches; b++) {
		uint64_t t0 = cg_now_ns();

		for (size_t i = 0; i < per; i++) {
			json_t *j = json_loadb(instance_text, strlen(instance_text),
			    0, NULL);

			if (j == NULL)
				return -1;
			json_decref(j);
		}
		out[b] = (double)(cg_now_ns() - t0) / (double)per;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	size_t batches = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	size_t per = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
	json_t *sdoc = json_loads(schema_text, 0, NULL);
	json_t *inst = json_loads(instance_text, 0, NULL);
	json_t *bad;
	struct cg_error err;
	struct cg_schema *s;
	double *v;

	if (batches == 0 || per == 0 || sdoc == NULL || inst == NULL)
		return 2;
	if ((s = schema_compile(sdoc, NULL, &err)) == NULL) {
		fprintf(stderr, "schema: %s: %s\n", err.pointer, err.msg);
		return 2;
	}
	if ((v = calloc(batches, sizeof(*v))) == NULL)
		return 2;
	printf("instance: %zu bytes; %zu batches x %zu validations\n",
	    strlen(instance_text), batches, per);
	/* warm caches and the regex JIT */
	bench_validate(s, inst, v, batches < 10 ? batches : 10, per);
	if (bench_validate(s, inst, v, batches, per) < 0) {
		fprintf(stderr, "instance unexpectedly invalid\n");
		return 2;
	}
	report("schema_validate", v, batches);
	bad = json_deep_copy(inst);
	json_object_set_new(bad, "extra", json_true());
	for (size_t b = 0; b < batches; b++) {
		uint64_t t0 = cg_now_ns();

		for (size_t i = 0; i < per; i++)
			schema_validate(s, bad, &err);
		v[b] = (double)(cg_now_ns() - t0) / (double)per;
	}
	report("invalid, with message", v, batches);
	if (bench_parse(v, batches, per) < 0)
		return 2;
	report("jansson parse+free", v, batches);
	json_decref(bad);
	free(v);
	schema_free(s);
	json_decref(inst);
	json_decref(sdoc);
	return 0;
}
