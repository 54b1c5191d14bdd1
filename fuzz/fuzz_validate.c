/*
 * Fuzzes the validator with a fixed schema and arbitrary instances. The
 * instance goes through frame_parse_body() with the default limits first,
 * as a request body does in the gateway. The schema exercises most
 * keywords: nested properties, patternProperties with a regex, formats,
 * enum and const, uniqueItems, contains, if/then/else, dependencies,
 * propertyNames, $ref into definitions and numeric bounds.
 */
#include <stdint.h>
#include <stdlib.h>

#include "gateway/frame.h"
#include "policy/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char schema_text[] =
"{\"definitions\":{"
" \"item\":{\"type\":\"object\",\"required\":[\"id\"],"
"  \"properties\":{\"id\":{\"type\":\"integer\",\"minimum\":0,\"exclusiveMaximum\":1e6,\"multipleOf\":3},"
"   \"tags\":{\"type\":\"array\",\"uniqueItems\":true,\"maxItems\":8,\"items\":{\"type\":\"string\",\"pattern\":\"^[a-z]+(-[a-z0-9]+)*$\"}},"
"   \"when\":{\"type\":\"string\",\"format\":\"date-time\"},"
"   \"mail\":{\"format\":\"email\"},\"host\":{\"format\":\"hostname\"},\"ip\":{\"format\":\"ipv6\"},"
"   \"uri\":{\"format\":\"uri\"},\"re\":{\"format\":\"regex\"},\"ptr\":{\"format\":\"json-pointer\"},"
"   \"n\":{\"type\":\"number\",\"minimum\":-1.5,\"maximum\":1e300}},"
"  \"additionalProperties\":false}},"
" \"type\":[\"object\",\"array\",\"string\",\"null\"],"
" \"properties\":{\"items\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/definitions/item\"},\"contains\":{\"required\":[\"tags\"]}},"
"  \"mode\":{\"enum\":[\"a\",\"b\",{\"c\":[1,2.0]}]},\"v\":{\"const\":[1,{\"x\":null}]},"
"  \"s\":{\"type\":\"string\",\"minLength\":2,\"maxLength\":5}},"
" \"patternProperties\":{\"^x-\\\\p{L}+$\":{\"type\":\"boolean\"}},"
" \"propertyNames\":{\"maxLength\":16},"
" \"dependencies\":{\"mode\":[\"v\"],\"s\":{\"required\":[\"items\"]}},"
" \"if\":{\"type\":\"array\"},\"then\":{\"items\":[{\"type\":\"integer\"}],\"additionalItems\":{\"$ref\":\"#\"}},"
" \"else\":{\"not\":{\"type\":\"string\",\"pattern\":\"^(a|aa)+$\"}},"
" \"anyOf\":[{\"type\":\"object\",\"maxProperties\":6},{\"not\":{\"type\":\"object\"}}],"
" \"oneOf\":[{\"type\":\"null\"},{\"not\":{\"type\":\"null\"}}]}";

static struct cg_schema *schema;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cg_error err;
	json_t *v = NULL;

	if (schema == NULL) {
		struct cg_schema_options opts = { 0 };
		json_error_t jerr;
		json_t *doc = json_loads(schema_text, 0, &jerr);
		opts.assert_format = true;
		if (doc == NULL || (schema = schema_compile(doc, &opts, &err)) == NULL)
			abort();
		json_decref(doc);
	}
	if (size > CG_FRAME_MAX)
		return 0;
	if (frame_parse_body((const char *)data, size, NULL, &v) != CG_BODY_OK)
		return 0;
	if (schema_validate(schema, v, &err) != schema_validate(schema, v, NULL))
		abort();
	json_decref(v);
	return 0;
}
