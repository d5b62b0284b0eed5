/* chaincheck.c — see chaincheck.h. */
#include "chaincheck.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dynbuf.h"
#include "util.h"

#define MAX_SAFE 9007199254740991.0   /* 2^53 − 1: JCS integers are doubles */

static const char *const parts[] = { "raw_uj", "idle_uj", "dynamic_uj", "attributed_uj",
				     "unattributed_uj" };
enum { RAW, IDLE, DYN, ATTR, UNATTR, NPARTS };

struct chaincheck {
	struct sealcheck_keys keys;
	FILE *out;
	struct chaincheck_stats st;
	const char *file;            /* where the line being checked is */
	size_t lineno;
	bool have_prev;              /* the previous line's payload was read */
	uint64_t prev_seq, prev_end;
	char prev_hash[65];
	char prev_where[64];         /* "line N" or "FILE:N", for the messages */
};

__attribute__((format(printf, 2, 3)))
static void problem(struct chaincheck *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(c->out, "%s:%zu: ", c->file, c->lineno);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
	c->st.problems++;
}

/* o[k] as an exact integer of a seal (a double ≤ 2^53 with no fraction). */
static bool get_int(const json_t *o, const char *k, int64_t *v)
{
	const json_t *x = json_object_get(o, k);
	double d = json_is_number(x) ? json_number_value(x) : NAN;
	if (!(fabs(d) <= MAX_SAFE && d == floor(d)))
		return false;
	*v = (int64_t)d;
	return true;
}

/* One domain's energies into e[], checked; false when a member is missing. */
static bool energy(struct chaincheck *c, const json_t *o, const char *what, int64_t e[NPARTS])
{
	for (int i = 0; i < NPARTS; i++)
		if (!get_int(o, parts[i], &e[i])) {
			problem(c, "%s: %s missing or not an integer", what, parts[i]);
			return false;
		}
	for (int i = 0; i < NPARTS; i++)
		if (e[i] < 0)
			problem(c, "%s: %s is negative (%lld)", what, parts[i], (long long)e[i]);
	if (e[RAW] != e[IDLE] + e[DYN])
		problem(c, "%s: raw_uj %lld != idle_uj %lld + dynamic_uj %lld", what,
			(long long)e[RAW], (long long)e[IDLE], (long long)e[DYN]);
	if (e[DYN] != e[ATTR] + e[UNATTR])
		problem(c, "%s: dynamic_uj %lld != attributed_uj %lld + unattributed_uj %lld", what,
			(long long)e[DYN], (long long)e[ATTR], (long long)e[UNATTR]);
	return true;
}

/* packages and totals; attributed[0|1] = Σ package / dram attributed_uj. */
static void packages(struct chaincheck *c, const json_t *p, int64_t attributed[2])
{
	const json_t *arr = json_object_get(p, "packages"), *pkg;
	int64_t tot[NPARTS] = { 0 }, e[NPARTS], want[NPARTS], failed;
	bool complete = json_is_true(json_object_get(p, "complete"));
	size_t i;
	char what[64];

	if (!json_is_array(arr)) {
		problem(c, "packages missing");
		return;
	}
	json_array_foreach(arr, i, pkg) {
		static const char *const dom[2] = { "package", "dram" };
		for (int d = 0; d < 2; d++) {
			const json_t *o = json_object_get(pkg, dom[d]);
			if (d == 1 && json_is_null(o))
				continue;
			snprintf(what, sizeof what, "packages[%zu].%s", i, dom[d]);
			if (!energy(c, o, what, e))
				continue;
			for (int k = 0; k < NPARTS; k++)
				tot[k] += e[k];
			attributed[d] += e[ATTR];
		}
		if (get_int(pkg, "failed_intervals", &failed) && failed > 0 && complete)
			problem(c, "packages[%zu]: %lld failed intervals, yet complete is true", i,
				(long long)failed);
	}
	const json_t *totals = json_object_get(p, "totals");
	if (!energy(c, totals, "totals", want))
		return;
	for (int k = 0; k < NPARTS; k++)
		if (want[k] != tot[k])
			problem(c, "totals.%s %lld != %lld, the sum of the packages", parts[k],
				(long long)want[k], (long long)tot[k]);
}

/* processes + other = attributed, per domain; bounded and sorted. */
static void processes(struct chaincheck *c, const json_t *p, const int64_t attributed[2])
{
	const json_t *arr = json_object_get(p, "processes"), *pr, *other = json_object_get(p, "other");
	int64_t top = 0, prev = INT64_MAX, sum[3] = { 0 }, v[3], o[3];
	static const char *const k[3] = { "energy_uj", "package_uj", "dram_uj" };
	size_t i;

	if (!json_is_array(arr) || !json_is_object(other)) {
		problem(c, "processes or other missing");
		return;
	}
	if (!get_int(json_object_get(p, "monitor"), "top_processes", &top))
		problem(c, "monitor.top_processes missing");
	else if ((int64_t)json_array_size(arr) > top)
		problem(c, "%zu processes, more than top_processes %lld", json_array_size(arr),
			(long long)top);
	json_array_foreach(arr, i, pr) {
		if (!get_int(pr, k[0], &v[0]) || !get_int(pr, k[1], &v[1]) || !get_int(pr, k[2], &v[2])) {
			problem(c, "processes[%zu]: energy_uj, package_uj or dram_uj missing", i);
			continue;
		}
		if (v[0] != v[1] + v[2])
			problem(c, "processes[%zu]: energy_uj %lld != package_uj + dram_uj", i,
				(long long)v[0]);
		if (v[0] > prev)
			problem(c, "processes[%zu]: not sorted by energy_uj (descending)", i);
		prev = v[0];
		for (int j = 0; j < 3; j++)
			sum[j] += v[j];
	}
	for (int j = 0; j < 3; j++)
		if (!get_int(other, k[j], &o[j])) {
			problem(c, "other.%s missing", k[j]);
			return;
		}
	int64_t want[3] = { attributed[0] + attributed[1], attributed[0], attributed[1] };
	for (int j = 0; j < 3; j++)
		if (sum[j] + o[j] != want[j])
			problem(c, "processes' %s %lld + other %lld != attributed %lld", k[j],
				(long long)sum[j], (long long)o[j], (long long)want[j]);
}

/* start < end, the texts agree, and no gap or overlap with the previous seal
 * (times in µs since the epoch, period.h says why). */
static void span(struct chaincheck *c, const json_t *period, uint64_t *start, uint64_t *end)
{
	int64_t s, e;
	char text[UTIL_RFC3339_LEN];
	const char *ts = json_string_value(json_object_get(period, "start"));
	const char *te = json_string_value(json_object_get(period, "end"));

	if (!get_int(period, "start_unix_us", &s) || !get_int(period, "end_unix_us", &e) ||
	    s < 0 || e < 0) {
		problem(c, "period.start_unix_us or end_unix_us missing");
		*start = *end = 0;
		return;
	}
	*start = (uint64_t)s;
	*end = (uint64_t)e;
	if (s >= e)
		problem(c, "period starts at %lld, not before its end %lld", (long long)s, (long long)e);
	util_rfc3339_ms(*start * 1000, text);
	if (!ts || strcmp(ts, text) != 0)
		problem(c, "period.start \"%s\" is not start_unix_us (%s)", ts ? ts : "", text);
	util_rfc3339_ms(*end * 1000, text);
	if (!te || strcmp(te, text) != 0)
		problem(c, "period.end \"%s\" is not end_unix_us (%s)", te ? te : "", text);
	if (c->have_prev && *start != c->prev_end)
		problem(c, "period starts at %lld but the previous seal (%s) ended at %llu: %s of "
			"%.3f s", (long long)s, c->prev_where, (unsigned long long)c->prev_end,
			*start > c->prev_end ? "a gap" : "an overlap",
			fabs((double)*start - (double)c->prev_end) / 1e6);
}

/* The sequence and hash link to the previous seal. */
static void link_to_prev(struct chaincheck *c, const json_t *p, int64_t seq)
{
	const json_t *prev = json_object_get(p, "prev_seal_sha256");
	const char *hex = json_string_value(prev);

	if (!c->have_prev) {
		if (seq == 1 && !json_is_null(prev))
			problem(c, "sequence 1 with a prev_seal_sha256 (must be null)");
		else if (seq > 1 && !(hex && strlen(hex) == 64 && util_is_lower_hex(hex, 64)))
			problem(c, "sequence %lld without a prev_seal_sha256", (long long)seq);
		return;
	}
	if ((uint64_t)seq != c->prev_seq + 1)
		problem(c, "sequence %lld after %llu (%s): expected %llu", (long long)seq,
			(unsigned long long)c->prev_seq, c->prev_where,
			(unsigned long long)c->prev_seq + 1);
	if (!hex || strcmp(hex, c->prev_hash) != 0)
		problem(c, "prev_seal_sha256 is not the hash of the previous payload (%s)",
			c->prev_where);
}

/* Everything of one parsed seal; updates the chain state. */
static void check_seal(struct chaincheck *c, const json_t *seal)
{
	char reason[SEAL_REASON_MAX], key_id[SEAL_KEY_ID_LEN + 1];
	const json_t *p = json_object_get(seal, "payload");
	const char *kind = json_string_value(json_object_get(p, "kind"));
	int64_t seq = 0, attributed[2] = { 0, 0 };
	uint64_t start, end;

	if (seal_verify_any(seal, (const unsigned char (*)[SEAL_PK_BYTES])c->keys.pk, c->keys.n,
			    key_id, reason, sizeof reason))
		problem(c, "signature: %s", reason);
	if (!json_is_object(p)) {
		c->have_prev = false;    /* nothing to link the next line to */
		return;
	}
	bool gap = kind && strcmp(kind, "monitor_gap") == 0;
	if (!gap && !(kind && strcmp(kind, "monitor_period") == 0))
		problem(c, "kind \"%s\" is not monitor_period or monitor_gap", kind ? kind : "");
	if (!get_int(p, "sequence", &seq) || seq < 1)
		problem(c, "sequence missing or not a positive integer");
	else
		link_to_prev(c, p, seq);
	span(c, json_object_get(p, "period"), &start, &end);
	if (gap) {
		if (json_object_get(p, "packages") || json_object_get(p, "processes"))
			problem(c, "a gap seal with packages or processes");
		if (!json_is_false(json_object_get(p, "complete")))
			problem(c, "a gap seal that says it is complete");
	} else {
		packages(c, p, attributed);
		processes(c, p, attributed);
	}
	if (!c->st.seals++) {
		c->st.first_sequence = (uint64_t)seq;
		c->st.start_unix_us = start;
	}
	c->st.last_sequence = (uint64_t)seq;
	c->st.end_unix_us = end;
	c->have_prev = seal_payload_sha256(p, c->prev_hash) == 0;
	c->prev_seq = (uint64_t)seq;
	c->prev_end = end;
	snprintf(c->prev_where, sizeof c->prev_where, "%s:%zu", c->file, c->lineno);
}

void chaincheck_line(struct chaincheck *c, const char *file, size_t lineno, const char *text,
		     size_t len, bool newline)
{
	char reason[SEAL_REASON_MAX];
	json_t *seal = NULL;

	c->file = file;
	c->lineno = lineno;
	c->st.lines++;
	if (seal_parse(text, len, &seal, reason, sizeof reason)) {
		problem(c, "%s%s", newline ? "not a seal: " : "torn last line (no newline), not a "
			"seal: ", reason);
		c->have_prev = false;
		return;
	}
	check_seal(c, seal);
	json_decref(seal);
}

/* Reads path line by line, each held up to SEAL_TEXT_MAX bytes. */
int chaincheck_file(struct chaincheck *c, const char *path)
{
	FILE *f = fopen(path, "re");
	struct dynbuf b;
	char chunk[4096];
	size_t lineno = 0, n = 0;
	bool too_long = false;
	int ch, err = 0;

	if (!f) {
		err = -errno;
		fprintf(c->out, "%s: %s\n", path, strerror(-err));
		return err;
	}
	c->st.files++;
	dynbuf_init(&b, SEAL_TEXT_MAX);
	while ((ch = getc_unlocked(f)) != EOF || n || b.len || too_long) {
		if (ch != EOF && ch != '\n') {
			chunk[n++] = (char)ch;
			if (n < sizeof chunk)
				continue;
		}
		if (n && !too_long && dynbuf_add(&b, chunk, n) == -E2BIG)
			too_long = true;
		n = 0;
		if (ch != EOF && ch != '\n')
			continue;
		c->file = path;
		c->lineno = ++lineno;
		if (too_long) {
			c->st.lines++;
			problem(c, "line longer than %u bytes: not a seal", SEAL_TEXT_MAX);
			c->have_prev = false;
		} else {
			chaincheck_line(c, path, lineno, b.p ? b.p : "", b.len, ch == '\n');
		}
		dynbuf_reset(&b);
		too_long = false;
		if (ch == EOF)
			break;
	}
	if (ferror(f)) {
		err = -EIO;
		fprintf(c->out, "%s: read error\n", path);
	}
	dynbuf_free(&b);
	fclose(f);
	return err;
}

struct chaincheck *chaincheck_new(const struct sealcheck_keys *keys, FILE *out)
{
	struct chaincheck *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->keys = *keys;
	c->out = out;
	return c;
}

void chaincheck_stats(const struct chaincheck *c, struct chaincheck_stats *out)
{
	*out = c->st;
}

size_t chaincheck_finish(struct chaincheck *c)
{
	const struct chaincheck_stats *s = &c->st;

	if (!s->seals) {
		fprintf(c->out, "no seals in these files: nothing was verified\n");
		c->st.problems++;
	} else {
		char a[UTIL_RFC3339_LEN], b[UTIL_RFC3339_LEN];
		util_rfc3339_ms(s->start_unix_us * 1000, a);
		util_rfc3339_ms(s->end_unix_us * 1000, b);
		fprintf(c->out, "%zu seals", s->seals);
		if (s->files)
			fprintf(c->out, " in %zu files", s->files);
		fprintf(c->out, ": sequence %llu..%llu, %s .. %s\n",
			(unsigned long long)s->first_sequence, (unsigned long long)s->last_sequence,
			a, b);
		if (s->first_sequence > 1)
			fprintf(c->out, "the first continues sequence %llu, not in these files\n",
				(unsigned long long)s->first_sequence - 1);
	}
	if (c->st.problems)
		fprintf(c->out, "chain: %zu problems\n", c->st.problems);
	else
		fprintf(c->out, "chain: ok\n");
	return c->st.problems;
}

void chaincheck_free(struct chaincheck *c)
{
	free(c);
}
