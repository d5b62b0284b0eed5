/* candidate.c — see candidate.h. */
#include "candidate.h"

#include <stdarg.h>
#include <stdio.h>

int candidate_fail(struct candidate_error *e, int err, const char *type, const char *fmt, ...)
{
	va_list ap;
	snprintf(e->type, sizeof e->type, "%s", type);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	return err;
}
