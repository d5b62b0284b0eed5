/*
 * test_meter.c — meter back ends against fake sysfs/procfs trees.
 *
 * Unreadable counters: the tests run as root, and chmod 000 does not stop
 * root, so "unreadable" is produced by replacing energy_uj with a directory
 * (open succeeds, read fails with EISDIR) or by removing it (ENOENT).  The
 * real EACCES path is exercised by dropping to uid 65534 in the forked test.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cpuset.h"
#include "meter.h"
#include "testutil.h"

static char tmp[64];  /* short, so derived paths provably fit PATH_MAX */

/* Rewrites in place (same inode), as the kernel's counters behave for an open fd. */
static void put(const char *rel, const char *content)
{
	testutil_write(tmp, rel, content);
}

static void putu(const char *rel, unsigned long long v)
{
	char b[32];
	snprintf(b, sizeof b, "%llu\n", v);
	put(rel, b);
}

static void zone(const char *dir, const char *name, unsigned long long range,
		 unsigned long long energy)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "pc/%s/name", dir);
	char nm[64];
	snprintf(nm, sizeof nm, "%s\n", name);
	put(p, nm);
	snprintf(p, sizeof p, "pc/%s/max_energy_range_uj", dir);
	putu(p, range);
	snprintf(p, sizeof p, "pc/%s/energy_uj", dir);
	putu(p, energy);
}

/*
 * Deliberately odd order: intel-rapl:0 is package-1, intel-rapl:1 is package-0
 * (whose sub-zones are core and dram, dram second), intel-rapl:2 is psys; the
 * dram sub-zone is also linked flat at the top level as sysfs does.
 */
static void build_tree(void)
{
	zone("intel-rapl:0", "package-1", 1000000, 777);
	zone("intel-rapl:1", "package-0", 1000, 100);
	zone("intel-rapl:1/intel-rapl:1:0", "core", 100000, 5);
	zone("intel-rapl:1/intel-rapl:1:1", "dram", 500, 10);
	zone("intel-rapl:2", "psys", 2000000, 0);
	char a[PATH_MAX], b[PATH_MAX];
	snprintf(a, sizeof a, "%s/pc/intel-rapl:1/intel-rapl:1:1", tmp);
	snprintf(b, sizeof b, "%s/pc/intel-rapl:1:1", tmp);
	ck_assert_int_eq(symlink(a, b), 0);
	put("pc/intel-rapl:1/enabled", "1\n");  /* noise the walker must ignore */
	put("pc/dummy:0/name", "package-0\n");  /* not a RAPL zone */
}

static void setup(void)
{
	testutil_tmpdir(tmp, sizeof tmp, "meter");
	chmod(tmp, 0755);   /* the uid-65534 child must reach the tree */
}

static void teardown(void)
{
	testutil_rmtree(tmp);
}

static struct meter_options pc_opts(int socket)
{
	static char root[PATH_MAX];
	snprintf(root, sizeof root, "%s/pc", tmp);
	struct meter_options o = { .kind = "powercap", .powercap_root = root, .socket = socket };
	return o;
}

/* package-0's counter in the tree build_tree() makes. */
static const char *pkg0_energy(void)
{
	static char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/pc/intel-rapl:1/energy_uj", tmp);
	return p;
}

/* Opens the fake powercap tree for socket; fails the test with the reason otherwise. */
static struct meter *pc_open(int socket, char *why, size_t cap)
{
	struct meter_options o = pc_opts(socket);
	struct meter *m = meter_open(&o, why, cap);
	ck_assert_msg(m, "open failed: %s", why);
	return m;
}

/* Opening the fake powercap tree for socket fails with err, for a reason
 * (left in why) that contains cause. */
static void pc_open_fails(int socket, int err, const char *cause, char *why, size_t cap)
{
	struct meter_options o = pc_opts(socket);
	errno = 0;
	ck_assert_ptr_null(meter_open(&o, why, cap));
	ck_assert_int_eq(errno, err);
	ck_assert_msg(strstr(why, cause), "%s", why);
}

START_TEST(powercap_by_name_and_wraps)
{
	build_tree();
	char why[512];
	struct meter *m = pc_open(0, why, sizeof why);
	ck_assert_str_eq(meter_backend(m), "powercap");
	ck_assert(!meter_estimated(m));
	ck_assert_uint_eq(meter_domains(m), METER_BIT(METER_PACKAGE) | METER_BIT(METER_DRAM) |
			  METER_BIT(METER_CORE) | METER_BIT(METER_PSYS));
	ck_assert_msg(strstr(why, "package-0"), "%s", why);
	/* shortest range 500 µJ at an assumed 1 kW, halved */
	ck_assert_double_eq_tol(meter_max_wrap_seconds(m), 500e-6 / 1000 / 2, 1e-12);

	struct meter_reading r;
	ck_assert_int_eq(meter_read(m, &r), 0);
	ck_assert_uint_eq(r.uj[METER_PACKAGE], 0);
	ck_assert_uint_eq(r.uj[METER_DRAM], 0);
	ck_assert_uint_eq(r.present, meter_domains(m));

	static const unsigned long long pkg[] = { 400, 900, 50, 60, 999, 0 };
	static const unsigned long long pkg_cum[] = { 300, 800, 950, 960, 1899, 1900 };
	static const unsigned pkg_wraps[] = { 0, 0, 1, 1, 1, 2 };
	static const unsigned long long dram[] = { 20, 490, 5, 5, 400, 100 };
	static const unsigned long long dram_cum[] = { 10, 480, 495, 495, 890, 1090 };
	static const unsigned dram_wraps[] = { 0, 0, 1, 1, 1, 2 };
	uint64_t prev_t = r.t_ns;
	for (size_t i = 0; i < sizeof pkg / sizeof pkg[0]; i++) {
		putu("pc/intel-rapl:1/energy_uj", pkg[i]);
		putu("pc/intel-rapl:1/intel-rapl:1:1/energy_uj", dram[i]);
		putu("pc/intel-rapl:0/energy_uj", 999999);  /* package-1 must not leak in */
		ck_assert_int_eq(meter_read(m, &r), 0);
		ck_assert_uint_eq(r.uj[METER_PACKAGE], pkg_cum[i]);
		ck_assert_uint_eq(r.wraps[METER_PACKAGE], pkg_wraps[i]);
		ck_assert_uint_eq(r.uj[METER_DRAM], dram_cum[i]);
		ck_assert_uint_eq(r.wraps[METER_DRAM], dram_wraps[i]);
		ck_assert_uint_eq(r.uj[METER_CORE], 0);
		ck_assert_uint_ge(r.t_ns, prev_t);
		prev_t = r.t_ns;
	}
	meter_close(m);
}
END_TEST

/*
 * A counter that goes backwards: a wrap when the corrected step is a power
 * the domain can draw, a reset (no energy, counted apart) when it is not.
 * The steps are chosen so that the verdict cannot depend on how fast the
 * reads are: 500 kJ is a reset at 1 kW unless the reads are 500 s apart.
 */
START_TEST(powercap_reset_is_not_a_wrap)
{
	zone("intel-rapl:0", "package-0", 1000000000000ull, 500000000000ull);
	char why[512];
	struct meter *m = pc_open(0, why, sizeof why);
	struct meter_reading r;
	ck_assert_int_eq(meter_read(m, &r), 0);
	ck_assert_uint_eq(r.uj[METER_PACKAGE], 0);

	putu("pc/intel-rapl:0/energy_uj", 10);              /* back to 10 µJ: reset */
	ck_assert_int_eq(meter_read(m, &r), 0);
	ck_assert_uint_eq(r.uj[METER_PACKAGE], 0);
	ck_assert_uint_eq(r.resets[METER_PACKAGE], 1);
	ck_assert_uint_eq(r.wraps[METER_PACKAGE], 0);

	putu("pc/intel-rapl:0/energy_uj", 1000000000000ull - 100);
	ck_assert_int_eq(meter_read(m, &r), 0);             /* forward: energy */
	ck_assert_uint_eq(r.uj[METER_PACKAGE], 1000000000000ull - 110);
	putu("pc/intel-rapl:0/energy_uj", 50);              /* 150 µJ across the top: a wrap */
	ck_assert_int_eq(meter_read(m, &r), 0);
	ck_assert_uint_eq(r.uj[METER_PACKAGE], 1000000000000ull + 40);
	ck_assert_uint_eq(r.wraps[METER_PACKAGE], 1);
	ck_assert_uint_eq(r.resets[METER_PACKAGE], 1);
	meter_close(m);

	/* the ceiling comes from the options: at 1 nW even the small step is a reset */
	zone("intel-rapl:0", "package-0", 1000, 900);
	struct meter_options o = pc_opts(0);
	o.max_plausible_watts[METER_PACKAGE] = 1e-9;
	m = meter_open(&o, why, sizeof why);
	ck_assert_ptr_nonnull(m);
	putu("pc/intel-rapl:0/energy_uj", 50);
	ck_assert_int_eq(meter_read(m, &r), 0);
	ck_assert_uint_eq(r.resets[METER_PACKAGE], 1);
	ck_assert_uint_eq(r.uj[METER_PACKAGE], 0);
	meter_close(m);
}
END_TEST

START_TEST(powercap_other_socket)
{
	build_tree();
	char why[512];
	struct meter *m = pc_open(1, why, sizeof why);
	ck_assert_uint_eq(meter_domains(m), METER_BIT(METER_PACKAGE) | METER_BIT(METER_PSYS));
	putu("pc/intel-rapl:0/energy_uj", 1777);
	struct meter_reading r;
	ck_assert_int_eq(meter_read(m, &r), 0);
	ck_assert_uint_eq(r.uj[METER_PACKAGE], 1000);
	meter_close(m);
}
END_TEST

START_TEST(powercap_no_package_zone)
{
	build_tree();
	char why[512];
	pc_open_fails(3, ENODEV, "powercap: no zone named package-3", why, sizeof why);
	ck_assert_msg(strstr(why, "package-1") && strstr(why, "psys"), "%s", why);
}
END_TEST

START_TEST(powercap_missing_root)
{
	char why[512];   /* tmp/pc was never created */
	pc_open_fails(0, ENOENT, "/pc: No such file or directory", why, sizeof why);
}
END_TEST

START_TEST(powercap_energy_is_directory)
{
	build_tree();
	ck_assert_int_eq(unlink(pkg0_energy()), 0);
	ck_assert_int_eq(mkdir(pkg0_energy(), 0755), 0);
	char why[512];
	pc_open_fails(0, EISDIR, "intel-rapl:1/energy_uj: Is a directory", why, sizeof why);
}
END_TEST

START_TEST(powercap_energy_missing)
{
	build_tree();
	ck_assert_int_eq(unlink(pkg0_energy()), 0);
	char why[512];
	pc_open_fails(0, ENOENT, "energy_uj: No such file", why, sizeof why);
}
END_TEST

START_TEST(powercap_permission_denied)
{
	build_tree();
	ck_assert_int_eq(chmod(pkg0_energy(), 0400), 0);
	if (geteuid() != 0)
		ck_assert_int_eq(chmod(pkg0_energy(), 0), 0);
	/* Root ignores modes: open as uid 65534 in a child so teardown keeps root. */
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		if (geteuid() == 0 && setresuid(65534, 65534, 65534) != 0)
			_exit(100);
		struct meter_options o = pc_opts(0);
		char why[512] = "";
		struct meter *m = meter_open(&o, why, sizeof why);
		int e = m ? 0 : errno;
		if (write(fds[1], why, strlen(why)) < 0)
			_exit(101);
		_exit(e);
	}
	close(fds[1]);
	char why[512] = "";
	ssize_t n = read(fds[0], why, sizeof why - 1);
	close(fds[0]);
	why[n > 0 ? n : 0] = '\0';
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), EACCES);
	ck_assert_msg(strstr(why, "energy_uj: Permission denied (root only since Linux 5.10"),
		      "%s", why);
}
END_TEST

START_TEST(powercap_bad_range_skips_subzone)
{
	build_tree();
	putu("pc/intel-rapl:1/intel-rapl:1:1/max_energy_range_uj", 0);
	struct meter_options o = pc_opts(0);
	char why[512];
	struct meter *m = meter_open(&o, why, sizeof why);
	ck_assert_msg(m, "%s", why);
	ck_assert(!(meter_domains(m) & METER_BIT(METER_DRAM)));
	ck_assert_msg(strstr(why, "dram skipped"), "%s", why);
	meter_close(m);
	/* ...but a broken package range is fatal */
	putu("pc/intel-rapl:1/max_energy_range_uj", 0);
	ck_assert_ptr_null(meter_open(&o, why, sizeof why));
	ck_assert_msg(strstr(why, "max_energy_range_uj"), "%s", why);
}
END_TEST

static void write_stat(unsigned long long u0, unsigned long long u1, unsigned long long s1,
		       unsigned long long idle1)
{
	char b[512];
	snprintf(b, sizeof b,
		 "cpu  %llu 0 %llu %llu 0 0 0 0 0 0\n"
		 "cpu0 %llu 0 0 1000 0 0 0 0 0 0\n"
		 "cpu1 %llu 0 %llu %llu 0 0 0 0 0 0\n"
		 "intr 1 2 3\nctxt 5\n", u0 + u1, s1, 1000 + idle1, u0, u1, s1, idle1);
	put("proc/stat", b);
}

START_TEST(model_exact)
{
	long hz = sysconf(_SC_CLK_TCK);
	write_stat(100, 200, 100, 1000);
	struct cpuset cs;
	ck_assert_int_eq(cpuset_parse("1", &cs), 0);
	struct meter_options o = {
		.kind = "model", .cpus = &cs, .proc_root = tmp,
		.model_idle_package_watts = 0, .model_active_watts_per_cpu = 10,
		.model_idle_dram_watts = 0, .model_active_dram_watts_per_cpu = 2,
	};
	char why[512];
	struct meter *m = meter_open(&o, why, sizeof why);
	ck_assert_msg(m, "%s", why);
	ck_assert_str_eq(meter_backend(m), "model");
	ck_assert(meter_estimated(m));
	ck_assert_uint_eq(meter_domains(m), METER_BIT(METER_PACKAGE) | METER_BIT(METER_DRAM));
	ck_assert_double_eq(meter_max_wrap_seconds(m), 0);

	/* cpu1: +hz user, +hz/2 system = 1.5 busy seconds; cpu0's 10 s are not ours. */
	write_stat(100 + 10 * (unsigned long long)hz, 200 + (unsigned long long)hz,
		   100 + (unsigned long long)hz / 2, 5000);
	struct meter_reading r;
	ck_assert_int_eq(meter_read(m, &r), 0);
	ck_assert_uint_eq(r.uj[METER_PACKAGE], 15000000);
	ck_assert_uint_eq(r.uj[METER_DRAM], 3000000);
	ck_assert_uint_eq(r.wraps[METER_PACKAGE], 0);
	meter_close(m);
}
END_TEST

START_TEST(model_idle_watts_over_time)
{
	long hz = sysconf(_SC_CLK_TCK);
	write_stat(0, 0, 0, 0);
	struct meter_options o = {
		.kind = "model", .proc_root = tmp,   /* cpus NULL: every CPU */
		.model_idle_package_watts = 5, .model_active_watts_per_cpu = 12,
		.model_idle_dram_watts = 2, .model_active_dram_watts_per_cpu = 1,
	};
	char why[512];
	struct meter *m = meter_open(&o, why, sizeof why);
	ck_assert_msg(m, "%s", why);
	struct meter_reading a, b;
	ck_assert_int_eq(meter_read(m, &a), 0);
	usleep(20000);
	write_stat((unsigned long long)hz, (unsigned long long)hz, 0, 0);  /* 2 busy s in all */
	ck_assert_int_eq(meter_read(m, &b), 0);
	double dt = (double)(b.t_ns - a.t_ns) / 1e9;
	ck_assert(dt >= 0.02);
	double pkg = (5 * dt + 12 * 2.0) * 1e6, dram = (2 * dt + 1 * 2.0) * 1e6;
	ck_assert_double_eq_tol((double)(b.uj[METER_PACKAGE] - a.uj[METER_PACKAGE]), pkg, 2);
	ck_assert_double_eq_tol((double)(b.uj[METER_DRAM] - a.uj[METER_DRAM]), dram, 2);
	meter_close(m);
}
END_TEST

START_TEST(model_rejects_bad_input)
{
	char why[512];
	struct meter_options o = { .kind = "model", .proc_root = tmp,
				   .model_idle_package_watts = -1 };
	write_stat(0, 0, 0, 0);
	ck_assert_ptr_null(meter_open(&o, why, sizeof why));
	ck_assert_int_eq(errno, EINVAL);
	o.model_idle_package_watts = 1;
	put("proc/stat", "intr 1 2\n");
	ck_assert_ptr_null(meter_open(&o, why, sizeof why));
	ck_assert_msg(strstr(why, "malformed"), "%s", why);
	struct cpuset cs;
	cpuset_parse("7", &cs);
	o.cpus = &cs;
	write_stat(0, 0, 0, 0);
	ck_assert_ptr_null(meter_open(&o, why, sizeof why));
	ck_assert_msg(strstr(why, "none of the measurement CPUs"), "%s", why);
}
END_TEST

START_TEST(auto_picks_powercap)
{
	build_tree();
	write_stat(0, 0, 0, 0);
	struct meter_options o = pc_opts(0);
	o.kind = "auto";
	o.proc_root = tmp;
	char why[512];
	struct meter *m = meter_open(&o, why, sizeof why);
	ck_assert_msg(m, "%s", why);
	ck_assert_str_eq(meter_backend(m), "powercap");
	ck_assert_msg(strstr(why, "powercap: ") == why && strstr(why, "picked by auto"), "%s", why);
	meter_close(m);
}
END_TEST

START_TEST(auto_falls_back)
{
	write_stat(0, 0, 0, 0);
	struct meter_options o = pc_opts(0);   /* no tree: powercap fails */
	o.kind = NULL;                         /* NULL means auto */
	o.proc_root = tmp;
	o.model_idle_package_watts = 10;
	char why[1024];
	struct meter *m = meter_open(&o, why, sizeof why);
	ck_assert_msg(m, "%s", why);
	ck_assert_msg(strstr(why, "powercap: ") == why, "%s", why);
	ck_assert_msg(strstr(why, "No such file"), "%s", why);
	/* A host with a RAPL perf PMU stops at perf; others reach the model. */
	if (strcmp(meter_backend(m), "model") == 0) {
		ck_assert_msg(strstr(why, "; perf: ") && strstr(why, "; model: "), "%s", why);
		ck_assert(meter_estimated(m));
	} else {
		ck_assert_str_eq(meter_backend(m), "perf");
	}
	ck_assert_msg(strstr(why, "picked by auto: the back ends before it failed"), "%s", why);
	meter_close(m);
}
END_TEST

START_TEST(kind_errors)
{
	struct meter_options o = pc_opts(0);
	char why[512];
	o.kind = "rapl";
	ck_assert_ptr_null(meter_open(&o, why, sizeof why));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_msg(strstr(why, "unknown meter kind 'rapl'"), "%s", why);
	o.kind = "powercap";
	ck_assert_ptr_null(meter_open(&o, why, sizeof why));
	ck_assert_msg(strncmp(why, "powercap: ", 10) == 0 && !strstr(why, "model"), "%s", why);
	ck_assert_str_eq(meter_domain_name(METER_PACKAGE), "package");
	ck_assert_str_eq(meter_domain_name(METER_DRAM), "dram");
	ck_assert_str_eq(meter_domain_name(METER_CORE), "core");
	ck_assert_str_eq(meter_domain_name(METER_UNCORE), "uncore");
	ck_assert_str_eq(meter_domain_name(METER_PSYS), "psys");
	ck_assert_str_eq(meter_domain_name(METER_NDOMAINS), "?");
}
END_TEST

START_TEST(perf_explains_itself)
{
	struct meter_options o = { .kind = "perf", .socket = 0 };
	char why[512];
	struct meter *m = meter_open(&o, why, sizeof why);
	if (m) {   /* a host with RAPL perf events */
		ck_assert(meter_domains(m) & METER_BIT(METER_PACKAGE));
		struct meter_reading r;
		ck_assert_int_eq(meter_read(m, &r), 0);
		meter_close(m);
	} else {
		ck_assert_msg(strncmp(why, "perf: ", 6) == 0 && strlen(why) > 12, "%s", why);
	}
}
END_TEST

static Suite *meter_suite(void)
{
	TCase *tc;
	Suite *s = testutil_suite("meter", &tc);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, powercap_by_name_and_wraps);
	tcase_add_test(tc, powercap_reset_is_not_a_wrap);
	tcase_add_test(tc, powercap_other_socket);
	tcase_add_test(tc, powercap_no_package_zone);
	tcase_add_test(tc, powercap_missing_root);
	tcase_add_test(tc, powercap_energy_is_directory);
	tcase_add_test(tc, powercap_energy_missing);
	tcase_add_test(tc, powercap_permission_denied);
	tcase_add_test(tc, powercap_bad_range_skips_subzone);
	tcase_add_test(tc, model_exact);
	tcase_add_test(tc, model_idle_watts_over_time);
	tcase_add_test(tc, model_rejects_bad_input);
	tcase_add_test(tc, auto_picks_powercap);
	tcase_add_test(tc, auto_falls_back);
	tcase_add_test(tc, kind_errors);
	tcase_add_test(tc, perf_explains_itself);
	return s;
}

TESTUTIL_MAIN(meter_suite)
