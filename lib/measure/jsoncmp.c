/* jsoncmp.c — see jsoncmp.h. */
#include "jsoncmp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool close_enough(double a, double b)
{
	if (a == b)
		return true;
	if (!isfinite(a) || !isfinite(b))
		return false;
	double diff = fabs(a - b), big = fmax(fabs(a), fabs(b));
	return diff <= JSONCMP_REL_TOL * big || diff <= JSONCMP_ABS_TOL;
}

bool jsoncmp_equal(const json_t *a, const json_t *b)
{
	if (!a || !b)
		return false;
	if (json_is_boolean(a) || json_is_boolean(b))
		return json_typeof(a) == json_typeof(b);
	if (json_is_integer(a) && json_is_integer(b))
		return json_integer_value(a) == json_integer_value(b);
	if (json_is_number(a) && json_is_number(b))
		return close_enough(json_number_value(a), json_number_value(b));
	if (json_typeof(a) != json_typeof(b))
		return false;
	switch (json_typeof(a)) {
	case JSON_ARRAY: {
		size_t n = json_array_size(a);
		if (n != json_array_size(b))
			return false;
		for (size_t i = 0; i < n; i++)
			if (!jsoncmp_equal(json_array_get(a, i), json_array_get(b, i)))
				return false;
		return true;
	}
	case JSON_OBJECT: {
		const char *k;
		json_t *v;
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *)a, k, v)
			if (!jsoncmp_equal(v, json_object_get(b, k)))
				return false;
		return true;
	}
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
	case JSON_NULL:
		return true;
	default:
		return false;
	}
}

json_t *jsoncmp_shown(json_t *v, size_t budget)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (!text)
		return v ? NULL : json_null();
	size_t len = strlen(text);
	if (len <= budget) {
		free(text);
		return json_incref(v);
	}
	size_t keep = budget > 48 ? budget - 48 : 0;
	/* cut on a UTF-8 boundary: jansson refuses invalid strings */
	while (keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80)
		keep--;
	/* len > budget > keep + 48 bytes: the note fits where the text was */
	snprintf(text + keep, len + 1 - keep, "...(truncated, %zu bytes)", len);
	json_t *s = json_string(text);
	free(text);
	return s;
}
