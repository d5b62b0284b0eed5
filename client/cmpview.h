/*
 * cmpview.h — the comparison object of lib/api/compare (compare_build) as a
 * table for people: energy per call side by side with the 95 % intervals,
 * the ratio to the best, rank, then every pair with its Welch t, df, p,
 * Holm-adjusted p and whether the difference is significant, and the test
 * named in words.  Strings from the server are cleaned (render_clean).
 *
 * Errors: 0, -E2BIG, -ENOMEM.  Thread safety: pure.
 */
#ifndef JT_CLIENT_CMPVIEW_H
#define JT_CLIENT_CMPVIEW_H

#include <jansson.h>

#include "dynbuf.h"

/* The test as one sentence, from the object's test/adjustment/alpha. */
int cmpview_test_sentence(const json_t *cmp, struct dynbuf *out);
int cmpview_render(const json_t *cmp, struct dynbuf *out);

#endif
