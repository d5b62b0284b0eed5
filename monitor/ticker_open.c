/* ticker_open.c — the ticker's set-up: packages, meters, calibration, on-CPU
 * source, books (see ticker.h). */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib.h"
#include "config.h"
#include "log.h"
#include "ticker_impl.h"
#include "util.h"

/* One meter per package, all of one back end (a seal names one meter), each
 * read often enough that its counters cannot wrap twice between readings. */
static int open_meters(struct ticker *t, const struct jt_config *cfg, char *why, size_t cap)
{
	const struct pkgmap *m = &t->facts.map;
	double tick_s = (double)t->o->tick_ns / 1e9;
	for (int i = 0; i < m->n; i++) {
		struct meter_options mo;
		char mwhy[512] = "";
		meter_options_config(cfg, m->id[i], &m->cpus[i], &mo);
		if (!(t->meters[i] = meter_open(&mo, mwhy, sizeof mwhy))) {
			util_say(why, cap, "package %d: no meter: %s", m->id[i], mwhy);
			return -errno;
		}
		log_info("package %d: meter %s", m->id[i], mwhy);
		const char *b = meter_backend(t->meters[i]);
		if (i > 0 && strcmp(b, t->facts.meter) != 0) {
			util_say(why, cap, "package %d's meter is %s, package %d's %s: set meter to one "
				 "back end", m->id[0], t->facts.meter, m->id[i], b);
			return -EINVAL;
		}
		t->facts.meter = b;
		t->facts.estimated = meter_estimated(t->meters[i]);
		double wrap = meter_max_wrap_seconds(t->meters[i]);
		if (wrap > 0 && tick_s >= wrap) {
			util_say(why, cap, "package %d: monitor_tick_ms %.0f is too long for its counters "
				 "(they may wrap twice in %.3f s)", m->id[i], tick_s * 1e3, wrap);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * One calibration profile: it applies to the package it was taken on (its
 * socket), on this host and meter, while valid, when that package has none
 * yet.  Every package it does not calibrate notes why, after the reasons of
 * the profiles tried before it.
 */
static void try_profile(struct ticker_facts *f, const char *path, const struct hostid *host,
			bool listed)
{
	struct calib_profile p;
	char reason[200] = "";
	int err = calib_load_checked(path, host->fingerprint, f->meter, NULL, util_realtime_ns(), &p,
				     reason, sizeof reason);
	for (int i = 0; i < f->map.n; i++) {
		if (!err && p.socket == f->map.id[i]) {
			if (!f->calibrated[i]) {
				f->calibrated[i] = true;
				f->calib[i] = p;
			} else {
				log_warn("package %d: %s ignored: already calibrated by profile %.12s",
					 f->map.id[i], path, f->calib[i].sha256);
			}
			continue;
		}
		if (f->calibrated[i])
			continue;
		char *w = f->calib_why[i];
		size_t used = strnlen(w, sizeof f->calib_why[i]);
		if (used + 1 >= sizeof f->calib_why[i])
			continue;
		if (err)
			snprintf(w + used, sizeof f->calib_why[i] - used, "%s%s: %s", used ? "; " : "",
				 path, reason);
		else
			snprintf(w + used, sizeof f->calib_why[i] - used, "%s%s: package %d's profile",
				 used ? "; " : "", path, p.socket);
	}
	if (err && listed)   /* named in monitor_calibration_files on purpose: say so */
		log_warn("monitor_calibration_files: %s not used: %s", path, reason);
}

/*
 * The idle power of each package, without which its busy energy cannot be
 * told apart: from calibration_file and monitor_calibration_files (FILE;FILE),
 * each profile for the package it names.  The model meter's idle is its own
 * law (model_idle_*_watts).  Any other package's idle is unknown: its energy
 * is sealed but none of it is split among processes, since handing idle power
 * out to whoever happened to run is the error to avoid.
 */
static void load_calibration(struct ticker *t, const struct jt_config *cfg,
			     const struct hostid *host, double (*idle)[LEDGER_NDOMAINS])
{
	struct ticker_facts *f = &t->facts;
	bool model = strcmp(f->meter, "model") == 0;

	try_profile(f, t->o->calibration_file, host, false);
	struct util_items it = { .rest = t->o->calibration_files, .sep = ';' };
	while (util_items_next(&it)) {
		char path[PATH_MAX];
		if (it.len && it.len < sizeof path) {   /* config.c refused longer */
			memcpy(path, it.item, it.len);
			path[it.len] = '\0';
			try_profile(f, path, host, true);
		}
	}
	for (int i = 0; i < f->map.n; i++) {
		const struct calib_profile *p = &f->calib[i];
		f->idle_source[i] = f->calibrated[i] ? "calibration" : model ? "model" : "unknown";
		idle[i][LEDGER_PACKAGE] = f->calibrated[i] ? p->idle_package_watts
					  : model ? cfg->model_idle_package_watts : NAN;
		idle[i][LEDGER_DRAM] = f->calibrated[i] ? p->idle_dram_watts
				       : model ? cfg->model_idle_dram_watts : NAN;
		f->idle_watts[i][0] = idle[i][LEDGER_PACKAGE];
		f->idle_watts[i][1] = idle[i][LEDGER_DRAM];
		if (f->calibrated[i])
			log_info("package %d: calibrated, idle %.3f W (+ DRAM %.3f W), profile %.12s",
				 f->map.id[i], p->idle_package_watts, p->idle_dram_watts, p->sha256);
		else if (model)
			log_info("package %d: the model meter's idle %.3f W (+ DRAM %.3f W) kept apart",
				 f->map.id[i], idle[i][LEDGER_PACKAGE], idle[i][LEDGER_DRAM]);
		else
			log_warn("package %d: idle power unknown, so none of its energy is split among "
				 "processes (run jouletrace-calibrate on it): %s", f->map.id[i],
				 f->calib_why[i]);
	}
}

int ticker_open_parts(struct ticker *t, const struct jt_config *cfg, const struct hostid *host,
		      char *why, size_t cap)
{
	struct ticker_facts *f = &t->facts;
	double idle[PKGMAP_MAX][LEDGER_NDOMAINS];
	char pwhy[256] = "";
	int err;

	memset(idle, 0, sizeof idle);
	if ((err = pkgmap_build("", t->o->packages, &f->map, pwhy, sizeof pwhy))) {
		util_say(why, cap, "monitor_packages '%s': %s", t->o->packages, pwhy);
		return err;
	}
	if ((err = open_meters(t, cfg, why, cap)))
		return err;
	load_calibration(t, cfg, host, idle);
	t->pa = procacct_open(&f->map, (unsigned)(t->o->tick_ns / 1000000u), t->o->allow_bpf,
			      f->source_note, sizeof f->source_note);
	if (!t->pa) {
		util_say(why, cap, "on-CPU accounting: %s", f->source_note);
		return -errno;
	}
	f->source = procacct_source_name(procacct_source(t->pa));
	if (t->o->require_bpf && procacct_source(t->pa) != PROCACCT_BPF) {
		util_say(why, cap, "attribution_source = bpf, but: %s", f->source_note);
		return -ENOTSUP;
	}
	if (f->source_note[0])
		log_warn("on-CPU times from /proc (labelled in every seal): %s", f->source_note);
	if (!(t->books = ledger_new(&f->map, (const double (*)[LEDGER_NDOMAINS])idle))) {
		util_say(why, cap, "the books: %s", strerror(errno));
		return -errno;
	}
	return 0;
}
