/* units.c — figures with SI prefixes (see units.h). */
#include "units.h"

#include <math.h>
#include <stdio.h>

char *units_si(char *buf, size_t cap, double v, const char *unit)
{
	static const char *const prefix[] = { "p", "n", "\xc2\xb5", "m", "", "k", "M", "G", "T" };
	if (!isfinite(v)) {
		snprintf(buf, cap, "\xe2\x88\x92");     /* U+2212, an undefined figure */
		return buf;
	}
	if (v == 0) {
		snprintf(buf, cap, "0 %s", unit);
		return buf;
	}
	int e = (int)floor(log10(fabs(v)) / 3);
	e = e < -4 ? -4 : e > 4 ? 4 : e;
	double m = v / pow(1000, e);
	/* rounding to 3 digits can reach 1000: take the next prefix */
	if (fabs(m) >= 999.5 && e < 4) {
		e++;
		m /= 1000;
	}
	int digits = fabs(m) >= 99.95 ? 0 : fabs(m) >= 9.995 ? 1 : 2;
	snprintf(buf, cap, "%.*f %s%s", digits, m, prefix[e + 4], unit);
	return buf;
}
