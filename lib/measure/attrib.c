/* attrib.c — see attrib.h. */
#include "attrib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "lrsplit.h"
#include "measure.h"
#include "oncpu.h"

static const char *const role_names[] = { "candidate", "harness", "foreign" };

const char *attrib_role_name(enum attrib_role r)
{
	return (unsigned)r < 3 ? role_names[r] : "?";
}

/* Threads → processes.  Linear search: a window sees few processes. */
static int group(const struct oncpu_snapshot *d, struct attrib_proc **out, size_t *n)
{
	struct attrib_proc *g = calloc(d->n ? d->n : 1, sizeof *g);
	size_t k = 0;

	if (!g)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		const struct oncpu_entry *e = &d->e[i];
		if (e->tgid <= 0 || e->oncpu_ns == 0)
			continue; /* idle (swapper) is the baseline's, not a process's */
		size_t j = 0;
		while (j < k && g[j].pid != e->tgid)
			j++;
		if (j == k) {
			g[k].pid = e->tgid;
			g[k].ppid = e->ppid;
			memcpy(g[k].comm, e->comm, sizeof g[k].comm);
			k++;
		} else if (e->pid == e->tgid) {
			/* the main thread names the process */
			g[j].ppid = e->ppid;
			memcpy(g[j].comm, e->comm, sizeof g[j].comm);
		}
		g[j].comm[sizeof g[j].comm - 1] = '\0';
		g[j].cpu_ns += e->oncpu_ns;
		g[j].measurement_ns += e->measurement_ns;
	}
	*out = g;
	*n = k;
	return 0;
}

/* The candidate tree: the root and, to a fixpoint, every process whose parent is in it. */
static void assign_roles(struct attrib_proc *g, size_t n, const struct attrib_params *p)
{
	for (size_t i = 0; i < n; i++)
		g[i].role = g[i].pid == p->candidate_root ? ATTRIB_CANDIDATE
			  : g[i].pid == p->service_tgid   ? ATTRIB_HARNESS
							  : ATTRIB_FOREIGN;
	for (bool changed = true; changed;) {
		changed = false;
		for (size_t i = 0; i < n; i++) {
			if (g[i].role == ATTRIB_CANDIDATE)
				continue;
			for (size_t j = 0; j < n; j++)
				if (g[j].role == ATTRIB_CANDIDATE && g[i].ppid == g[j].pid) {
					g[i].role = ATTRIB_CANDIDATE;
					changed = true;
					break;
				}
		}
	}
}

static int by_role_then_time(const void *a, const void *b)
{
	const struct attrib_proc *x = a, *y = b;
	if (x->role != y->role)
		return (int)x->role - (int)y->role;
	if (x->cpu_ns != y->cpu_ns)
		return x->cpu_ns < y->cpu_ns ? 1 : -1;
	return x->pid - y->pid;
}

/* The shared largest-remainder split (lrsplit.h) into the rows' energy_uj.
 * Returns the unattributed rest, or INT64_MIN on ENOMEM. */
static int64_t split(struct attrib_proc *g, const uint64_t *w, size_t n, int64_t energy,
		     uint64_t denom)
{
	int64_t *share = calloc(n ? n : 1, sizeof *share), rest = INT64_MIN;
	struct lrsplit_rem *rem = calloc(n ? n : 1, sizeof *rem);

	if (share && rem) {
		rest = lrsplit(energy, w, n, denom, share, rem);
		for (size_t i = 0; i < n; i++)
			g[i].energy_uj = share[i];
	}
	free(share);
	free(rem);
	return rest;
}

/*
 * The weights of the split: on-CPU time, except that the baseline's busy time
 * is taken off everything that is not the candidate (seen or untracked), in
 * proportion: the background that ran while idle was calibrated is already
 * in the idle energy, and the candidate was not part of it.
 */
static int weigh(struct attrib_window *out, const struct attrib_params *p, uint64_t **wout)
{
	uint64_t other = out->busy_ns - out->role_ns[ATTRIB_CANDIDATE];
	uint64_t base = p->baseline_ns < other ? p->baseline_ns : other;
	uint64_t *w = calloc(out->n ? out->n : 1, sizeof *w);

	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < out->n; i++) {
		const struct attrib_proc *g = &out->procs[i];
		w[i] = g->role == ATTRIB_CANDIDATE || base == 0 ? g->cpu_ns
		     : (uint64_t)((unsigned __int128)g->cpu_ns * (other - base) / other);
	}
	out->baseline_ns = base;
	out->split_ns = out->busy_ns - base;
	*wout = w;
	return 0;
}

int attrib_split(const struct oncpu_snapshot *diff, const struct attrib_params *p,
		 struct attrib_window *out)
{
	uint64_t seen = 0, *w = NULL;
	int err;

	memset(out, 0, sizeof *out);
	if ((err = group(diff, &out->procs, &out->n)))
		return err;
	assign_roles(out->procs, out->n, p);
	for (size_t i = 0; i < out->n; i++) {
		seen += out->procs[i].cpu_ns;
		out->role_ns[out->procs[i].role] += out->procs[i].cpu_ns;
		if (out->procs[i].role == ATTRIB_FOREIGN)
			out->foreign_measurement_ns += out->procs[i].measurement_ns;
	}
	out->dynamic_uj = p->dynamic_uj;
	out->idle_uj = p->idle_uj;
	out->busy_ns = p->busy_ns > seen ? p->busy_ns : seen;
	if ((err = weigh(out, p, &w))) {
		attrib_window_free(out);
		return err;
	}
	if (out->split_ns == 0) {
		out->unattributed_uj = p->dynamic_uj;
	} else {
		out->unattributed_uj = split(out->procs, w, out->n, p->dynamic_uj, out->split_ns);
		if (out->unattributed_uj == INT64_MIN) {
			free(w);
			attrib_window_free(out);
			return -ENOMEM;
		}
	}
	free(w);
	out->capacity_ns = p->capacity_ns;
	uint64_t base = p->capacity_ns ? p->capacity_ns : out->busy_ns;
	if (base)
		out->foreign_percent = 100.0 * (double)out->foreign_measurement_ns / (double)base;
	out->contaminated = out->foreign_percent > p->foreign_max_percent;
	qsort(out->procs, out->n, sizeof *out->procs, by_role_then_time);
	return 0;
}

int attrib_trial_split(const struct oncpu_snapshot *diff, const struct attrib_trial_opts *o,
		       struct measure_trial *t, struct attrib_window *out)
{
	int64_t net = t->net_uj[METER_PACKAGE] + t->net_uj[METER_DRAM];
	struct attrib_params p = {
		.candidate_root = o->candidate_root, .service_tgid = o->service_tgid,
		.dynamic_uj = net,
		.idle_uj = (int64_t)(t->raw_uj[METER_PACKAGE] + t->raw_uj[METER_DRAM]) - net,
		.busy_ns = diff->busy_ns,
		.baseline_ns = calib_background_ns(o->calib, t->wall_ns),
		.foreign_max_percent = o->foreign_max_percent,
		.capacity_ns = t->wall_ns * (uint64_t)(o->measurement_cpus > 0 ? o->measurement_cpus : 1),
	};
	int err = attrib_split(diff, &p, out);
	if (err)
		return err;
	t->foreign_percent = out->foreign_percent;
	if (p.capacity_ns)
		t->cpu_share = (double)out->role_ns[ATTRIB_CANDIDATE] / (double)p.capacity_ns;
	/* /proc's jiffies are too coarse for a 20 ms sizing window */
	if (o->exact_cpu)
		t->cpu_ns = out->role_ns[ATTRIB_CANDIDATE];
	/* A shared package's energy is the neighbours' too: the candidate's
	 * figure is its part of the split (energy_basis candidate_share). */
	if (o->shared_package) {
		t->share = out->split_ns ? (double)out->role_ns[ATTRIB_CANDIDATE] /
					   (double)out->split_ns : 0;
		t->energy_j = t->net_total_j * t->share;
	}
	if (out->contaminated)
		t->flags |= MEASURE_FLAG_CONTAMINATED;
	return 0;
}

void attrib_window_free(struct attrib_window *w)
{
	free(w->procs);
	w->procs = NULL;
	w->n = 0;
}

int attrib_add(struct attrib_window *t, const struct attrib_window *w)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct attrib_proc *p = &w->procs[i];
		size_t j = 0;
		while (j < t->n && !(t->procs[j].pid == p->pid && t->procs[j].role == p->role))
			j++;
		if (j == t->n) {
			struct attrib_proc *np = realloc(t->procs, (t->n + 1) * sizeof *np);
			if (!np)
				return -ENOMEM;
			t->procs = np;
			t->procs[t->n++] = *p;
		} else {
			t->procs[j].cpu_ns += p->cpu_ns;
			t->procs[j].measurement_ns += p->measurement_ns;
			t->procs[j].energy_uj += p->energy_uj;
		}
	}
	t->dynamic_uj += w->dynamic_uj;
	t->idle_uj += w->idle_uj;
	t->unattributed_uj += w->unattributed_uj;
	t->busy_ns += w->busy_ns;
	t->baseline_ns += w->baseline_ns;
	t->split_ns += w->split_ns;
	for (int r = 0; r < 3; r++)
		t->role_ns[r] += w->role_ns[r];
	t->foreign_measurement_ns += w->foreign_measurement_ns;
	t->capacity_ns += w->capacity_ns;
	uint64_t base = t->capacity_ns ? t->capacity_ns : t->busy_ns;
	t->foreign_percent = base ? 100.0 * (double)t->foreign_measurement_ns / (double)base : 0;
	t->contaminated = t->contaminated || w->contaminated;
	qsort(t->procs, t->n, sizeof *t->procs, by_role_then_time);
	return 0;
}

/* Rows to show: the first max_rows, then one folded row per role for the rest. */
static json_t *rows_json(const struct attrib_window *w, size_t max_rows, bool seal)
{
	json_t *arr = json_array();
	struct attrib_proc fold[3];
	size_t folded[3] = { 0 };

	memset(fold, 0, sizeof fold);
	for (size_t i = 0; arr && i < w->n; i++) {
		const struct attrib_proc *p = &w->procs[i];
		if (i >= max_rows) {
			fold[p->role].role = p->role;
			fold[p->role].cpu_ns += p->cpu_ns;
			fold[p->role].energy_uj += p->energy_uj;
			folded[p->role]++;
			continue;
		}
		json_array_append_new(arr, seal
			? json_pack("{s:i, s:s, s:s, s:I, s:I}", "pid", p->pid, "comm", p->comm,
				    "role", attrib_role_name(p->role), "cpu_ns", (json_int_t)p->cpu_ns,
				    "energy_uj", (json_int_t)p->energy_uj)
			: json_pack("{s:i, s:s, s:s, s:f, s:f}", "pid", p->pid, "comm", p->comm,
				    "role", attrib_role_name(p->role), "cpu_seconds",
				    (double)p->cpu_ns / 1e9, "energy_joules", (double)p->energy_uj / 1e6));
	}
	for (int r = 0; arr && r < 3; r++) {
		if (!folded[r])
			continue;
		char name[32];
		snprintf(name, sizeof name, "(%zu more)", folded[r]);
		json_array_append_new(arr, seal
			? json_pack("{s:i, s:s, s:s, s:I, s:I}", "pid", 0, "comm", name, "role",
				    role_names[r], "cpu_ns", (json_int_t)fold[r].cpu_ns, "energy_uj",
				    (json_int_t)fold[r].energy_uj)
			: json_pack("{s:i, s:s, s:s, s:f, s:f}", "pid", 0, "comm", name, "role",
				    role_names[r], "cpu_seconds", (double)fold[r].cpu_ns / 1e9,
				    "energy_joules", (double)fold[r].energy_uj / 1e6));
	}
	return arr;
}

json_t *attrib_result_json(const struct attrib_window *w, const char *source, size_t max_rows)
{
	return json_pack("{s:s, s:o, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
		"attribution_source", source,
		"processes", rows_json(w, max_rows, false),
		"dynamic_energy_joules", (double)w->dynamic_uj / 1e6,
		"idle_energy_joules", (double)w->idle_uj / 1e6,
		"unattributed_energy_joules", (double)w->unattributed_uj / 1e6,
		"candidate_cpu_seconds", (double)w->role_ns[ATTRIB_CANDIDATE] / 1e9,
		"harness_cpu_seconds", (double)w->role_ns[ATTRIB_HARNESS] / 1e9,
		"foreign_cpu_seconds", (double)w->role_ns[ATTRIB_FOREIGN] / 1e9,
		"foreign_cpu_seconds_on_measurement_cpus", (double)w->foreign_measurement_ns / 1e9,
		"foreign_cpu_percent", w->foreign_percent,
		/* the package's busy time, and the part the idle baseline holds */
		"package_busy_cpu_seconds", (double)w->busy_ns / 1e9,
		"baseline_cpu_seconds", (double)w->baseline_ns / 1e9);
}

json_t *attrib_seal_json(const struct attrib_window *w, const char *source, size_t max_rows)
{
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:I}",
		"attribution_source", source,
		"dynamic_uj", (json_int_t)w->dynamic_uj, "idle_uj", (json_int_t)w->idle_uj,
		/* the split's denominator is busy_ns − baseline_ns */
		"busy_ns", (json_int_t)w->busy_ns, "baseline_ns", (json_int_t)w->baseline_ns,
		"processes", rows_json(w, max_rows, true),
		"unattributed_uj", (json_int_t)w->unattributed_uj);
}
