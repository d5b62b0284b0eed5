/* ledger.c — see ledger.h. */
#include "ledger.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lrsplit.h"

#define NONE UINT32_MAX            /* no entry: a slot that is free, a row booked to other */
#define CG_OTHER UINT32_MAX        /* a process whose cgroup found no room */
#define CG_SLOTS (2 * LEDGER_MAX_CGROUPS)
#define MIN_ENTRIES 256

/* A process seen in the current or the previous period. */
struct entry {
	int32_t tgid;
	uint32_t uid;
	uint64_t start_ns;
	char comm[16];
	const char *cgroup;                 /* as last seen; borrowed from procacct */
	uint32_t cg;                        /* its cgroup_total, or CG_OTHER */
	bool in_period, exited;
	int64_t p_uj[LEDGER_NDOMAINS];      /* this period */
	int64_t l_uj[LEDGER_NDOMAINS];      /* since it was first seen */
	uint64_t p_cpu, l_cpu;
};

struct cgroup_total {
	const char *name;                   /* borrowed from procacct */
	uint64_t hash;
	int64_t uj[LEDGER_NDOMAINS];
	uint32_t refs;                      /* entries whose cg is this one */
};

struct ledger {
	int npkgs;
	int ids[PKGMAP_MAX];
	double idle_w[PKGMAP_MAX][LEDGER_NDOMAINS];

	/* Entries: a dense array and an open-addressing index of it (linear
	 * probing, at most half full).  Entries leave only when a period closes,
	 * so the index is rebuilt then and never needs tombstones. */
	struct entry *e;
	size_t ne, cap_e;
	uint32_t *slot;
	size_t nslot;                       /* a power of 2, ≥ 2 × cap_e */
	size_t in_period;                   /* entries with in_period set */

	/* The current period. */
	struct ledger_pkg_total pkg[PKGMAP_MAX];
	uint64_t intervals;
	int64_t over_uj[LEDGER_NDOMAINS];   /* rows booked to other for lack of room */
	uint64_t over_cpu;
	size_t overflow;

	/* Since ledger_new. */
	struct ledger_pkg_total life[PKGMAP_MAX];
	struct cgroup_total *cg;            /* LEDGER_MAX_CGROUPS of them, allocated once */
	size_t ncg;
	uint32_t *cg_slot;                  /* CG_SLOTS; rebuilt when a cgroup is evicted */
	int64_t cg_other[LEDGER_NDOMAINS];  /* evicted cgroups and those without room */

	/* Per-interval scratch, grown to the largest interval seen. */
	uint32_t *row_e;                    /* each row's entry, NONE = booked to other */
	size_t *order;                      /* row numbers grouped by package */
	uint64_t *w;
	int64_t *share;
	struct lrsplit_rem *rem;
	size_t cap_rows;
};

/* SplitMix64's finalizer: tgids and start times are far from random. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t key_hash(int32_t tgid, uint64_t start_ns)
{
	return mix(start_ns ^ ((uint64_t)(uint32_t)tgid * 0x9e3779b97f4a7c15ull));
}

/* FNV-1a: cgroup paths are looked up only when a process is new or moved. */
static uint64_t str_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static uint32_t *find_slot(const struct ledger *l, int32_t tgid, uint64_t start_ns)
{
	size_t mask = l->nslot - 1, h = (size_t)key_hash(tgid, start_ns) & mask;

	while (l->slot[h] != NONE) {
		const struct entry *e = &l->e[l->slot[h]];
		if (e->tgid == tgid && e->start_ns == start_ns)
			break;
		h = (h + 1) & mask;
	}
	return &l->slot[h];
}

static void rebuild_index(struct ledger *l)
{
	for (size_t i = 0; i < l->nslot; i++)
		l->slot[i] = NONE;
	for (size_t i = 0; i < l->ne; i++)
		*find_slot(l, l->e[i].tgid, l->e[i].start_ns) = (uint32_t)i;
}

/* Room for `more` new entries.  Grows only past the high-water mark, so a
 * steady population allocates nothing. */
static int entries_room(struct ledger *l, size_t more)
{
	if (l->ne + more <= l->cap_e)
		return 0;
	size_t cap = l->cap_e ? l->cap_e : MIN_ENTRIES, nslot = l->nslot ? l->nslot : 1;
	while (cap < l->ne + more)
		cap *= 2;
	while (nslot < 2 * cap)
		nslot *= 2;
	struct entry *e = realloc(l->e, cap * sizeof *e);
	if (!e)
		return -ENOMEM;
	l->e = e;
	l->cap_e = cap;
	if (nslot != l->nslot) {
		uint32_t *s = malloc(nslot * sizeof *s);
		if (!s)
			return -ENOMEM;
		free(l->slot);
		l->slot = s;
		l->nslot = nslot;
		rebuild_index(l);
	}
	return 0;
}

static int rows_room(struct ledger *l, size_t n)
{
	if (n <= l->cap_rows)
		return 0;
	size_t cap = l->cap_rows ? l->cap_rows : 64;
	while (cap < n)
		cap *= 2;
	/* Each array is replaced on its own: a failure leaves the old (smaller)
	 * ones valid, and cap_rows unchanged. */
	uint32_t *row_e = realloc(l->row_e, cap * sizeof *row_e);
	if (row_e)
		l->row_e = row_e;
	size_t *order = realloc(l->order, cap * sizeof *order);
	if (order)
		l->order = order;
	uint64_t *w = realloc(l->w, cap * sizeof *w);
	if (w)
		l->w = w;
	int64_t *share = realloc(l->share, cap * sizeof *share);
	if (share)
		l->share = share;
	struct lrsplit_rem *rem = realloc(l->rem, cap * sizeof *rem);
	if (rem)
		l->rem = rem;
	if (!row_e || !order || !w || !share || !rem)
		return -ENOMEM;
	l->cap_rows = cap;
	return 0;
}

/* ---- cgroups ------------------------------------------------------------ */

static uint32_t *cg_find_slot(const struct ledger *l, const char *name, uint64_t h)
{
	size_t mask = CG_SLOTS - 1, i = (size_t)h & mask;

	while (l->cg_slot[i] != NONE) {
		const struct cgroup_total *c = &l->cg[l->cg_slot[i]];
		if (c->hash == h && strcmp(c->name, name) == 0)
			break;
		i = (i + 1) & mask;
	}
	return &l->cg_slot[i];
}

static void cg_rebuild(struct ledger *l)
{
	for (size_t i = 0; i < CG_SLOTS; i++)
		l->cg_slot[i] = NONE;
	for (size_t i = 0; i < l->ncg; i++)
		*cg_find_slot(l, l->cg[i].name, l->cg[i].hash) = (uint32_t)i;
}

static int64_t cg_energy(const struct cgroup_total *c)
{
	return c->uj[LEDGER_PACKAGE] + c->uj[LEDGER_DRAM];
}

/*
 * The cgroup's index, added when new.  A full table makes room by merging its
 * least energetic cgroup that no live entry points at into "other" (so an
 * index held by an entry never changes meaning); when every one is held, the
 * newcomer is "other".  Eviction scans the table once: it happens only when
 * new cgroups keep appearing past LEDGER_MAX_CGROUPS.
 */
static uint32_t cg_lookup(struct ledger *l, const char *name)
{
	uint64_t h = str_hash(name);
	uint32_t *s = cg_find_slot(l, name, h), k;

	if (*s != NONE)
		return *s;
	if (l->ncg < LEDGER_MAX_CGROUPS) {
		k = (uint32_t)l->ncg++;
		*s = k;
	} else {
		k = NONE;
		for (size_t i = 0; i < l->ncg; i++)
			if (l->cg[i].refs == 0 && (k == NONE || cg_energy(&l->cg[i]) < cg_energy(&l->cg[k])))
				k = (uint32_t)i;
		if (k == NONE)
			return CG_OTHER;
		for (int d = 0; d < LEDGER_NDOMAINS; d++)
			l->cg_other[d] += l->cg[k].uj[d];
	}
	l->cg[k] = (struct cgroup_total){ .name = name, .hash = h };
	if (l->ncg == LEDGER_MAX_CGROUPS && *s != k)
		cg_rebuild(l);
	return k;
}

static void cg_book(struct ledger *l, uint32_t cg, int d, int64_t uj)
{
	if (cg == CG_OTHER)
		l->cg_other[d] += uj;
	else
		l->cg[cg].uj[d] += uj;
}

static void cg_unref(struct ledger *l, uint32_t cg)
{
	if (cg != CG_OTHER)
		l->cg[cg].refs--;
}

/* ---- new / free ---------------------------------------------------------- */

struct ledger *ledger_new(const struct pkgmap *m, const double (*idle_watts)[LEDGER_NDOMAINS])
{
	struct ledger *l = NULL;
	int err = -EINVAL;

	if (!m || m->n < 1 || m->n > PKGMAP_MAX)
		goto out;
	for (int i = 0; idle_watts && i < m->n; i++)
		for (int d = 0; d < LEDGER_NDOMAINS; d++)
			if (!isnan(idle_watts[i][d]) &&
			    (!isfinite(idle_watts[i][d]) || idle_watts[i][d] < 0))
				goto out;
	err = -ENOMEM;
	if (!(l = calloc(1, sizeof *l)))
		goto out;
	l->cg = calloc(LEDGER_MAX_CGROUPS, sizeof *l->cg);
	l->cg_slot = malloc(CG_SLOTS * sizeof *l->cg_slot);
	if (!l->cg || !l->cg_slot || entries_room(l, MIN_ENTRIES) || rows_room(l, 64))
		goto out;
	cg_rebuild(l);
	l->npkgs = m->n;
	for (int i = 0; i < m->n; i++) {
		l->ids[i] = l->pkg[i].id = l->life[i].id = m->id[i];
		for (int d = 0; idle_watts && d < LEDGER_NDOMAINS; d++)
			l->idle_w[i][d] = idle_watts[i][d];
	}
	err = 0;
out:
	if (err) {
		ledger_free(l);
		errno = -err;
		return NULL;
	}
	return l;
}

void ledger_free(struct ledger *l)
{
	if (!l)
		return;
	free(l->e);
	free(l->slot);
	free(l->cg);
	free(l->cg_slot);
	free(l->row_e);
	free(l->order);
	free(l->w);
	free(l->share);
	free(l->rem);
	free(l);
}

/* ---- one interval -------------------------------------------------------- */

static int row_cmp(const struct procacct_row *a, const struct procacct_row *b)
{
	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->start_ns != b->start_ns)
		return a->start_ns < b->start_ns ? -1 : 1;
	return (a->pkg > b->pkg) - (a->pkg < b->pkg);
}

/* Everything ledger_add would refuse, checked before anything changes. */
static int check_interval(const struct ledger *l, const struct procacct_interval *iv,
			  const struct ledger_sample *s)
{
	if (iv->t1_ns < iv->t0_ns || (iv->n && !iv->rows))
		return -EINVAL;
	for (size_t i = 0; i < iv->n; i++) {
		if (iv->rows[i].pkg < 0 || iv->rows[i].pkg >= l->npkgs)
			return -EINVAL;
		/* sorted, no duplicate: ties are broken by this order */
		if (i && row_cmp(&iv->rows[i - 1], &iv->rows[i]) >= 0)
			return -EINVAL;
	}
	for (int p = 0; p < l->npkgs; p++)
		if (s[p].measured && (s[p].raw_uj[LEDGER_PACKAGE] < 0 ||
				      (s[p].has_dram && s[p].raw_uj[LEDGER_DRAM] < 0)))
			return -EINVAL;
	return 0;
}

/* Keeps the entry's cgroup in step with the row's (procacct interns paths,
 * so the same pointer is the same cgroup: no string work in steady state). */
static void set_cgroup(struct ledger *l, struct entry *e, const char *cgroup, bool fresh)
{
	const char *name = cgroup ? cgroup : "";

	if (!fresh && e->cgroup == name)
		return;
	if (fresh || strcmp(e->cgroup, name) != 0) {
		uint32_t cg = cg_lookup(l, name);
		if (!fresh)
			cg_unref(l, e->cg);
		if (cg != CG_OTHER)
			l->cg[cg].refs++;
		e->cg = cg;
	}
	e->cgroup = name;
}

/*
 * The row's entry, made a member of the period: found, or added while the
 * period has room (entries_room made space for it).  NONE: the period table
 * is full and the process is not in it, so it is booked to other.
 */
static uint32_t book_row(struct ledger *l, const struct procacct_row *r)
{
	uint32_t *s = find_slot(l, r->tgid, r->start_ns);
	bool fresh = *s == NONE;
	struct entry *e;

	if (fresh || !l->e[*s].in_period) {
		if (l->in_period >= LEDGER_MAX_PROCS) {
			l->over_cpu += r->cpu_ns;
			l->overflow++;
			return NONE;
		}
		if (fresh) {
			*s = (uint32_t)l->ne++;
			memset(&l->e[*s], 0, sizeof l->e[*s]);
			l->e[*s].tgid = r->tgid;
			l->e[*s].start_ns = r->start_ns;
		}
		l->e[*s].in_period = true;
		l->in_period++;
	}
	e = &l->e[*s];
	memcpy(e->comm, r->comm, sizeof e->comm);
	e->comm[sizeof e->comm - 1] = '\0';
	e->uid = r->uid;
	e->exited = e->exited || r->exited;
	set_cgroup(l, e, r->cgroup, fresh);
	e->p_cpu += r->cpu_ns;
	e->l_cpu += r->cpu_ns;
	return *s;
}

static void add_energy(struct ledger_energy *t, const struct ledger_energy *x)
{
	t->raw_uj += x->raw_uj;
	t->idle_uj += x->idle_uj;
	t->dynamic_uj += x->dynamic_uj;
	t->attributed_uj += x->attributed_uj;
	t->unattributed_uj += x->unattributed_uj;
}

/* One package's domain over the interval: idle, then the dynamic part split
 * over the package's rows (order[0..k)) by their on-CPU time. */
static void split_domain(struct ledger *l, const struct procacct_interval *iv, int p, int d,
			 int64_t raw, const size_t *order, size_t k, uint64_t denom)
{
	bool unknown = isnan(l->idle_w[p][d]);
	double exact = unknown ? 0 : l->idle_w[p][d] * (double)(iv->t1_ns - iv->t0_ns) / 1e3;
	int64_t idle = (int64_t)llround(exact);
	struct ledger_energy x;

	if (idle > raw)
		idle = raw;    /* never more than was drawn: dynamic ≥ 0 */
	x.raw_uj = raw;
	x.idle_uj = idle;
	x.dynamic_uj = raw - idle;
	/* Idle power unknown: the busy part cannot be told from it, and sharing
	 * idle power out among processes is the error this monitor exists to
	 * avoid, so none of it is split (every share 0). */
	x.unattributed_uj = lrsplit(x.dynamic_uj, l->w, unknown ? 0 : k, denom, l->share, l->rem);
	if (unknown)
		memset(l->share, 0, k * sizeof *l->share);
	x.attributed_uj = x.dynamic_uj - x.unattributed_uj;
	for (size_t j = 0; j < k; j++) {
		const struct procacct_row *r = &iv->rows[order[j]];
		uint32_t ei = l->row_e[order[j]];
		if (ei == NONE) {
			l->over_uj[d] += l->share[j];
			cg_book(l, cg_lookup(l, r->cgroup ? r->cgroup : ""), d, l->share[j]);
		} else {
			l->e[ei].p_uj[d] += l->share[j];
			l->e[ei].l_uj[d] += l->share[j];
			cg_book(l, l->e[ei].cg, d, l->share[j]);
		}
	}
	add_energy(&l->pkg[p].e[d], &x);
	add_energy(&l->life[p].e[d], &x);
}

static void add_times(struct ledger_pkg_total *t, const struct ledger_sample *s, uint64_t dt,
		      uint64_t busy, uint64_t idle, uint64_t dropped)
{
	t->intervals++;
	if (s->measured) {
		t->measured_ns += dt;
		t->has_dram = t->has_dram || s->has_dram;
	} else {
		t->unmeasured_ns += dt;
		t->failed_intervals++;
	}
	t->busy_ns += busy;
	t->idle_cpu_ns += idle;
	t->dropped_ns += dropped;
}

/* Package p's rows are order[0..k). */
static void add_package(struct ledger *l, const struct procacct_interval *iv,
			const struct ledger_sample *s, int p, const size_t *order, size_t k)
{
	uint64_t seen = 0, dt = iv->t1_ns - iv->t0_ns;

	for (size_t j = 0; j < k; j++)
		seen += l->w[j] = iv->rows[order[j]].cpu_ns;
	/* Busy time nobody was booked for (dropped, or more than the rows say)
	 * is in the denominator: its share stays unattributed. */
	uint64_t denom = seen + iv->dropped_ns[p];
	if (iv->busy_ns[p] > denom)
		denom = iv->busy_ns[p];
	add_times(&l->pkg[p], s, dt, denom, iv->idle_ns[p], iv->dropped_ns[p]);
	add_times(&l->life[p], s, dt, denom, iv->idle_ns[p], iv->dropped_ns[p]);
	if (!s->measured)
		return;    /* no energy to split; the on-CPU time is booked already */
	split_domain(l, iv, p, LEDGER_PACKAGE, s->raw_uj[LEDGER_PACKAGE], order, k, denom);
	if (s->has_dram)
		split_domain(l, iv, p, LEDGER_DRAM, s->raw_uj[LEDGER_DRAM], order, k, denom);
}

int ledger_add(struct ledger *l, const struct procacct_interval *iv,
	       const struct ledger_sample *samples)
{
	size_t start[PKGMAP_MAX + 1] = { 0 };
	int err;

	if (!l || !iv || !samples)
		return -EINVAL;
	if (!iv->valid)
		return 0;
	if ((err = check_interval(l, iv, samples)))
		return err;
	size_t room = LEDGER_MAX_PROCS - l->in_period;
	if ((err = entries_room(l, iv->n < room ? iv->n : room)) || (err = rows_room(l, iv->n)))
		return err;
	for (size_t i = 0; i < iv->n; i++) {
		l->row_e[i] = book_row(l, &iv->rows[i]);
		start[iv->rows[i].pkg + 1]++;
	}
	/* Rows grouped by package, a counting sort: stable, so each group keeps
	 * the (tgid, start_ns) order that breaks the split's ties. */
	for (int p = 0; p < l->npkgs; p++)
		start[p + 1] += start[p];
	size_t fill[PKGMAP_MAX];
	memcpy(fill, start, sizeof fill);
	for (size_t i = 0; i < iv->n; i++)
		l->order[fill[iv->rows[i].pkg]++] = i;
	for (int p = 0; p < l->npkgs; p++)
		add_package(l, iv, &samples[p], p, l->order + start[p], start[p + 1] - start[p]);
	l->intervals++;
	return 0;
}

/* ---- periods and the lifetime view ------------------------------------- */

struct rank {
	int64_t total;
	int32_t tgid;
	uint64_t start_ns;
	uint32_t i;
};

static int by_rank(const void *a, const void *b)
{
	const struct rank *x = a, *y = b;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	if (x->tgid != y->tgid)
		return x->tgid < y->tgid ? -1 : 1;
	return (x->start_ns > y->start_ns) - (x->start_ns < y->start_ns);
}

/* The entries (all, or those of the period) ranked by energy; malloc'd. */
static struct rank *ranked(const struct ledger *l, bool period, size_t *n)
{
	struct rank *r = malloc((l->ne ? l->ne : 1) * sizeof *r);
	size_t k = 0;

	if (!r)
		return NULL;
	for (size_t i = 0; i < l->ne; i++) {
		const struct entry *e = &l->e[i];
		if (period && !e->in_period)
			continue;
		const int64_t *uj = period ? e->p_uj : e->l_uj;
		r[k++] = (struct rank){ uj[LEDGER_PACKAGE] + uj[LEDGER_DRAM], e->tgid, e->start_ns,
					(uint32_t)i };
	}
	qsort(r, k, sizeof *r, by_rank);
	*n = k;
	return r;
}

/* The entries ranked (*r, *n) and room for the first top_n of them (*top,
 * *ntop): what a period and the lifetime view both list. */
static int rank_top(const struct ledger *l, bool period, size_t top_n, struct rank **r,
		    size_t *n, struct ledger_proc **top, size_t *ntop)
{
	if (!(*r = ranked(l, period, n)))
		return -ENOMEM;
	*ntop = *n < top_n ? *n : top_n;
	if (!(*top = calloc(*ntop ? *ntop : 1, sizeof **top)))
		return -ENOMEM;
	return 0;
}

static void to_proc(const struct entry *e, bool period, struct ledger_proc *p)
{
	const int64_t *uj = period ? e->p_uj : e->l_uj;

	memset(p, 0, sizeof *p);
	p->tgid = e->tgid;
	p->start_ns = e->start_ns;
	memcpy(p->comm, e->comm, sizeof p->comm);
	p->uid = e->uid;
	p->cgroup = e->cgroup;
	for (int d = 0; d < LEDGER_NDOMAINS; d++)
		p->energy_uj[d] = uj[d];
	p->total_uj = uj[LEDGER_PACKAGE] + uj[LEDGER_DRAM];
	p->cpu_ns = period ? e->p_cpu : e->l_cpu;
	p->exited = e->exited;
}

static void add_to_other(struct ledger_proc *o, const struct ledger_proc *p)
{
	for (int d = 0; d < LEDGER_NDOMAINS; d++)
		o->energy_uj[d] += p->energy_uj[d];
	o->total_uj += p->total_uj;
	o->cpu_ns += p->cpu_ns;
}

/*
 * A new period: the entries of processes that exited in the closing one, or
 * that it did not see (seen only in the one before), leave; the rest start
 * from 0 for the period and keep their lifetime totals.
 */
static void start_period(struct ledger *l)
{
	size_t k = 0;

	for (size_t i = 0; i < l->ne; i++) {
		struct entry *e = &l->e[i];
		if (!e->in_period || e->exited) {
			cg_unref(l, e->cg);
			continue;
		}
		e->in_period = false;
		memset(e->p_uj, 0, sizeof e->p_uj);
		e->p_cpu = 0;
		l->e[k++] = *e;
	}
	l->ne = k;
	l->in_period = 0;
	rebuild_index(l);
	for (int p = 0; p < l->npkgs; p++)
		l->pkg[p] = (struct ledger_pkg_total){ .id = l->ids[p] };
	l->intervals = 0;
	memset(l->over_uj, 0, sizeof l->over_uj);
	l->over_cpu = 0;
	l->overflow = 0;
}

int ledger_close_period(struct ledger *l, size_t top_n, struct ledger_period *out)
{
	struct rank *r = NULL;
	size_t n = 0;
	int err = -EINVAL;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	if (!l)
		goto out;
	if ((err = rank_top(l, true, top_n, &r, &n, &out->top, &out->ntop)))
		goto out;
	out->other.cgroup = "";
	memcpy(out->other.comm, "other", sizeof "other");
	for (size_t i = 0; i < n; i++) {
		struct ledger_proc p;
		to_proc(&l->e[r[i].i], true, &p);
		if (i < out->ntop)
			out->top[i] = p;
		else
			add_to_other(&out->other, &p);
	}
	for (int d = 0; d < LEDGER_NDOMAINS; d++) {
		out->other.energy_uj[d] += l->over_uj[d];
		out->other.total_uj += l->over_uj[d];
	}
	out->other.cpu_ns += l->over_cpu;
	out->other_count = n - out->ntop + l->overflow;
	out->processes = n + l->overflow;
	out->overflow = l->overflow;
	out->intervals = l->intervals;
	out->npkgs = l->npkgs;
	memcpy(out->pkg, l->pkg, sizeof out->pkg);
	start_period(l);
	err = 0;
out:
	free(r);
	if (err)
		ledger_period_free(out);
	return err;
}

void ledger_period_free(struct ledger_period *p)
{
	if (!p)
		return;
	free(p->top);
	p->top = NULL;
	p->ntop = 0;
}

/* A cgroup to sort (a struct, not a bare pointer, for qsort's element). */
struct cg_ref {
	const struct cgroup_total *c;
};

static int by_cgroup_energy(const void *a, const void *b)
{
	const struct cgroup_total *x = ((const struct cg_ref *)a)->c;
	const struct cgroup_total *y = ((const struct cg_ref *)b)->c;
	int64_t ex = cg_energy(x), ey = cg_energy(y);
	if (ex != ey)
		return ex > ey ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The top n cgroups by lifetime energy, then "other": the rest, the evicted
 * and those that found no room, so the list sums to every attributed µJ. */
static int life_cgroups(const struct ledger *l, size_t top_n, struct ledger_life *out)
{
	struct cg_ref *s = malloc((l->ncg ? l->ncg : 1) * sizeof *s);
	size_t k = l->ncg < top_n ? l->ncg : top_n;

	out->cgroups = calloc(k + 1, sizeof *out->cgroups);
	if (!s || !out->cgroups) {
		free(s);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l->ncg; i++)
		s[i].c = &l->cg[i];
	qsort(s, l->ncg, sizeof *s, by_cgroup_energy);
	out->cgroups[k].cgroup = "other";
	for (int d = 0; d < LEDGER_NDOMAINS; d++)
		out->cgroups[k].energy_uj[d] = l->cg_other[d];
	for (size_t i = 0; i < l->ncg; i++)
		for (int d = 0; d < LEDGER_NDOMAINS; d++) {
			if (i < k) {
				out->cgroups[i].cgroup = s[i].c->name;
				out->cgroups[i].energy_uj[d] = s[i].c->uj[d];
			} else {
				out->cgroups[k].energy_uj[d] += s[i].c->uj[d];
			}
		}
	out->ncgroups = k + 1;
	free(s);
	return 0;
}

int ledger_life(const struct ledger *l, size_t top_n, struct ledger_life *out)
{
	struct rank *r = NULL;
	size_t n = 0;
	int err = -EINVAL;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	if (!l)
		goto out;
	if ((err = rank_top(l, false, top_n, &r, &n, &out->top, &out->ntop)))
		goto out;
	for (size_t i = 0; i < out->ntop; i++)
		to_proc(&l->e[r[i].i], false, &out->top[i]);
	if ((err = life_cgroups(l, top_n, out)))
		goto out;
	out->npkgs = l->npkgs;
	memcpy(out->pkg, l->life, sizeof out->pkg);
out:
	free(r);
	if (err)
		ledger_life_free(out);
	return err;
}

void ledger_life_free(struct ledger_life *life)
{
	if (!life)
		return;
	free(life->top);
	free(life->cgroups);
	life->top = NULL;
	life->cgroups = NULL;
	life->ntop = life->ncgroups = 0;
}
