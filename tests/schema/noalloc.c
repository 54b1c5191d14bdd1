/*
 * The valid path allocates nothing: every malloc from the validator
 * (linked statically, wrapped with --wrap) and from jansson (through its
 * allocator hooks) is counted while validating.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "policy/schema.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static long allocations;

void *
__wrap_malloc(size_t n)
{
	allocations++;
	return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	allocations++;
	return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	allocations++;
	return __real_realloc(p, n);
}

static void *
json_counting_malloc(size_t n)
{
	allocations++;
	return __real_malloc(n);
}

static void
setup(void)
{
	json_set_alloc_funcs(json_counting_malloc, free);
}

static const char schema_text[] =
	"{\"type\": \"object\", \"additionalProperties\": false,"
	" \"required\": [\"id\", \"method\"],"
	" \"properties\": {"
	"  \"id\": {\"type\": \"integer\", \"minimum\": 0, \"multipleOf\": 1},"
	"  \"price\": {\"type\": \"number\", \"multipleOf\": 0.01},"
	"  \"method\": {\"enum\": [\"GET\", \"PUT\", {\"a\": [1]}]},"
	"  \"path\": {\"type\": \"string\", \"maxLength\": 256,"
	"            \"pattern\": \"^/[a-z0-9/]*$\", \"format\": \"uri-reference\"},"
	"  \"when\": {\"format\": \"date-time\"},"
	"  \"tags\": {\"type\": \"array\", \"uniqueItems\": true,"
	"            \"items\": {\"anyOf\": [{\"type\": \"string\"}, {\"const\": 7}]},"
	"            \"contains\": {\"const\": 7}},"
	"  \"tree\": {\"$ref\": \"#/definitions/node\"},"
	"  \"either\": {\"oneOf\": [{\"type\": \"string\"}, {\"type\": \"null\"}],"
	"             \"not\": {\"const\": \"no\"}},"
	"  \"cond\": {\"if\": {\"minimum\": 10}, \"then\": {\"maximum\": 20},"
	"           \"else\": {\"minimum\": 0}}},"
	" \"patternProperties\": {\"^x-\": {\"type\": \"string\"}},"
	" \"dependencies\": {\"price\": [\"id\"], \"tags\": {\"required\": [\"id\"]}},"
	" \"definitions\": {\"node\": {\"type\": \"object\", \"properties\": {"
	"   \"kids\": {\"type\": \"array\", \"items\": {\"$ref\": \"#/definitions/node\"}}}}}}";

static const char instance_text[] =
	"{\"id\": 1, \"price\": 19.99, \"method\": {\"a\": [1.0]},"
	" \"path\": \"/a/b\", \"when\": \"2026-11-21T20:00:00Z\","
	" \"tags\": [\"x\", 7, \"y\"], \"tree\": {\"kids\": [{\"kids\": []}, {}]},"
	" \"either\": null, \"cond\": 15, \"x-trace\": \"abc\"}";

Test(schema_noalloc, valid_path_allocates_nothing, .init = setup)
{
	json_t *sdoc = json_loads(schema_text, 0, NULL);
	json_t *inst = json_loads(instance_text, 0, NULL);
	struct cg_error err;
	struct cg_schema *s;
	long before;

	cr_assert_not_null(sdoc);
	cr_assert_not_null(inst);
	s = schema_compile(sdoc, NULL, &err);
	cr_assert_not_null(s, "%s: %s", err.pointer, err.msg);
	/* the first match may size PCRE2's frame vector; later ones reuse it */
	cr_assert_eq(schema_validate(s, inst, &err), 0, "%s: %s", err.pointer,
	    err.msg);
	before = allocations;
	for (int i = 0; i < 100; i++) {
		cr_assert_eq(schema_validate(s, inst, NULL), 0);
		cr_assert_eq(schema_validate(s, inst, &err), 0);
	}
	cr_expect_eq(allocations, before, "%ld allocations while validating",
	    allocations - before);
	/* the counters do see allocations (the test can fail): jansson's
	 * through its hook, the validator library's through --wrap */
	json_decref(json_loads("[1]", 0, NULL));
	cr_expect_gt(allocations, before);
	before = allocations;
	schema_free(schema_compile(json_true(), NULL, &err));
	cr_expect_gt(allocations, before);
	schema_free(s);
	json_decref(inst);
	json_decref(sdoc);
}
