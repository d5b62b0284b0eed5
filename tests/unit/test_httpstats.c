/* httpstats: counts by route and code, cumulative latency buckets, bounded labels,
 * and exact totals when many threads record at once. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dynbuf.h"
#include "httpstats.h"
#include "testutil.h"

static const char *const routes[] = { "/ping", "/api/v1/tasks/{id}" };

static char *render(const struct httpstats *s)
{
	struct dynbuf b;
	size_t len;
	dynbuf_init(&b, 1 << 20);
	ck_assert_int_eq(httpstats_write(s, &b), 0);
	char *t = dynbuf_take(&b, &len);
	dynbuf_free(&b);
	return t;
}

START_TEST(counts_and_buckets)
{
	struct httpstats *s = httpstats_new(routes, 2);
	ck_assert_ptr_nonnull(s);
	httpstats_record(s, 0, 200, 200000);          /* 0.2 ms */
	httpstats_record(s, 0, 200, 3000000);         /* 3 ms */
	httpstats_record(s, 1, 404, 20000000);        /* 20 ms */
	httpstats_record(s, 7, 404, 1000);            /* no route: "other" */
	httpstats_record(s, 1, 299, 1000);            /* a code off the list */
	char *t = render(s);
	ck_assert_ptr_nonnull(strstr(t, "jouletrace_http_requests_total{route=\"/ping\",code=\"200\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "{route=\"/api/v1/tasks/{id}\",code=\"404\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "{route=\"other\",code=\"404\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "{route=\"/api/v1/tasks/{id}\",code=\"other\"} 1\n"));
	/* cumulative: 1 under 1 ms, 2 under 5 ms, 2 at +Inf, count 2 */
	ck_assert_ptr_nonnull(strstr(t, "duration_seconds_bucket{route=\"/ping\",le=\"0.001\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "duration_seconds_bucket{route=\"/ping\",le=\"0.0025\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(t, "duration_seconds_bucket{route=\"/ping\",le=\"0.005\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "duration_seconds_bucket{route=\"/ping\",le=\"+Inf\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "duration_seconds_count{route=\"/ping\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(t, "duration_seconds_sum{route=\"/ping\"} 0.0032\n"));
	/* a route never asked is not listed */
	httpstats_free(s);
	free(t);
	s = httpstats_new(routes, 2);
	t = render(s);
	ck_assert_ptr_null(strstr(t, "route=\"/ping\""));
	free(t);
	httpstats_free(s);
}
END_TEST

struct hammer { struct httpstats *s; int id; };

static void *hammer(void *arg)
{
	struct hammer *h = arg;
	for (int i = 0; i < 100000; i++)
		httpstats_record(h->s, (size_t)(i % 2), i % 3 ? 200 : 503, (uint64_t)(i % 7) * 1000000);
	return NULL;
}

START_TEST(threads_lose_nothing)
{
	struct httpstats *s = httpstats_new(routes, 2);
	pthread_t th[4];
	struct hammer h[4];
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){ s, i };
		pthread_create(&th[i], NULL, hammer, &h[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	char *t = render(s);
	ck_assert_ptr_nonnull(strstr(t, "duration_seconds_count{route=\"/ping\"} 200000\n"));
	ck_assert_ptr_nonnull(strstr(t, "duration_seconds_count{route=\"/api/v1/tasks/{id}\"} 200000\n"));
	free(t);
	httpstats_free(s);
}
END_TEST

static Suite *httpstats_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("httpstats", &tc);
	tcase_add_test(tc, counts_and_buckets);
	tcase_add_test(tc, threads_lose_nothing);
	return s;
}

TESTUTIL_MAIN(httpstats_suite)
