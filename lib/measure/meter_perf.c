/*
 * meter_perf.c — the perf `power` PMU back end; see meter.h.
 *
 * The RAPL PMU is a per-package "uncore" PMU: events are opened system-wide
 * (pid -1) on one CPU of the package; the kernel keeps a 64-bit count, so no
 * wrap handling is needed here.  count × scale (from sysfs) is Joules.
 */
#include "meter_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cpuset.h"
#include "util.h"

#define PMU_DIR "/sys/bus/event_source/devices/power"

struct perf_ev {
	int fd;
	enum meter_domain dom;
	double scale_uj;      /* µJ per count */
	uint64_t start;
};

struct perf_state {
	struct perf_ev ev[METER_NDOMAINS];
	size_t n;
};

static const struct {
	const char *event;
	enum meter_domain dom;
} perf_events[] = {
	{ "energy-pkg", METER_PACKAGE },
	{ "energy-ram", METER_DRAM },
	{ "energy-cores", METER_CORE },
	{ "energy-psys", METER_PSYS },
};

static int read_count(int fd, uint64_t *out)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof v);
	if (r < 0)
		return -errno;
	if (r != (ssize_t)sizeof v)
		return -EIO;
	*out = v;
	return 0;
}

/* "event=0x02" → 2; only the plain event= form the RAPL PMU uses. */
static int parse_event_config(const char *s, uint64_t *cfg)
{
	if (strncmp(s, "event=", 6) != 0)
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s + 6, &end, 0);
	if (errno || end == s + 6 || *end)
		return -EINVAL;
	*cfg = v;
	return 0;
}

/* Opens one event; -ENOENT when the PMU does not offer it. */
static int open_event(int type, int cpu, const char *event, struct perf_ev *ev,
		      char *why, size_t whylen)
{
	char path[256], buf[128];
	uint64_t config;
	double scale;
	int ret;

	snprintf(path, sizeof path, PMU_DIR "/events/%s", event);
	if ((ret = util_read_line(path, buf, sizeof buf)) < 0) {
		if (ret != -ENOENT)
			util_say(why, whylen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (parse_event_config(buf, &config) < 0) {
		util_say(why, whylen, "%s: unexpected '%s'", path, buf);
		return -EINVAL;
	}
	snprintf(path, sizeof path, PMU_DIR "/events/%s.scale", event);
	if (util_read_line(path, buf, sizeof buf) < 0 ||
	    util_parse_double(buf, &scale) < 0 || !(scale > 0)) {
		util_say(why, whylen, "%s: missing or invalid scale", path);
		return -EINVAL;
	}
	snprintf(path, sizeof path, PMU_DIR "/events/%s.unit", event);
	if (util_read_line(path, buf, sizeof buf) == 0 && strcmp(buf, "Joules") != 0) {
		util_say(why, whylen, "%s: unit '%s', expected Joules", path, buf);
		return -EINVAL;
	}

	struct perf_event_attr attr = { 0 };
	attr.type = (uint32_t)type;
	attr.size = sizeof attr;
	attr.config = config;
	int fd = (int)syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		util_say(why, whylen, "perf_event_open(%s, cpu %d): %s%s", event, cpu, strerror(-ret),
		    ret == -EACCES || ret == -EPERM
		    ? " (needs root, CAP_PERFMON, or kernel.perf_event_paranoid <= 0)" : "");
		return ret;
	}
	ev->fd = fd;
	ev->scale_uj = scale * 1e6;
	if ((ret = read_count(fd, &ev->start)) < 0) {
		util_say(why, whylen, "reading %s: %s", event, strerror(-ret));
		close(fd);
		return ret;
	}
	return 0;
}

static int perf_read(struct meter *m, uint64_t t_ns, struct meter_reading *out)
{
	struct perf_state *s = m->priv;
	(void)t_ns;
	for (size_t i = 0; i < s->n; i++) {
		uint64_t v = 0;
		int ret = read_count(s->ev[i].fd, &v);
		if (ret)
			return ret;
		out->uj[s->ev[i].dom] = (uint64_t)llround((double)(v - s->ev[i].start) * s->ev[i].scale_uj);
	}
	return 0;
}

static void perf_close(struct meter *m)
{
	struct perf_state *s = m->priv;
	for (size_t i = 0; i < s->n; i++)
		close(s->ev[i].fd);
	free(s);
	free(m);
}

static const struct meter_ops perf_ops = {
	.name = "perf", .estimated = false, .read = perf_read, .close = perf_close,
};

/* The CPU to open on: the first measurement CPU, else the PMU's CPU for the socket. */
static int pick_cpu(const struct meter_options *o)
{
	if (o->cpus && cpuset_first(o->cpus) >= 0)
		return cpuset_first(o->cpus);
	char buf[256];
	struct cpuset mask;
	if (util_read_line(PMU_DIR "/cpumask", buf, sizeof buf) < 0 || cpuset_parse(buf, &mask) < 0)
		return o->socket == 0 ? 0 : -ENOENT;
	for (int c = cpuset_first(&mask); c >= 0; c = cpuset_next(&mask, c + 1))
		if (cpuset_package_of("", c) == o->socket || (o->socket == 0 && cpuset_package_of("", c) == -ENOENT))
			return c;
	return -ENOENT;
}

struct meter *meter_perf_open(const struct meter_options *o, char *why, size_t whylen)
{
	struct perf_state *s = calloc(1, sizeof *s);
	struct meter *m = calloc(1, sizeof *m);
	char buf[64];
	long long type;
	int ret = 0, cpu;

	if (!s || !m) {
		ret = -ENOMEM;
		util_say(why, whylen, "out of memory");
		goto out;
	}
	if ((ret = util_read_line(PMU_DIR "/type", buf, sizeof buf)) < 0 ||
	    util_parse_i64(buf, &type) < 0 || type < 0 || type > 0x7fffffff) {
		ret = ret < 0 ? ret : -EINVAL;
		util_say(why, whylen, PMU_DIR ": %s (no RAPL perf PMU)",
		    ret == -ENOENT ? "absent" : "unreadable type");
		goto out;
	}
	if ((cpu = pick_cpu(o)) < 0) {
		ret = -ENODEV;
		util_say(why, whylen, "no CPU of socket %d in " PMU_DIR "/cpumask", o->socket);
		goto out;
	}
	for (size_t i = 0; i < sizeof perf_events / sizeof perf_events[0]; i++) {
		struct perf_ev *ev = &s->ev[s->n];
		char ewhy[256] = "";
		ret = open_event((int)type, cpu, perf_events[i].event, ev, ewhy, sizeof ewhy);
		if (ret == -ENOENT && perf_events[i].dom != METER_PACKAGE) {
			ret = 0;
			continue;
		}
		if (ret == -ENOENT) {
			util_say(why, whylen, PMU_DIR " has no energy-pkg event (this CPU or "
			    "hypervisor exposes no package counter)");
			ret = -ENODEV;
			goto out;
		}
		if (ret) {
			/* Optional domains may fail alone; package may not. */
			if (perf_events[i].dom != METER_PACKAGE) {
				ret = 0;
				continue;
			}
			util_say(why, whylen, "%s", ewhy);
			goto out;
		}
		ev->dom = perf_events[i].dom;
		m->present |= METER_BIT(ev->dom);
		s->n++;
	}
	m->ops = &perf_ops;
	m->priv = s;
	m->max_wrap_seconds = 0;
	util_say(why, whylen, "power PMU type %lld on CPU %d, %zu event(s)", type, cpu, s->n);
out:
	if (ret) {
		if (s)
			for (size_t i = 0; i < s->n; i++)
				close(s->ev[i].fd);
		free(s);
		free(m);
		errno = -ret;
		return NULL;
	}
	return m;
}
