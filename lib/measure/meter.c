/* meter.c — back-end choice and the public entry points; see meter.h. */
#include "meter.h"
#include "meter_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "cpuset.h"
#include "util.h"

typedef struct meter *(*meter_ctor)(const struct meter_options *, char *, size_t);

static const struct {
	const char *name;
	meter_ctor open;
} backends[] = {
	{ "powercap", meter_powercap_open },
	{ "perf", meter_perf_open },
	{ "model", meter_model_open },
};

#define NBACKENDS (sizeof backends / sizeof backends[0])

/* Appends with snprintf semantics; a long reason is cut, never overrun. */
__attribute__((format(printf, 3, 4)))
static void append(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (!buf || !cap)
		return;
	size_t used = strnlen(buf, cap);
	if (used + 1 >= cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, cap - used, fmt, ap);
	va_end(ap);
}

struct meter *meter_open(const struct meter_options *o, char *why, size_t whylen)
{
	const char *kind = o && o->kind && *o->kind ? o->kind : "auto";
	char reason[512];
	int last_err = ENODEV;

	if (why && whylen)
		why[0] = '\0';
	if (!o) {
		errno = EINVAL;
		return NULL;
	}
	bool is_auto = strcmp(kind, "auto") == 0;
	bool known = is_auto;
	for (size_t i = 0; i < NBACKENDS; i++)
		known = known || strcmp(kind, backends[i].name) == 0;
	if (!known) {
		append(why, whylen, "unknown meter kind '%s' (auto|powercap|perf|model)", kind);
		errno = EINVAL;
		return NULL;
	}

	for (size_t i = 0; i < NBACKENDS; i++) {
		if (!is_auto && strcmp(kind, backends[i].name) != 0)
			continue;
		reason[0] = '\0';
		struct meter *m = backends[i].open(o, reason, sizeof reason);
		if (m) {
			append(why, whylen, "%s: %s%s", backends[i].name, reason,
			       !is_auto ? "" : i == 0 ? " (picked by auto)"
			       : " (picked by auto: the back ends before it failed)");
			return m;
		}
		last_err = errno ? errno : ENODEV;
		append(why, whylen, "%s: %s; ", backends[i].name, reason);
		if (last_err == ENOMEM)
			break;
	}
	/* drop the trailing "; " */
	if (why && whylen) {
		size_t n = strlen(why);
		if (n >= 2 && strcmp(why + n - 2, "; ") == 0)
			why[n - 2] = '\0';
	}
	errno = is_auto && last_err != ENOMEM ? ENODEV : last_err;
	return NULL;
}

int meter_read(struct meter *m, struct meter_reading *out)
{
	if (!m || !out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	out->t_ns = util_mono_ns();
	int ret = m->ops->read(m, out->t_ns, out);
	out->present = m->present;
	return ret;
}

const char *meter_backend(const struct meter *m) { return m->ops->name; }
bool meter_estimated(const struct meter *m) { return m->ops->estimated; }
unsigned meter_domains(const struct meter *m) { return m->present; }
double meter_max_wrap_seconds(const struct meter *m) { return m->max_wrap_seconds; }

const char *meter_domain_name(enum meter_domain d)
{
	static const char *const names[METER_NDOMAINS] = {
		[METER_PACKAGE] = "package", [METER_DRAM] = "dram", [METER_CORE] = "core",
		[METER_UNCORE] = "uncore", [METER_PSYS] = "psys",
	};
	return (unsigned)d < METER_NDOMAINS ? names[d] : "?";
}

void meter_close(struct meter *m)
{
	if (m)
		m->ops->close(m);
}

void meter_options_config(const struct jt_config *cfg, int socket, const struct cpuset *cpus,
			  struct meter_options *o)
{
	*o = (struct meter_options){
		.kind = cfg->meter, .powercap_root = cfg->powercap_root,
		.socket = socket, .cpus = cpus,
		.model_idle_package_watts = cfg->model_idle_package_watts,
		.model_active_watts_per_cpu = cfg->model_active_watts_per_cpu,
		.model_idle_dram_watts = cfg->model_idle_dram_watts,
		.model_active_dram_watts_per_cpu = cfg->model_active_dram_watts_per_cpu,
		.proc_root = "",
	};
	for (int d = 0; d < METER_NDOMAINS; d++)
		o->max_plausible_watts[d] = d == METER_DRAM ? cfg->max_plausible_dram_watts
							    : cfg->max_plausible_package_watts;
}

struct meter *meter_open_config(const struct jt_config *cfg, const struct cpu_layout *layout,
				char *why, size_t whylen)
{
	struct meter_options o;
	meter_options_config(cfg, layout->socket, &layout->package, &o);
	return meter_open(&o, why, whylen);
}
