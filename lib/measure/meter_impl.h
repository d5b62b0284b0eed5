/*
 * meter_impl.h — private to the meter module (meter.c and its back ends).
 * Nothing outside lib/meter*.c may include this.
 *
 * Each back end's constructor returns a struct meter with its ops filled, or
 * NULL with errno set and a one-clause reason (without the back end name) in
 * why.  meter.c adds the back-end prefix and the auto fall-through.
 */
#ifndef JT_METER_IMPL_H
#define JT_METER_IMPL_H

#include "meter.h"

struct meter;

struct meter_ops {
	const char *name;
	bool estimated;
	/* Fills uj/wraps/present; t_ns is the caller's timestamp (model uses it for dt). */
	int (*read)(struct meter *m, uint64_t t_ns, struct meter_reading *out);
	void (*close)(struct meter *m);
};

struct meter {
	const struct meter_ops *ops;
	unsigned present;
	double max_wrap_seconds;
	void *priv;                 /* owned by the back end */
};

struct meter *meter_powercap_open(const struct meter_options *o, char *why, size_t whylen);
struct meter *meter_perf_open(const struct meter_options *o, char *why, size_t whylen);
struct meter *meter_model_open(const struct meter_options *o, char *why, size_t whylen);

#endif
