/* cpuset.c — see cpuset.h. */
#include "cpuset.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CPUSET_WORDS (CPUSET_MAX / 64)
/* A fully fragmented 1024-CPU list is ~4 KiB; anything far larger is not sysfs. */
#define CPUSET_FILE_MAX (64 * 1024)
#define CPUSET_SYSFS_CPU "/sys/devices/system/cpu"

void cpuset_zero(struct cpuset *s)
{
	memset(s, 0, sizeof *s);
}

void cpuset_set(struct cpuset *s, int cpu)
{
	if (cpu >= 0 && cpu < CPUSET_MAX)
		s->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
}

void cpuset_clear(struct cpuset *s, int cpu)
{
	if (cpu >= 0 && cpu < CPUSET_MAX)
		s->bits[cpu / 64] &= ~(UINT64_C(1) << (cpu % 64));
}

bool cpuset_isset(const struct cpuset *s, int cpu)
{
	if (cpu < 0 || cpu >= CPUSET_MAX)
		return false;
	return (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}

int cpuset_count(const struct cpuset *s)
{
	int n = 0;
	for (int i = 0; i < CPUSET_WORDS; i++)
		n += __builtin_popcountll(s->bits[i]);
	return n;
}

int cpuset_next(const struct cpuset *s, int cpu)
{
	if (cpu < 0)
		cpu = 0;
	for (int w = cpu / 64; w < CPUSET_WORDS; w++) {
		uint64_t word = s->bits[w];
		if (w == cpu / 64)
			word &= ~UINT64_C(0) << (cpu % 64);
		if (word)
			return w * 64 + __builtin_ctzll(word);
	}
	return -ENOENT;
}

int cpuset_first(const struct cpuset *s)
{
	return cpuset_next(s, 0);
}

int cpuset_last(const struct cpuset *s)
{
	for (int w = CPUSET_WORDS - 1; w >= 0; w--)
		if (s->bits[w])
			return w * 64 + 63 - __builtin_clzll(s->bits[w]);
	return -ENOENT;
}

bool cpuset_equal(const struct cpuset *a, const struct cpuset *b)
{
	return memcmp(a->bits, b->bits, sizeof a->bits) == 0;
}

bool cpuset_subset(const struct cpuset *sub, const struct cpuset *of)
{
	for (int i = 0; i < CPUSET_WORDS; i++)
		if (sub->bits[i] & ~of->bits[i])
			return false;
	return true;
}

void cpuset_and(struct cpuset *out, const struct cpuset *a, const struct cpuset *b)
{
	for (int i = 0; i < CPUSET_WORDS; i++)
		out->bits[i] = a->bits[i] & b->bits[i];
}

void cpuset_or(struct cpuset *out, const struct cpuset *a, const struct cpuset *b)
{
	for (int i = 0; i < CPUSET_WORDS; i++)
		out->bits[i] = a->bits[i] | b->bits[i];
}

void cpuset_andnot(struct cpuset *out, const struct cpuset *a, const struct cpuset *b)
{
	for (int i = 0; i < CPUSET_WORDS; i++)
		out->bits[i] = a->bits[i] & ~b->bits[i];
}

void cpuset_to_cpu_set(const struct cpuset *s, cpu_set_t *out)
{
	CPU_ZERO(out);
	for (int c = cpuset_first(s); c >= 0; c = cpuset_next(s, c + 1))
		if (c < CPU_SETSIZE)
			CPU_SET(c, out);
}

/* Digits only (no sign, no spaces), value < CPUSET_MAX. */
static int parse_cpu(const char **pp, const char *end, int *out)
{
	const char *p = *pp;
	int v = 0;

	if (p == end || !isdigit((unsigned char)*p))
		return -EINVAL;
	while (p < end && isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		if (v >= CPUSET_MAX)
			return -EINVAL;
		p++;
	}
	*pp = p;
	*out = v;
	return 0;
}

int cpuset_parse(const char *s, struct cpuset *out)
{
	struct cpuset tmp;
	const char *p, *end;

	if (!s)
		return -EINVAL;
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (end == s)
		return -EINVAL;

	cpuset_zero(&tmp);
	for (p = s;;) {
		int lo, hi;
		if (parse_cpu(&p, end, &lo))
			return -EINVAL;
		hi = lo;
		if (p < end && *p == '-') {
			p++;
			if (parse_cpu(&p, end, &hi) || hi < lo)
				return -EINVAL;
		}
		for (int c = lo; c <= hi; c++)
			cpuset_set(&tmp, c);
		if (p == end)
			break;
		if (*p++ != ',')
			return -EINVAL;
	}
	*out = tmp;
	return 0;
}

int cpuset_format(const struct cpuset *s, char *buf, size_t cap)
{
	size_t pos = 0;

	if (cap == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (int lo = cpuset_first(s); lo >= 0;) {
		int hi = lo;
		while (hi + 1 < CPUSET_MAX && cpuset_isset(s, hi + 1))
			hi++;
		int n = hi == lo ? snprintf(buf + pos, cap - pos, "%s%d", pos ? "," : "", lo)
				 : snprintf(buf + pos, cap - pos, "%s%d-%d", pos ? "," : "", lo, hi);
		if (n < 0 || (size_t)n >= cap - pos)
			return -ENOSPC;
		pos += (size_t)n;
		lo = cpuset_next(s, hi + 1);
	}
	return 0;
}

static int sysfs_path(char *buf, size_t cap, const char *root, const char *rel)
{
	int n = snprintf(buf, cap, "%s" CPUSET_SYSFS_CPU "/%s", root ? root : "", rel);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Reads a CPU-list file; an empty file is an empty set when allow_empty. */
static int read_list(const char *root, const char *rel, bool allow_empty,
		     struct cpuset *out)
{
	char path[PATH_MAX], *data = NULL;
	int ret = sysfs_path(path, sizeof path, root, rel);

	if (ret)
		return ret;
	ret = util_read_file(path, CPUSET_FILE_MAX, &data, NULL);
	if (ret)
		return ret;
	const char *p = data;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0' && allow_empty)
		cpuset_zero(out);
	else
		ret = cpuset_parse(data, out);
	free(data);
	return ret;
}

int cpuset_online(const char *sysfs_root, struct cpuset *out)
{
	return read_list(sysfs_root, "online", false, out);
}

int cpuset_isolated(const char *sysfs_root, struct cpuset *out)
{
	int ret = read_list(sysfs_root, "isolated", true, out);
	if (ret == -ENOENT) {
		/* Kernels before 4.2 have no such file: nothing is isolated. */
		cpuset_zero(out);
		ret = 0;
	}
	return ret;
}

int cpuset_package_of(const char *sysfs_root, int cpu)
{
	char rel[64], path[PATH_MAX], line[32];
	long long id;
	int ret;

	if (cpu < 0 || cpu >= CPUSET_MAX)
		return -EINVAL;
	snprintf(rel, sizeof rel, "cpu%d/topology/physical_package_id", cpu);
	ret = sysfs_path(path, sizeof path, sysfs_root, rel);
	if (ret)
		return ret;
	ret = util_read_line(path, line, sizeof line);
	if (ret)
		return ret;
	if (util_parse_i64(line, &id) || id >= INT_MAX)
		return -EINVAL;
	/* Some architectures report -1 for "unknown": one package then. */
	return id < 0 ? 0 : (int)id;
}

/* Package of an online CPU, with missing topology meaning package 0. */
static int package_or_zero(const char *root, int cpu, bool *missing)
{
	int p = cpuset_package_of(root, cpu);
	if (p == -ENOENT) {
		if (missing)
			*missing = true;
		return 0;
	}
	return p;
}

/* Appends to layout->why; a truncated explanation is still useful. */
__attribute__((format(printf, 2, 3)))
static void why_add(struct cpu_layout *l, const char *fmt, ...)
{
	size_t len = strlen(l->why);
	va_list ap;

	if (len + 1 >= sizeof l->why)
		return;
	if (len) {
		snprintf(l->why + len, sizeof l->why - len, "; ");
		len = strlen(l->why);
	}
	va_start(ap, fmt);
	vsnprintf(l->why + len, sizeof l->why - len, fmt, ap);
	va_end(ap);
}

/* Short list text for messages; long lists are cut with "...". */
static const char *fmt_short(const struct cpuset *s, char *buf, size_t cap)
{
	if (cpuset_format(s, buf, cap) == -ENOSPC && cap > 4)
		memcpy(buf + cap - 4, "...", 4);
	return buf;
}

static bool is_auto(const char *cfg)
{
	return !cfg || strcmp(cfg, "auto") == 0;
}

/* Parses an explicit list and checks it is online; reason in why on failure. */
static int explicit_list(const char *what, const char *cfg, const struct cpuset *online,
			 struct cpuset *out, struct cpu_layout *l)
{
	struct cpuset off;
	char b[40];

	if (cpuset_parse(cfg, out)) {
		why_add(l, "%s '%.32s' is not a CPU list (e.g. 1 or 0-3,5)", what, cfg);
		return -EINVAL;
	}
	cpuset_andnot(&off, out, online);
	if (cpuset_count(&off)) {
		why_add(l, "%s CPU %d is not online (online: %s)", what, cpuset_first(&off),
			fmt_short(online, b, sizeof b));
		return -EINVAL;
	}
	return 0;
}

static int choose_measurement(const char *cfg, const struct cpuset *online,
			     const struct cpuset *isolated, const struct cpuset *pkgs,
			     const int *pkg, struct cpu_layout *l)
{
	char b[40];

	if (!is_auto(cfg)) {
		int ret = explicit_list("measurement", cfg, online, &l->measurement, l);
		if (!ret)
			why_add(l, "measurement %s configured",
				fmt_short(&l->measurement, b, sizeof b));
		return ret;
	}
	if (cpuset_count(isolated)) {
		l->measurement = *isolated;
		why_add(l, "measurement %s = isolcpus", fmt_short(isolated, b, sizeof b));
	} else if (cpuset_count(pkgs) > 1) {
		int p0 = cpuset_first(pkgs);
		cpuset_zero(&l->measurement);
		for (int c = cpuset_first(online); c >= 0; c = cpuset_next(online, c + 1))
			if (pkg[c] == p0)
				cpuset_set(&l->measurement, c);
		why_add(l, "measurement %s = package %d of %d",
			fmt_short(&l->measurement, b, sizeof b), p0, cpuset_count(pkgs));
	} else {
		cpuset_zero(&l->measurement);
		cpuset_set(&l->measurement, cpuset_last(online));
		why_add(l, "measurement %d = highest online CPU (one package)",
			cpuset_last(online));
	}
	return 0;
}

static int choose_infra(const char *cfg, const struct cpuset *online,
			const struct cpuset *isolated, struct cpu_layout *l)
{
	struct cpuset overlap;
	char b[40];

	if (!is_auto(cfg)) {
		int ret = explicit_list("infra", cfg, online, &l->infra, l);
		if (ret)
			return ret;
		why_add(l, "infra %s configured", fmt_short(&l->infra, b, sizeof b));
	} else {
		/* isolcpus CPUs get no load balancing: keep infra off them if possible. */
		cpuset_andnot(&l->infra, online, &l->measurement);
		cpuset_andnot(&overlap, &l->infra, isolated);
		if (cpuset_count(&overlap))
			l->infra = overlap;
		if (cpuset_count(&l->infra)) {
			why_add(l, "infra %s = other online CPUs",
				fmt_short(&l->infra, b, sizeof b));
		} else {
			l->infra = *online;
			why_add(l, "infra %s = all online CPUs (no CPU left over)",
				fmt_short(&l->infra, b, sizeof b));
		}
	}
	cpuset_and(&overlap, &l->infra, &l->measurement);
	if (cpuset_count(&overlap))
		why_add(l, "infra overlaps measurement on %s", fmt_short(&overlap, b, sizeof b));
	return 0;
}

int cpuset_resolve(const char *sysfs_root, const char *measurement_cfg,
		   const char *infra_cfg, struct cpu_layout *out)
{
	struct cpuset online, isolated, pkgs, mpkgs;
	int pkg[CPUSET_MAX];
	bool topo_missing = false;
	int ret;

	memset(out, 0, sizeof *out);
	ret = cpuset_online(sysfs_root, &online);
	if (ret) {
		why_add(out, "cannot read online CPUs: %s", strerror(-ret));
		return ret;
	}
	ret = cpuset_isolated(sysfs_root, &isolated);
	if (ret) {
		why_add(out, "cannot read isolated CPUs: %s", strerror(-ret));
		return ret;
	}
	cpuset_and(&isolated, &isolated, &online);

	cpuset_zero(&pkgs);
	for (int c = cpuset_first(&online); c >= 0; c = cpuset_next(&online, c + 1)) {
		pkg[c] = package_or_zero(sysfs_root, c, &topo_missing);
		if (pkg[c] < 0 || pkg[c] >= CPUSET_MAX) {
			ret = pkg[c] < 0 ? pkg[c] : -ERANGE;
			why_add(out, "cannot read package of CPU %d: %s", c, strerror(-ret));
			return ret;
		}
		cpuset_set(&pkgs, pkg[c]);
	}

	ret = choose_measurement(measurement_cfg, &online, &isolated, &pkgs, pkg, out);
	if (ret)
		return ret;
	ret = choose_infra(infra_cfg, &online, &isolated, out);
	if (ret)
		return ret;

	out->socket = pkg[cpuset_first(&out->measurement)];
	cpuset_zero(&mpkgs);
	for (int c = cpuset_first(&out->measurement); c >= 0;
	     c = cpuset_next(&out->measurement, c + 1))
		cpuset_set(&mpkgs, pkg[c]);
	cpuset_zero(&out->package);
	for (int c = cpuset_first(&online); c >= 0; c = cpuset_next(&online, c + 1))
		if (cpuset_isset(&mpkgs, pkg[c]))
			cpuset_set(&out->package, c);
	/* Any other CPU of the package draws package power too, and infra
	 * overlapping it runs the service there. */
	cpuset_and(&mpkgs, &out->infra, &out->package);
	out->shared_package = !cpuset_subset(&out->package, &out->measurement) ||
			      cpuset_count(&mpkgs) > 0;
	if (out->shared_package)
		why_add(out, "package %d shared", out->socket);
	if (topo_missing)
		why_add(out, "no topology in sysfs: assumed one package");
	return 0;
}

int cpuset_pin_self(const struct cpuset *s)
{
	cpu_set_t set;
	cpuset_to_cpu_set(s, &set);
	return sched_setaffinity(0, sizeof set, &set) < 0 ? -errno : 0;
}

/* comm and Cpus_allowed_list of one /proc/<pid>/status; 0 or -errno. */
static int proc_affinity(const char *root, const char *pid, char comm[16], struct cpuset *allowed)
{
	char path[PATH_MAX], line[8192];
	bool have_comm = false, have_cpus = false;
	int ret = -ENOENT;

	if ((size_t)snprintf(path, sizeof path, "%s/proc/%s/status", root, pid) >= sizeof path)
		return -ENAMETOOLONG;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((!have_comm || !have_cpus) && fgets(line, sizeof line, f)) {
		if (strncmp(line, "Name:\t", 6) == 0) {
			snprintf(comm, 16, "%.*s", (int)strcspn(line + 6, "\n"), line + 6);
			have_comm = true;
		} else if (strncmp(line, "Cpus_allowed_list:\t", 19) == 0) {
			have_cpus = cpuset_parse(line + 19, allowed) == 0;
		}
	}
	if (have_comm && have_cpus)
		ret = 0;
	fclose(f);
	return ret;
}

int cpuset_proc_affinity(const char *proc_root, int pid, struct cpuset_proc *out)
{
	char name[24];
	memset(out, 0, sizeof *out);
	if (pid <= 0)
		return -EINVAL;
	snprintf(name, sizeof name, "%d", pid);
	out->pid = pid;
	return proc_affinity(proc_root ? proc_root : "", name, out->comm, &out->allowed);
}
