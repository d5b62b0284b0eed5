/*
 * units.h — figures as people read them, the same in the client's tables and
 * the server's pages: an SI prefix chosen so the mantissa is 1..999, three
 * significant digits ("1.82 mJ", "13.2 W", "204 ms", "731 µJ").
 *
 * units_si writes "−" for a NAN or infinite value (an undefined figure is
 * never shown as 0).  Always NUL-terminates buf (cap ≥ 1); returns buf.
 * Thread safety: pure.
 */
#ifndef JT_UNITS_H
#define JT_UNITS_H

#include <stddef.h>

/* v in base units (J, W, s) with unit "J", "W", "s"; prefixes from p (1e-12) to T. */
char *units_si(char *buf, size_t cap, double v, const char *unit);

#endif
