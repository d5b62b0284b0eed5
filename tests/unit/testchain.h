/*
 * testchain.h — header-only helpers of the monitor chain tests (test_sealfile,
 * test_chaincheck, test_period): a fixed key, a real period payload (a ledger
 * over one made-up interval, through period_payload), and a chain of them
 * appended to a file with sealfile.  Test support only.
 */
#ifndef JT_TESTCHAIN_H
#define JT_TESTCHAIN_H

#include <check.h>
#include <string.h>

#include <jansson.h>

#include "ledger.h"
#include "period.h"
#include "seal.h"
#include "sealfile.h"

#define TESTCHAIN_T0 1790000000000000000ull   /* 2026-09-21, ns since the epoch */
#define TESTCHAIN_SECOND 1000000000ull

static inline void testchain_key(struct seal_key *k, unsigned char fill)
{
	unsigned char seed[SEAL_SEED_BYTES];
	memset(seed, fill, sizeof seed);
	ck_assert_int_eq(seal_key_from_seed(seed, k), 0);
}

static inline void testchain_host(struct hostid *h)
{
	memset(h, 0, sizeof *h);
	strcpy(h->machine_id, "0123456789abcdef0123456789abcdef");
	strcpy(h->cpu_model, "Test CPU");
	strcpy(h->kernel, "6.1.0 test");
	strcpy(h->hostname, "testhost");
	hostid_fingerprint(h);
}

/* A monitor_period payload of [start, end): two processes share raw µJ of
 * package 0 (idle 0: uncalibrated); failed: the interval's reading failed. */
static inline json_t *testchain_period(uint64_t start, uint64_t end, int64_t raw, bool failed)
{
	struct pkgmap m;
	memset(&m, 0, sizeof m);
	m.n = 1;
	struct ledger *l = ledger_new(&m, NULL);
	struct procacct_row rows[2] = {
		{ .tgid = 7, .start_ns = 11, .cpu_ns = 3000, .cgroup = "/a", .comm = "burn" },
		{ .tgid = 9, .start_ns = 12, .cpu_ns = 1000, .cgroup = "/b", .comm = "idle" },
	};
	struct procacct_interval iv = { .valid = true, .t1_ns = end - start, .rows = rows, .n = 2,
					.busy_ns = { 4000 } };
	struct ledger_sample s = { .measured = !failed, .raw_uj = { raw, 0 } };
	struct ledger_period per;
	struct hostid h;
	struct period_pkg pk = { .cpus = "0", .meter_error = failed ? "read failed" : "" };

	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(ledger_add(l, &iv, &s), 0);
	ck_assert_int_eq(ledger_close_period(l, 1, &per), 0);
	testchain_host(&h);
	struct period_input in = { .host = &h, .meter_backend = "powercap", .tick_ms = 100,
				   .attribution_source = "bpf", .top_processes = 1,
				   .start_unix_ns = start, .end_unix_ns = end, .period = &per,
				   .pkgs = &pk };
	json_t *p = period_payload(&in);
	ck_assert_ptr_nonnull(p);
	ledger_period_free(&per);
	ledger_free(l);
	return p;
}

/* n periods of a second each, from *t (advanced), appended to f. */
static inline void testchain_append(struct sealfile *f, int n, uint64_t *t)
{
	char why[256] = "";
	for (int i = 0; i < n; i++) {
		json_t *p = testchain_period(*t, *t + TESTCHAIN_SECOND, 1000 + i, false);
		ck_assert_msg(sealfile_append(f, p, NULL, NULL, why, sizeof why) == 0, "%s", why);
		json_decref(p);
		*t += TESTCHAIN_SECOND;
	}
}

#endif
