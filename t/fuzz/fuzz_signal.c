/*
 * fuzz_signal.c — the /ws message parser (wire/signal_msg.c) on any bytes,
 * as actors/signal.c hands it every text frame.
 *
 * vc_sig_parse must never crash or leak, and must keep its contract
 * (wire/signal_msg.h), checked here against the table itself:
 *   - success: *obj is an object whose "type" names a row that travels
 *     VC_SIG_IN, *type is that row, every member the row lists is present
 *     when required and of its JSON type when present (null counts as absent);
 *   - failure: the code is "bad_message" or "unknown_type" with a reason;
 *     *obj is NULL exactly when the text is not a JSON object (then the type
 *     is unknown); "unknown_type" means a "type" string that names no
 *     incoming row; a known *type is the row the "type" member names;
 *   - vc_sig_ref gives the "type" string or NULL, never more than
 *     VC_SIG_REF_MAX bytes;
 *   - vc_sig_encode of a parsed message (as the relay sends it on) parses
 *     back to the same type, and with the first byte's pick of any row it
 *     parses to that row, or is refused when the row never comes in.
 *
 * The dictionary is not written by hand: t/fuzz/sig_dict (t/fuzz/sig_dict.c)
 * walks the same table with vc_sig_row() and prints every type and member
 * name; the fuzz build makes fuzz_signal.dict from it before each run, so it
 * cannot drift from the table, and make check runs sig_dict too
 * (t/fuzz/regress.sh) and holds its output against `vcd --list-messages`.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/signal_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			fprintf(stderr, "fuzz_signal: %s:%d: %s\n", __FILE__, __LINE__, #c);       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static bool json_ok(const json_t *v, enum vc_sig_json j)
{
	switch (j) {
	case J_STRING: return json_is_string(v);
	case J_INTEGER: return json_is_integer(v);
	case J_OBJECT: return json_is_object(v);
	case J_ANY: return v != NULL;
	}
	return false;
}

/* The row an incoming "type" names, or VC_SIG_COUNT. */
static enum vc_sig_type incoming(const char *name)
{
	for (unsigned t = 0; name != NULL && t < VC_SIG_COUNT; t++)
		if ((vc_sig_row(t)->dir & VC_SIG_IN) && strcmp(vc_sig_row(t)->name, name) == 0)
			return (enum vc_sig_type)t;
	return VC_SIG_COUNT;
}

/* Do the members of obj satisfy the row's fields? */
static bool fields_ok(const vc_sig_row_t *row, const json_t *obj)
{
	for (const vc_sig_field_t *f = row->fields; f->name != NULL; f++) {
		const json_t *v = json_object_get(obj, f->name);
		if (v == NULL || json_is_null(v)) {
			if (f->required)
				return false;
		} else if (!json_ok(v, f->json)) {
			return false;
		}
	}
	return true;
}

static void check_ref(const json_t *obj)
{
	const char *ref = vc_sig_ref(obj);
	const json_t *t = json_object_get(obj, "type");

	if (ref == NULL) {
		CHECK(!json_is_string(t) || json_string_length(t) > VC_SIG_REF_MAX);
		return;
	}
	CHECK(json_is_string(t) && ref == json_string_value(t));
	CHECK(strlen(ref) <= VC_SIG_REF_MAX);
}

/* Encode obj's members as a `type` message and parse that back. */
static void check_encode(enum vc_sig_type type, const json_t *body)
{
	const vc_sig_row_t *row = vc_sig_row(type);
	char *text = vc_sig_encode(type, body);
	enum vc_sig_type back;
	json_t *obj = NULL;
	const char *why = NULL, *code;

	CHECK(text != NULL);
	code = vc_sig_parse(text, strlen(text), &back, &obj, &why);
	CHECK(json_is_object(obj));
	CHECK(strcmp(json_string_value(json_object_get(obj, "type")), row->name) == 0);
	if (!(row->dir & VC_SIG_IN)) {
		CHECK(code != NULL && strcmp(code, "unknown_type") == 0 && back == VC_SIG_COUNT);
	} else if (fields_ok(row, obj)) {
		CHECK(code == NULL && back == type);
	} else {
		CHECK(code != NULL && strcmp(code, "bad_message") == 0 && back == type);
	}
	json_decref(obj);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum vc_sig_type type = (enum vc_sig_type) - 1;
	json_t *obj = (json_t *)data; /* must be overwritten */
	const char *why = NULL;
	const char *code = vc_sig_parse((const char *)data, size, &type, &obj, &why);
	const char *name;

	CHECK(type <= VC_SIG_COUNT);
	if (obj == NULL) {
		CHECK(code != NULL && strcmp(code, "bad_message") == 0 && why != NULL);
		CHECK(type == VC_SIG_COUNT);
		CHECK(vc_sig_ref(NULL) == NULL);
		return 0;
	}
	CHECK(json_is_object(obj));
	check_ref(obj);
	name = json_string_value(json_object_get(obj, "type"));
	if (code == NULL) {
		const vc_sig_row_t *row = vc_sig_row(type);
		CHECK(row != NULL && (row->dir & VC_SIG_IN));
		CHECK(name != NULL && strcmp(name, row->name) == 0);
		CHECK(fields_ok(row, obj));
		check_encode(type, obj);
	} else {
		CHECK(why != NULL);
		CHECK(type == incoming(name));
		if (strcmp(code, "unknown_type") == 0) {
			CHECK(name != NULL && type == VC_SIG_COUNT);
		} else {
			CHECK(strcmp(code, "bad_message") == 0);
			if (name != NULL)
				CHECK(type != VC_SIG_COUNT && !fields_ok(vc_sig_row(type), obj));
		}
	}
	/* Any object under any row's type, as vcd sends and relays. */
	check_encode((enum vc_sig_type)(data[0] % VC_SIG_COUNT), obj);
	json_decref(obj);
	return 0;
}
