/* sealer: closed periods through its queue into the seal file — a new chain,
 * a restart that signs the time it was down as a gap seal, a period that
 * starts before the chain's end (a clock step) clamped to it, the queue's
 * room, a bad last seal refused, and every seal queued for Redis. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "monseals.h"
#include "sealer.h"
#include "testchain.h"
#include "testutil.h"

struct fixture {
	char dir[64], path[128];
	struct monopts o;
	struct ticker_facts facts;
	struct hostid host;
	struct seal_key key;
	struct monstats stats;
};

static void fixture(struct fixture *f, size_t queue)
{
	memset(f, 0, sizeof *f);
	testutil_tmpdir(f->dir, sizeof f->dir, "sealer");
	snprintf(f->path, sizeof f->path, "%s/seals.jsonl", f->dir);
	f->o = (struct monopts){ .tick_ns = 100000000, .period_ns = TESTCHAIN_SECOND, .top_n = 5,
				 .seal_file = f->path, .seal_file_max_bytes = 1 << 20,
				 .seal_file_keep = 3, .seal_queue = queue };
	f->facts.map.n = 1;
	cpuset_parse("0", &f->facts.map.cpus[0]);
	f->facts.source = "bpf";
	f->facts.meter = "powercap";
	testchain_host(&f->host);
	testchain_key(&f->key, 7);
}

static struct sealer *open_sealer(struct fixture *f, struct monseals *ms)
{
	char why[256] = "";
	struct sealer_params p = { .o = &f->o, .facts = &f->facts, .host = &f->host,
				   .host_id = "testhost", .key = &f->key, .redis = ms,
				   .stats = &f->stats };
	struct sealer *s = sealer_new(&p, why, sizeof why);
	ck_assert_msg(s != NULL, "sealer_new: %s", why);
	return s;
}

/* A closed period of [start, end) with one interval of one process. */
static struct monperiod *period(uint64_t start, uint64_t end)
{
	struct pkgmap m;
	memset(&m, 0, sizeof m);
	m.n = 1;
	struct ledger *l = ledger_new(&m, NULL);
	struct procacct_row rows[1] = { { .tgid = 7, .start_ns = 11, .cpu_ns = 3000, .cgroup = "/a",
					  .comm = "burn" } };
	struct procacct_interval iv = { .valid = true, .t1_ns = end - start, .rows = rows, .n = 1,
					.busy_ns = { 3000 } };
	struct ledger_sample smp = { .measured = true, .raw_uj = { 5000, 0 } };
	struct monperiod *p = calloc(1, sizeof *p);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(ledger_add(l, &iv, &smp), 0);
	ck_assert_int_eq(ledger_close_period(l, 5, &p->books), 0);
	ledger_free(l);
	p->start_wall_ns = start;
	p->end_wall_ns = end;
	return p;
}

/* The file's seals: each verifies under the key, sequences count up from
 * first_seq, and each period starts where the last one ended.  Returns how
 * many; kinds[i] = 'p' period, 'g' gap; starts[i] in µs (as sealed). */
static size_t check_file(struct fixture *f, uint64_t first_seq, char *kinds, uint64_t *starts)
{
	FILE *in = fopen(f->path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;
	uint64_t prev_end = 0;
	ck_assert_ptr_nonnull(in);
	while ((len = getline(&line, &cap, in)) > 0) {
		json_t *seal;
		char reason[256];
		ck_assert_int_eq(seal_parse(line, (size_t)len, &seal, reason, sizeof reason), 0);
		ck_assert_int_eq(seal_verify(seal, f->key.pk, reason, sizeof reason), 0);
		json_t *pl = json_object_get(seal, "payload"), *per = json_object_get(pl, "period");
		uint64_t start = (uint64_t)json_number_value(json_object_get(per, "start_unix_us"));
		uint64_t end = (uint64_t)json_number_value(json_object_get(per, "end_unix_us"));
		ck_assert_uint_eq((uint64_t)json_number_value(json_object_get(pl, "sequence")),
				  first_seq + n);
		ck_assert_uint_gt(end, start);
		if (n > 0)
			ck_assert_uint_eq(start, prev_end);
		const char *kind = json_string_value(json_object_get(pl, "kind"));
		kinds[n] = !strcmp(kind, "monitor_gap") ? 'g' : 'p';
		starts[n] = start;
		prev_end = end;
		n++;
		json_decref(seal);
	}
	kinds[n] = '\0';
	free(line);
	fclose(in);
	return n;
}

START_TEST(new_chain_and_redis_queue)
{
	struct fixture f;
	struct ticker_sink sink;
	struct monseals *ms = monseals_new("testhost", 8);
	struct monseals_stats rs;
	char kinds[16];
	uint64_t starts[16], t = TESTCHAIN_T0;
	fixture(&f, 4);
	struct sealer *s = open_sealer(&f, ms);
	sealer_sink(s, &sink);
	ck_assert(sink.room(sink.ctx));
	sink.put(sink.ctx, period(t, t + TESTCHAIN_SECOND));
	sink.put(sink.ctx, period(t + TESTCHAIN_SECOND, t + 2 * TESTCHAIN_SECOND));
	sealer_close_input(s);
	sealer_run(s);
	sealer_free(s);
	ck_assert_uint_eq(check_file(&f, 1, kinds, starts), 2);
	ck_assert_str_eq(kinds, "pp");
	ck_assert_uint_eq(starts[0], t / 1000);
	ck_assert_uint_eq(atomic_load(&f.stats.seals), 2);
	ck_assert_uint_eq(atomic_load(&f.stats.seal_errors), 0);
	monseals_stats(ms, &rs);
	ck_assert_uint_eq(rs.backlog, 2);      /* both waiting for the pusher */
	monseals_free(ms);
	testutil_rmtree(f.dir);
}
END_TEST

/*
 * A restart: an earlier run left n one-second seals from T0 (*end = their
 * end); this run seals one period of [*end + from, *end + to).  Returns the
 * seals in the file (check_file).
 */
static size_t restart(struct fixture *f, int n, int64_t from, int64_t to, uint64_t *end,
		      char *kinds, uint64_t *starts)
{
	char why[256] = "";
	struct ticker_sink sink;
	uint64_t t = TESTCHAIN_T0;
	fixture(f, 4);
	struct sealfile *sf = sealfile_open(f->path, &f->key, 1 << 20, 3, NULL, why, sizeof why);
	ck_assert_msg(sf != NULL, "%s", why);
	testchain_append(sf, n, &t);
	sealfile_close(sf);
	*end = t;
	struct sealer *s = open_sealer(f, NULL);
	sealer_sink(s, &sink);
	sink.put(sink.ctx, period(t + (uint64_t)from, t + (uint64_t)to));
	sealer_close_input(s);
	sealer_run(s);
	sealer_free(s);
	return check_file(f, 1, kinds, starts);
}

START_TEST(restart_signs_the_gap)
{
	struct fixture f;
	char kinds[16];
	uint64_t starts[16], t;
	/* down for five seconds (and 777 ns) */
	int64_t down = 5 * (int64_t)TESTCHAIN_SECOND + 777;
	ck_assert_uint_eq(restart(&f, 3, down, down + (int64_t)TESTCHAIN_SECOND, &t, kinds, starts), 5);
	ck_assert_str_eq(kinds, "pppgp");
	ck_assert_uint_eq(starts[3], t / 1000);                        /* the gap: from the old end ... */
	ck_assert_uint_eq(starts[4], (t + (uint64_t)down) / 1000);     /* ... to the new start */
	testutil_rmtree(f.dir);
}
END_TEST

START_TEST(restart_within_a_microsecond_is_no_gap)
{
	struct fixture f;
	char kinds[16];
	uint64_t starts[16], t;
	ck_assert_uint_eq(restart(&f, 1, 999, (int64_t)TESTCHAIN_SECOND, &t, kinds, starts), 2);
	ck_assert_str_eq(kinds, "pp");
	ck_assert_uint_eq(atomic_load(&f.stats.seal_errors), 0);
	testutil_rmtree(f.dir);
}
END_TEST

START_TEST(clock_step_back_is_clamped)
{
	struct fixture f;
	char kinds[16];
	uint64_t starts[16], t;
	/* the new period claims to start half a second before the chain's end */
	int64_t from = -(int64_t)TESTCHAIN_SECOND / 2;
	ck_assert_uint_eq(restart(&f, 1, from, (int64_t)TESTCHAIN_SECOND, &t, kinds, starts), 2);
	ck_assert_str_eq(kinds, "pp");
	ck_assert_uint_eq(starts[1], t / 1000);
	testutil_rmtree(f.dir);
}
END_TEST

START_TEST(queue_room)
{
	struct fixture f;
	struct ticker_sink sink;
	uint64_t t = TESTCHAIN_T0;
	fixture(&f, 2);
	struct sealer *s = open_sealer(&f, NULL);
	sealer_sink(s, &sink);
	sink.put(sink.ctx, period(t, t + 1000));
	ck_assert(sink.room(sink.ctx));
	sink.put(sink.ctx, period(t + 1000, t + 2000));
	ck_assert(!sink.room(sink.ctx));          /* the ticker keeps its period open */
	sink.put(sink.ctx, period(t + 2000, t + 3000));   /* without asking: dropped, counted */
	ck_assert_uint_eq(atomic_load(&f.stats.seal_errors), 1);
	sealer_free(s);                           /* frees what was never sealed */
	testutil_rmtree(f.dir);
}
END_TEST

START_TEST(bad_last_seal_refuses_to_start)
{
	struct fixture f;
	char why[256] = "";
	fixture(&f, 2);
	FILE *out = fopen(f.path, "w");
	ck_assert_ptr_nonnull(out);
	fputs("{\"payload\":{},\"signature\":{}}\n", out);
	fclose(out);
	struct sealer_params p = { .o = &f.o, .facts = &f.facts, .host = &f.host,
				   .host_id = "testhost", .key = &f.key, .stats = &f.stats };
	ck_assert_ptr_null(sealer_new(&p, why, sizeof why));
	ck_assert(why[0] != '\0');
	testutil_rmtree(f.dir);
}
END_TEST

static Suite *sealer_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("sealer", &tc);
	tcase_add_test(tc, new_chain_and_redis_queue);
	tcase_add_test(tc, restart_signs_the_gap);
	tcase_add_test(tc, restart_within_a_microsecond_is_no_gap);
	tcase_add_test(tc, clock_step_back_is_clamped);
	tcase_add_test(tc, queue_room);
	tcase_add_test(tc, bad_last_seal_refuses_to_start);
	return s;
}

int main(void)
{
	log_init("test_sealer", LOG_LVL_ERROR, LOG_FMT_TEXT);
	return testutil_run(sealer_suite());
}
