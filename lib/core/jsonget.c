/* jsonget.c — members of outside JSON, NAN / NULL when absent (see jsonget.h). */
#include "jsonget.h"

#include <math.h>

static double number_or_nan(const json_t *v)
{
	return json_is_number(v) ? json_number_value(v) : NAN;
}

double jsonget_num(const json_t *o, const char *k)
{
	return number_or_nan(json_object_get(o, k));
}

double jsonget_at(const json_t *o, const char *k, size_t i)
{
	return number_or_nan(json_array_get(json_object_get(o, k), i));
}

const char *jsonget_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}
