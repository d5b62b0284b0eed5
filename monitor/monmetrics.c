/* monmetrics.c — see monmetrics.h. */
#include "monmetrics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "dynbuf.h"
#include "promtext.h"
#include "util.h"

#define P "jouletrace_monitor_"

static const char *const domains[LEDGER_NDOMAINS] = { "package", "dram" };
static const char *const parts[] = { "raw", "idle", "dynamic", "attributed", "unattributed" };

/* µJ as decimal joules, exactly (no float on the way). */
static int joules(struct dynbuf *b, int64_t uj)
{
	const char *sign = uj < 0 ? "-" : "";
	uint64_t a = uj < 0 ? (uint64_t)0 - (uint64_t)uj : (uint64_t)uj;
	return dynbuf_printf(b, "%s%" PRIu64 ".%06" PRIu64 "\n", sign, a / 1000000u, a % 1000000u);
}

static int ndomains(const struct ledger_life *l)
{
	for (int i = 0; i < l->npkgs; i++)
		if (l->pkg[i].has_dram)
			return 2;
	return 1;
}

static int64_t part_of(const struct ledger_energy *e, size_t part)
{
	const int64_t v[] = { e->raw_uj, e->idle_uj, e->dynamic_uj, e->attributed_uj,
			      e->unattributed_uj };
	return v[part];
}

static int write_packages(struct dynbuf *b, const struct ledger_life *l)
{
	int e = promtext_head(b, P "energy_joules_total", "counter",
			      "Energy drawn per package and domain, and how it was split.");
	for (int i = 0; !e && i < l->npkgs; i++)
		for (int d = 0; !e && d < (l->pkg[i].has_dram ? 2 : 1); d++)
			for (size_t p = 0; !e && p < sizeof parts / sizeof parts[0]; p++) {
				e = dynbuf_printf(b, P "energy_joules_total{package=\"%d\",domain=\"%s\","
						       "part=\"%s\"} ", l->pkg[i].id, domains[d], parts[p]);
				e = e ? e : joules(b, part_of(&l->pkg[i].e[d], p));
			}
	e = e ? e : promtext_head(b, P "dropped_busy_seconds_total", "counter",
				  "Busy CPU time no process could be booked for (its energy is unattributed).");
	for (int i = 0; !e && i < l->npkgs; i++)
		e = dynbuf_printf(b, P "dropped_busy_seconds_total{package=\"%d\"} %.9f\n", l->pkg[i].id,
				  (double)l->pkg[i].dropped_ns / 1e9);
	return e;
}

static int write_cgroups(struct dynbuf *b, const struct ledger_life *l)
{
	int e = promtext_head(b, P "cgroup_energy_joules_total", "counter",
			      "Dynamic energy attributed per cgroup (the top ones, the rest as other).");
	for (size_t i = 0; !e && i < l->ncgroups; i++)
		for (int d = 0; !e && d < ndomains(l); d++) {
			const char *cg = l->cgroups[i].cgroup;
			e = dynbuf_add_str(b, P "cgroup_energy_joules_total{cgroup=\"");
			e = e ? e : promtext_label_value(b, cg ? cg : "other");
			e = e ? e : dynbuf_printf(b, "\",domain=\"%s\"} ", domains[d]);
			e = e ? e : joules(b, l->cgroups[i].energy_uj[d]);
		}
	return e;
}

static int write_processes(struct dynbuf *b, const struct ledger_life *l, size_t top_n)
{
	int e = promtext_head(b, P "process_energy_joules_total", "counter",
			      "Dynamic energy attributed per process (the top ones by energy).");
	for (size_t i = 0; !e && i < l->ntop && i < top_n; i++) {
		const struct ledger_proc *p = &l->top[i];
		char comm[sizeof p->comm + 1];
		snprintf(comm, sizeof comm, "%.*s", (int)sizeof p->comm, p->comm);
		for (int d = 0; !e && d < ndomains(l); d++) {
			e = dynbuf_printf(b, P "process_energy_joules_total{pid=\"%d\",start=\"%" PRIu64
					       "\",comm=\"", p->tgid, p->start_ns);
			e = e ? e : promtext_label_value(b, comm);
			e = e ? e : dynbuf_printf(b, "\",uid=\"%u\",cgroup=\"", p->uid);
			e = e ? e : promtext_label_value(b, p->cgroup);
			e = e ? e : dynbuf_printf(b, "\",domain=\"%s\"} ", domains[d]);
			e = e ? e : joules(b, p->energy_uj[d]);
		}
	}
	return e;
}

static int counter(struct dynbuf *b, const char *name, const char *help, unsigned long long v)
{
	int e = promtext_head(b, name, "counter", help);
	return e ? e : dynbuf_printf(b, "%s %llu\n", name, v);
}

static int gauge(struct dynbuf *b, const char *name, const char *help, unsigned long long v)
{
	int e = promtext_head(b, name, "gauge", help);
	return e ? e : dynbuf_printf(b, "%s %llu\n", name, v);
}

static int write_self(struct dynbuf *b, const struct monmetrics_input *in)
{
	const struct monstats_view *s = in->stats;
	struct promtext_hist lag = { .bounds = monstats_bounds, .n = MONSTATS_NBOUNDS,
				     .cumulative = s->lag_cum, .sum = s->lag_sum_s };
	struct promtext_hist dur = { .bounds = monstats_bounds, .n = MONSTATS_NBOUNDS,
				     .cumulative = s->duration_cum, .sum = s->duration_sum_s };
	int e = promtext_head(b, P "cpu_seconds_total", "counter", "The monitor's own CPU time.");
	e = e ? e : dynbuf_printf(b, P "cpu_seconds_total{mode=\"user\"} %.6f\n"
				     P "cpu_seconds_total{mode=\"system\"} %.6f\n",
				  in->cpu_user_s, in->cpu_system_s);
	e = e ? e : counter(b, P "ticks_total", "Accounting ticks done.", s->ticks);
	e = e ? e : counter(b, P "missed_ticks_total",
			    "Ticks the timer fired while the monitor was still busy or asleep.",
			    s->missed_ticks);
	e = e ? e : promtext_head(b, P "tick_lag_seconds", "histogram",
				  "How late each tick woke after its timer expired.");
	e = e ? e : promtext_histogram(b, P "tick_lag_seconds", "", &lag);
	e = e ? e : promtext_head(b, P "tick_duration_seconds", "histogram",
				  "The work of one tick: on-CPU times, meters, books.");
	e = e ? e : promtext_histogram(b, P "tick_duration_seconds", "", &dur);
	e = e ? e : promtext_head(b, P "meter_errors_total", "counter",
				  "Meter readings that failed (those intervals are unmeasured).");
	for (int i = 0; !e && i < in->life->npkgs; i++)
		e = dynbuf_printf(b, P "meter_errors_total{package=\"%d\"} %llu\n",
				  in->life->pkg[i].id, s->meter_errors[i]);
	e = e ? e : counter(b, P "seals_total", "Period seals written to the seal file.", s->seals);
	e = e ? e : counter(b, P "seal_errors_total", "Period seals that could not be written.",
			    s->seal_errors);
	e = e ? e : gauge(b, P "redis_backlog", "Seals waiting for Redis.", in->redis_backlog);
	e = e ? e : gauge(b, P "processes", "Processes in the last closed period's table.",
			  s->processes);
	e = e ? e : gauge(b, P "resident_bytes", "The monitor's resident memory.",
			  in->resident_bytes);
	return e;
}

static int write_info(struct dynbuf *b, const struct monmetrics_input *in)
{
	int e = promtext_head(b, P "info", "gauge", "What this monitor measures with (always 1).");
	e = e ? e : dynbuf_add_str(b, P "info{attribution_source=\"");
	e = e ? e : promtext_label_value(b, in->attribution_source);
	e = e ? e : dynbuf_add_str(b, "\",meter=\"");
	e = e ? e : promtext_label_value(b, in->meter);
	e = e ? e : dynbuf_add_str(b, "\",host_id=\"");
	e = e ? e : promtext_label_value(b, in->host_id);
	return e ? e : dynbuf_add_str(b, "\"} 1\n");
}

int monmetrics_render(const struct monmetrics_input *in, struct dynbuf *out)
{
	int e = write_packages(out, in->life);
	e = e ? e : write_cgroups(out, in->life);
	e = e ? e : write_processes(out, in->life, in->top_n);
	e = e ? e : write_self(out, in);
	return e ? e : write_info(out, in);
}

void monmetrics_self(double *user_s, double *system_s, unsigned long long *resident_bytes)
{
	struct rusage ru;
	unsigned long long resident = 0;
	*user_s = *system_s = 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		*user_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
		*system_s = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	}
	char line[128];
	if (util_read_line("/proc/self/statm", line, sizeof line) == 0) {
		char *end;
		strtoull(line, &end, 10);                 /* size, then resident */
		resident = strtoull(end, NULL, 10);
	}
	*resident_bytes = resident * (unsigned long long)sysconf(_SC_PAGESIZE);
}
