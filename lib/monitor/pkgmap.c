/*
 * pkgmap.c — see pkgmap.h.  "auto" asks sysfs for every online CPU's
 * physical_package_id; the override is checked against the online CPUs, so a
 * typo in a config file fails at start instead of leaving a CPU's time
 * unaccounted.
 */
#include "pkgmap.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "util.h"

/* The longest "P=CPUS" segment we accept; a CPU list of 1024 CPUs fits. */
#define SEG_MAX 4096

static void pkgmap_clear(struct pkgmap *m)
{
	memset(m, 0, sizeof *m);
	memset(m->of_cpu, -1, sizeof m->of_cpu);
}

/*
 * Adds cpu to package id, keeping id[] sorted; -EINVAL past PKGMAP_MAX
 * packages or for an id out of range.
 */
static int add_cpu(struct pkgmap *m, int id, int cpu)
{
	int i = 0;
	while (i < m->n && m->id[i] < id)
		i++;
	if (i == m->n || m->id[i] != id) {
		if (m->n == PKGMAP_MAX || id < 0 || id >= PKGMAP_MAX)
			return -EINVAL;
		memmove(&m->id[i + 1], &m->id[i], (size_t)(m->n - i) * sizeof m->id[0]);
		memmove(&m->cpus[i + 1], &m->cpus[i], (size_t)(m->n - i) * sizeof m->cpus[0]);
		m->id[i] = id;
		cpuset_zero(&m->cpus[i]);
		m->n++;
	}
	cpuset_set(&m->cpus[i], cpu);
	return 0;
}

/* of_cpu follows from cpus[] once every package is in place. */
static void index_cpus(struct pkgmap *m)
{
	memset(m->of_cpu, -1, sizeof m->of_cpu);
	for (int i = 0; i < m->n; i++)
		for (int c = cpuset_first(&m->cpus[i]); c >= 0; c = cpuset_next(&m->cpus[i], c + 1))
			m->of_cpu[c] = (signed char)i;
}

static int build_auto(const char *root, const struct cpuset *online, struct pkgmap *m,
		      char *why, size_t cap)
{
	for (int c = cpuset_first(online); c >= 0; c = cpuset_next(online, c + 1)) {
		int id = cpuset_package_of(root, c);
		if (id == -ENOENT)
			id = 0;   /* no topology (some VMs): one package, as cpuset_resolve says */
		if (id < 0) {
			util_say(why, cap, "cpu%d: cannot read its package: %s", c, strerror(-id));
			return id;
		}
		if (add_cpu(m, id, c)) {
			util_say(why, cap, "cpu%d: package %d is beyond the %d packages supported",
				 c, id, PKGMAP_MAX);
			return -EINVAL;
		}
	}
	return 0;
}

/* One "P=CPUS" segment of the override (len bytes at s). */
static int parse_segment(const char *s, size_t len, const struct cpuset *online,
			 struct pkgmap *m, char *why, size_t cap)
{
	char seg[SEG_MAX];
	if (len == 0 || len >= sizeof seg) {
		util_say(why, cap, "monitor_packages: %s segment", len ? "overlong" : "empty");
		return -EINVAL;
	}
	memcpy(seg, s, len);
	seg[len] = '\0';
	char *eq = strchr(seg, '=');
	long long id;
	struct cpuset cpus;
	if (!eq) {
		util_say(why, cap, "monitor_packages: \"%s\" is not PACKAGE=CPUS", seg);
		return -EINVAL;
	}
	*eq = '\0';
	char *idtxt = seg;
	while (isspace((unsigned char)*idtxt))
		idtxt++;
	for (char *e = eq; e > idtxt && isspace((unsigned char)e[-1]); e--)
		e[-1] = '\0';
	if (util_parse_i64(idtxt, &id) || id < 0 || id >= PKGMAP_MAX) {
		util_say(why, cap, "monitor_packages: package \"%s\" is not a number in 0..%d",
			 idtxt, PKGMAP_MAX - 1);
		return -EINVAL;
	}
	for (int i = 0; i < m->n; i++)
		if (m->id[i] == (int)id) {
			util_say(why, cap, "monitor_packages: package %lld given twice", id);
			return -EINVAL;
		}
	if (cpuset_parse(eq + 1, &cpus)) {
		util_say(why, cap, "monitor_packages: package %lld: bad CPU list \"%s\"", id, eq + 1);
		return -EINVAL;
	}
	for (int c = cpuset_first(&cpus); c >= 0; c = cpuset_next(&cpus, c + 1)) {
		if (!cpuset_isset(online, c)) {
			util_say(why, cap, "monitor_packages: package %lld: cpu%d is offline", id, c);
			return -EINVAL;
		}
		if (m->of_cpu[c] >= 0) {
			util_say(why, cap, "monitor_packages: cpu%d is in packages %d and %lld",
				 c, m->of_cpu[c], id);
			return -EINVAL;
		}
		m->of_cpu[c] = (signed char)id;   /* the id for now: index_cpus rewrites it */
		add_cpu(m, (int)id, c);           /* id checked above, and n < PKGMAP_MAX */
	}
	return 0;
}

static int build_override(const char *spec, const struct cpuset *online, struct pkgmap *m,
			  char *why, size_t cap)
{
	struct util_items it = { .rest = spec, .sep = ';' };
	if (!*spec)   /* an empty override is a mistake, not "no packages" */
		return parse_segment(spec, 0, online, m, why, cap);
	while (util_items_next(&it)) {
		int ret = parse_segment(it.item, it.len, online, m, why, cap);
		if (ret)
			return ret;
	}
	return 0;
}

int pkgmap_build(const char *sysfs_root, const char *spec, struct pkgmap *out, char *why,
		 size_t cap)
{
	struct cpuset online;
	struct pkgmap m;
	util_say(why, cap, "%s", "");
	pkgmap_clear(&m);
	int ret = cpuset_online(sysfs_root, &online);
	if (ret) {
		util_say(why, cap, "cannot read the online CPUs: %s", strerror(-ret));
		goto out;
	}
	if (!spec || strcmp(spec, "auto") == 0)
		ret = build_auto(sysfs_root, &online, &m, why, cap);
	else
		ret = build_override(spec, &online, &m, why, cap);
	if (ret)
		goto out;
	index_cpus(&m);
	*out = m;
out:
	return ret;
}
