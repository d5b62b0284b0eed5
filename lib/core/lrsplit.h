/*
 * lrsplit.h — an integer amount split by weights with exact conservation:
 * largest-remainder (Hamilton) rounding.  The task seals' attribution
 * (lib/measure/attrib) and the host monitor's ledger split energy with it, so
 * both round alike.
 *
 * Given energy E, weights w[0..n) and a denominator D ≥ Σ w (D > 0):
 *   share[i] = floor(|E|·w[i]/D), then one more for the entries with the
 *   largest remainders (ties to the lower index) until Σ share reaches
 *   floor(|E|·Σw/D); each share carries E's sign.  The rest, E − Σ share, is
 *   returned: the part of E that belongs to D − Σw (nobody's), plus nothing
 *   lost to rounding.  So Σ share + returned = E exactly, and every share is
 *   within 1 of its exact value.
 * Cost: O(n) expected (a selection, not a sort), no allocation: the caller
 * gives scratch space for n remainders, so a hot loop can reuse it.
 *
 * Thread safety: pure (the caller's arrays only).
 */
#ifndef JT_LRSPLIT_H
#define JT_LRSPLIT_H

#include <stddef.h>
#include <stdint.h>

struct lrsplit_rem {
	uint64_t r;
	size_t i;
};

/*
 * Writes share[0..n) and returns E − Σ share.  E != INT64_MIN.  When Σ w >
 * denom, Σ w is the denominator (nothing is left over); when the denominator
 * is then 0 (no weight at all), or Σ w does not fit in 64 bits, every share
 * is 0 and E is returned.
 */
int64_t lrsplit(int64_t energy, const uint64_t *w, size_t n, uint64_t denom, int64_t *share,
		struct lrsplit_rem *scratch);

#endif
