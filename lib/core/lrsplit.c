/* lrsplit.c — see lrsplit.h. */
#include "lrsplit.h"

/* (r desc, i asc): a before b in the order the extra units are handed out. */
static int before(const struct lrsplit_rem *a, const struct lrsplit_rem *b)
{
	return a->r != b->r ? a->r > b->r : a->i < b->i;
}

static void swap(struct lrsplit_rem *a, struct lrsplit_rem *b)
{
	struct lrsplit_rem t = *a;
	*a = *b;
	*b = t;
}

/*
 * Rearranges x[0..n) so that its first k entries are the k first in the
 * order of before() (in any order among themselves).  Quickselect with the
 * median of three as pivot; keys are unique (i), so no equal-key worst case.
 */
static void select_first(struct lrsplit_rem *x, size_t n, size_t k)
{
	size_t lo = 0, hi = n;      /* the k-th lies in [lo, hi) */

	while (hi - lo > 1 && k > lo && k < hi) {
		size_t mid = lo + (hi - lo) / 2, last = hi - 1;
		if (before(&x[mid], &x[lo]))
			swap(&x[mid], &x[lo]);
		if (before(&x[last], &x[lo]))
			swap(&x[last], &x[lo]);
		if (before(&x[last], &x[mid]))
			swap(&x[last], &x[mid]);
		swap(&x[mid], &x[last]);            /* the median is the pivot, at the end */
		size_t store = lo;
		for (size_t j = lo; j < last; j++)
			if (before(&x[j], &x[last]))
				swap(&x[j], &x[store++]);
		swap(&x[store], &x[last]);          /* x[store] is in its final place */
		if (store == k || store + 1 == k)
			return;
		if (k < store)
			hi = store;
		else
			lo = store + 1;
	}
}

int64_t lrsplit(int64_t energy, const uint64_t *w, size_t n, uint64_t denom, int64_t *share,
		struct lrsplit_rem *scratch)
{
	unsigned __int128 mag = (unsigned __int128)(energy < 0 ? -(__int128)energy : energy);
	unsigned __int128 wsum = 0;
	int64_t sign = energy < 0 ? -1 : 1, assigned = 0;

	for (size_t i = 0; i < n; i++) {
		share[i] = 0;
		wsum += w[i];
	}
	if (wsum > UINT64_MAX)
		return energy;   /* not weights of anything real: nothing is attributable */
	if (wsum > denom)
		denom = (uint64_t)wsum;   /* as if the untracked rest were 0 */
	if (denom == 0 || n == 0)
		return energy;
	int64_t target = (int64_t)(mag * wsum / denom);
	if (mag <= UINT64_MAX / denom) {
		/* Every product fits in 64 bits (the usual case: µJ × ns of one
		 * tick): a 64-bit division is many times cheaper than a 128-bit one. */
		uint64_t m = (uint64_t)mag;
		for (size_t i = 0; i < n; i++) {
			uint64_t num = m * w[i];
			share[i] = (int64_t)(num / denom);
			scratch[i].r = num % denom;
			scratch[i].i = i;
			assigned += share[i];
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			unsigned __int128 num = mag * w[i];
			share[i] = (int64_t)(num / denom);
			scratch[i].r = (uint64_t)(num % denom);
			scratch[i].i = i;
			assigned += share[i];
		}
	}
	/* Fewer than n units are missing (each share lost less than one). */
	size_t extra = (size_t)(target - assigned);
	select_first(scratch, n, extra);
	for (size_t k = 0; k < extra && k < n; k++)
		share[scratch[k].i]++;
	for (size_t i = 0; i < n; i++)
		share[i] *= sign;
	return sign * (int64_t)(mag - (unsigned __int128)target);
}
