/* hosts.c — see hosts.h. */
#include "hosts.h"

#include <stdio.h>
#include <string.h>

#include "util.h"
#include "workers.h"

/* Appends "text" to buf, with "; " between parts; silently cut at cap. */
static void add_part(char *buf, size_t cap, const char *text)
{
	size_t n = strnlen(buf, cap);
	if (n + 1 < cap)
		snprintf(buf + n, cap - n, "%s%s", n ? "; " : "", text);
}

static void judge(struct host *h)
{
	json_t *cal = json_object_get(h->record, "calibration");
	const char *cpus = json_string_value(json_object_get(h->record, "measurement_cpus"));
	if (!cpus || cpuset_parse(cpus, &h->measurement) != 0 || cpuset_count(&h->measurement) == 0) {
		snprintf(h->why, sizeof h->why, "host %s: its worker names no measurement CPUs", h->id);
		return;
	}
	if (!json_is_true(json_object_get(cal, "valid"))) {
		const char *r = json_string_value(json_object_get(cal, "reason"));
		snprintf(h->why, sizeof h->why, "host %s: no valid calibration: %s (run "
			 "scripts/calibrate.sh there)", h->id, r ? r : "its worker did not say");
		return;
	}
	h->ready = true;
}

int hosts_load(struct redis *r, struct hosts *out)
{
	struct worker_entry *list = NULL;
	size_t n = 0;
	int err;

	memset(out, 0, sizeof *out);
	if ((err = workers_live(r, &out->workers, &list, &n)))
		return err;
	for (size_t i = 0; i < n; i++) {
		json_t *rec = json_loads(list[i].info_json, 0, NULL);
		const char *id = json_string_value(json_object_get(rec, "host_id"));
		json_int_t at = json_integer_value(json_object_get(rec, "heartbeat_at_ms"));
		struct host *h = NULL;
		for (size_t k = 0; id && k < out->n && !h; k++)
			if (strcmp(out->h[k].id, id) == 0)
				h = &out->h[k];
		if (id && !h && out->n < HOSTS_MAX && strlen(id) < sizeof h->id) {
			h = &out->h[out->n++];
			snprintf(h->id, sizeof h->id, "%s", id);
		}
		if (!h) {
			json_decref(rec);
			continue;
		}
		h->workers++;
		if (!h->record || at > json_integer_value(json_object_get(h->record, "heartbeat_at_ms"))) {
			json_decref(h->record);
			h->record = json_incref(rec);
		}
		json_decref(rec);
	}
	workers_list_free(list, n);
	for (size_t k = 0; k < out->n; k++)
		judge(&out->h[k]);
	return 0;
}

void hosts_free(struct hosts *hs)
{
	for (size_t k = 0; k < hs->n; k++)
		json_decref(hs->h[k].record);
	hs->n = 0;
}

const struct host *hosts_find(const struct hosts *hs, const char *id)
{
	for (size_t k = 0; k < hs->n; k++)
		if (strcmp(hs->h[k].id, id) == 0)
			return &hs->h[k];
	return NULL;
}

enum hosts_verdict hosts_admit(const struct hosts *hs, long cpu, struct cpuset *all_cpus,
			       char *reason, size_t cap)
{
	bool has_cpu = false;
	memset(all_cpus, 0, sizeof *all_cpus);
	reason[0] = '\0';
	for (size_t k = 0; k < hs->n; k++) {
		const struct host *h = &hs->h[k];
		struct cpuset both;
		cpuset_or(&both, all_cpus, &h->measurement);
		*all_cpus = both;
		bool fits = cpu < 0 || (cpu < CPUSET_MAX && cpuset_isset(&h->measurement, (int)cpu));
		has_cpu |= fits;
		if (fits && h->ready)
			return HOSTS_OK;
	}
	if (hs->n == 0) {
		snprintf(reason, cap, "no live worker: no host can measure now");
		return HOSTS_NOT_NOW;
	}
	if (!has_cpu) {
		for (size_t k = 0; k < hs->n; k++) {
			char cpus[128], part[200];
			cpuset_format(&hs->h[k].measurement, cpus, sizeof cpus);
			snprintf(part, sizeof part, "host %s: %s", hs->h[k].id, cpus);
			add_part(reason, cap, part);
		}
		return HOSTS_NO_SUCH_CPU;
	}
	for (size_t k = 0; k < hs->n; k++) {
		const struct host *h = &hs->h[k];
		if (!h->ready && (cpu < 0 || (cpu < CPUSET_MAX && cpuset_isset(&h->measurement, (int)cpu))))
			add_part(reason, cap, h->why);
	}
	return HOSTS_NOT_NOW;
}
