/* period.c — see period.h. */
#include "period.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jcs.h"
#include "util.h"

#define REASON_MAX 512

static json_t *energy_json(const struct ledger_energy *e)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "raw_uj", (json_int_t)e->raw_uj,
			 "idle_uj", (json_int_t)e->idle_uj, "dynamic_uj", (json_int_t)e->dynamic_uj,
			 "attributed_uj", (json_int_t)e->attributed_uj,
			 "unattributed_uj", (json_int_t)e->unattributed_uj);
}

static json_t *calib_json(const struct calib_profile *c)
{
	if (!c)
		return json_null();
	return json_pack("{s:s, s:f, s:f, s:s}", "sha256", c->sha256,
			 "idle_package_watts", c->idle_package_watts,
			 "idle_dram_watts", c->idle_dram_watts, "measured_at", c->measured_at);
}

static json_t *watts_json(double w)
{
	return isfinite(w) ? json_real(w) : json_null();
}

/* Where the idle power kept apart came from; unknown: nothing was split. */
static json_t *idle_json(const struct period_pkg *info)
{
	return json_pack("{s:s, s:o, s:o}", "source",
			 info->idle_source ? info->idle_source : "unknown",
			 "package_watts", watts_json(info->idle_watts[0]),
			 "dram_watts", watts_json(info->idle_watts[1]));
}

static json_t *package_json(const struct ledger_pkg_total *t, const struct period_pkg *info)
{
	const char *err = info->meter_error ? info->meter_error : "";
	return json_pack("{s:i, s:s, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:o, s:I, s:I}",
		"id", t->id, "cpus", info->cpus ? info->cpus : "",
		"calibration", calib_json(info->calib), "idle", idle_json(info),
		"package", energy_json(&t->e[LEDGER_PACKAGE]),
		"dram", t->has_dram ? energy_json(&t->e[LEDGER_DRAM]) : json_null(),
		"intervals", (json_int_t)t->intervals,
		"measured_ns", (json_int_t)t->measured_ns,
		"unmeasured_ns", (json_int_t)t->unmeasured_ns,
		"failed_intervals", (json_int_t)t->failed_intervals,
		"meter_error", jcs_string_clean(err),
		"busy_ns", (json_int_t)t->busy_ns, "dropped_ns", (json_int_t)t->dropped_ns);
}

static json_t *proc_json(const struct ledger_proc *p)
{
	char comm[sizeof p->comm + 1];

	memcpy(comm, p->comm, sizeof p->comm);
	comm[sizeof p->comm] = '\0';
	return json_pack("{s:i, s:I, s:o, s:I, s:o, s:I, s:I, s:I, s:I, s:b}",
		"pid", (int)p->tgid, "start_boot_ns", (json_int_t)p->start_ns,
		"comm", jcs_string_clean(comm), "uid", (json_int_t)p->uid,
		"cgroup", jcs_string_clean(p->cgroup ? p->cgroup : ""),
		"energy_uj", (json_int_t)p->total_uj,
		"package_uj", (json_int_t)p->energy_uj[LEDGER_PACKAGE],
		"dram_uj", (json_int_t)p->energy_uj[LEDGER_DRAM],
		"cpu_ns", (json_int_t)p->cpu_ns, "exited", p->exited);
}

/* The first top_processes rows, and other: the ledger's other plus any row
 * past top_processes, so the sums still hold. */
static int processes_json(const struct period_input *in, json_t *payload)
{
	const struct ledger_period *lp = in->period;
	struct ledger_proc other = lp->other;
	size_t count = lp->other_count;
	json_t *arr = json_array();

	if (!arr || json_object_set_new(payload, "processes", arr))
		return -ENOMEM;
	for (size_t i = 0; i < lp->ntop; i++) {
		const struct ledger_proc *p = &lp->top[i];
		if (i >= in->top_processes) {
			for (int d = 0; d < LEDGER_NDOMAINS; d++)
				other.energy_uj[d] += p->energy_uj[d];
			other.total_uj += p->total_uj;
			other.cpu_ns += p->cpu_ns;
			count++;
		} else if (json_array_append_new(arr, proc_json(p))) {
			return -ENOMEM;
		}
	}
	json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I}", "processes", (json_int_t)count,
			      "energy_uj", (json_int_t)other.total_uj,
			      "package_uj", (json_int_t)other.energy_uj[LEDGER_PACKAGE],
			      "dram_uj", (json_int_t)other.energy_uj[LEDGER_DRAM],
			      "cpu_ns", (json_int_t)other.cpu_ns);
	return o && json_object_set_new(payload, "other", o) == 0 ? 0 : -ENOMEM;
}

/* packages, totals, and why the period is incomplete (appended to reasons). */
static int packages_json(const struct period_input *in, json_t *payload, json_t *reasons)
{
	const struct ledger_period *lp = in->period;
	struct ledger_energy tot = { 0 };
	json_t *arr = json_array();
	char why[REASON_MAX];

	if (!arr || json_object_set_new(payload, "packages", arr))
		return -ENOMEM;
	for (int i = 0; i < lp->npkgs; i++) {
		const struct ledger_pkg_total *t = &lp->pkg[i];
		if (json_array_append_new(arr, package_json(t, &in->pkgs[i])))
			return -ENOMEM;
		for (int d = 0; d < LEDGER_NDOMAINS; d++) {
			tot.raw_uj += t->e[d].raw_uj;
			tot.idle_uj += t->e[d].idle_uj;
			tot.dynamic_uj += t->e[d].dynamic_uj;
			tot.attributed_uj += t->e[d].attributed_uj;
			tot.unattributed_uj += t->e[d].unattributed_uj;
		}
		if (!t->failed_intervals)
			continue;
		const char *err = in->pkgs[i].meter_error;
		snprintf(why, sizeof why, "package %d: %llu of %llu intervals without a meter "
			 "reading (%.3f s unmeasured)%s%s", t->id,
			 (unsigned long long)t->failed_intervals, (unsigned long long)t->intervals,
			 (double)t->unmeasured_ns / 1e9, err && err[0] ? ": " : "", err ? err : "");
		if (json_array_append_new(reasons, jcs_string_clean(why)))
			return -ENOMEM;
	}
	if (lp->intervals == 0 && json_array_append_new(reasons, json_string(
			"no interval in the period: nothing was measured")))
		return -ENOMEM;
	return json_object_set_new(payload, "totals", energy_json(&tot)) ? -ENOMEM : 0;
}

/*
 * The period object both kinds carry.  Times in µs since the epoch: in ns
 * they pass 2^53, which a JCS integer may not (RFC 8785 numbers are doubles,
 * and a verifier would read them rounded); µs stay below it until 2255.
 */
static json_t *span_json(uint64_t start_ns, uint64_t end_ns, uint64_t intervals, uint64_t missed)
{
	char s[UTIL_RFC3339_LEN], e[UTIL_RFC3339_LEN];
	uint64_t start = start_ns / 1000, end = end_ns / 1000;

	util_rfc3339_ms(start * 1000, s);
	util_rfc3339_ms(end * 1000, e);
	return json_pack("{s:s, s:s, s:I, s:I, s:f, s:I, s:I}", "start", s, "end", e,
			 "start_unix_us", (json_int_t)start, "end_unix_us", (json_int_t)end,
			 "seconds", (double)(end - start) / 1e6, "intervals", (json_int_t)intervals,
			 "missed_ticks", (json_int_t)missed);
}

json_t *period_payload(const struct period_input *in)
{
	json_t *p = NULL, *reasons = NULL;
	int err = -EINVAL;

	if (!in || !in->host || !in->period || !in->pkgs ||
	    in->end_unix_ns / 1000 <= in->start_unix_ns / 1000)
		goto out;
	err = -ENOMEM;
	const char *note = in->attribution_note ? in->attribution_note : "";
	p = json_pack("{s:i, s:s, s:s, s:o, s:{s:I, s:s, s:o, s:I}, s:o, s:{s:s, s:b}}",
		"seal_version", 1, "issuer", "jouletrace", "kind", "monitor_period",
		"host", hostid_json(in->host, in->host_id),
		"monitor", "tick_ms", (json_int_t)in->tick_ms,
		"attribution_source", in->attribution_source ? in->attribution_source : "",
		"attribution_note", jcs_string_clean(note),
		"top_processes", (json_int_t)in->top_processes,
		"period", span_json(in->start_unix_ns, in->end_unix_ns, in->period->intervals,
				    in->missed_ticks),
		"meter", "backend", in->meter_backend ? in->meter_backend : "",
		"estimated", in->meter_estimated);
	if (!p || !(reasons = json_array()))
		goto out;
	if ((err = packages_json(in, p, reasons)) || (err = processes_json(in, p)))
		goto out;
	err = -ENOMEM;
	if (json_object_set_new(p, "complete", json_boolean(json_array_size(reasons) == 0)) ||
	    json_object_set(p, "incomplete_reasons", reasons))
		goto out;
	err = 0;
out:
	json_decref(reasons);
	if (err) {
		json_decref(p);
		errno = -err;
		return NULL;
	}
	return p;
}

json_t *period_gap_payload(const struct hostid *host, const char *host_id, uint64_t start_unix_ns,
			   uint64_t end_unix_ns, const char *reason)
{
	json_t *p;

	if (!host || end_unix_ns / 1000 <= start_unix_ns / 1000) {
		errno = EINVAL;
		return NULL;
	}
	if (!reason)
		reason = "monitor not running";
	p = json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:b, s:[o]}",
		"seal_version", 1, "issuer", "jouletrace", "kind", "monitor_gap",
		"host", hostid_json(host, host_id),
		"period", span_json(start_unix_ns, end_unix_ns, 0, 0),
		"reason", jcs_string_clean(reason), "complete", false,
		"incomplete_reasons", jcs_string_clean(reason));
	if (!p)
		errno = ENOMEM;
	return p;
}
