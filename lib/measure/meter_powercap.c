/*
 * meter_powercap.c — the powercap (RAPL) back end; see meter.h.
 *
 * Zones are recognised by their `name` file only: indices differ between
 * machines (intel-rapl:1 is psys on laptops, package-1 on servers).  The real
 * sysfs tree lists every zone twice — nested (intel-rapl:0/intel-rapl:0:0) and
 * flattened (/sys/class/powercap/intel-rapl:0:0) — so sub-zones are looked for
 * in both places and deduplicated by directory name.
 */
#include "meter_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define PC_MAX_ZONES 32
/* Assumed worst-case draw of one zone when it advertises none: conservative on purpose. */
#define PC_ASSUMED_MAX_WATTS 1000.0

struct pc_zone {
	int fd;
	enum meter_domain dom;
	uint64_t max_range;   /* max_energy_range_uj: the counter runs 0..max_range */
	uint64_t last;        /* raw value at the previous read */
	uint64_t last_ns;     /* when it was read */
	uint64_t cum;         /* µJ since open */
	uint32_t wraps, resets;
	double max_watts;     /* a backward step implying more is a reset, not a wrap */
	char dir[48];         /* "intel-rapl:0:0", for dedup and messages */
};

struct pc_state {
	struct pc_zone z[PC_MAX_ZONES];
	size_t n;
	/* every zone directory tried, opened or not: sysfs lists sub-zones twice */
	char tried[PC_MAX_ZONES * 2][48];
	size_t ntried;
};

/* "intel-rapl:3" → prefix "intel-rapl", index 3, sub -1; "intel-rapl:3:1" → sub 1. */
static bool parse_zone_dir(const char *d, int *index, int *sub)
{
	const char *p;
	if (strncmp(d, "intel-rapl:", 11) == 0)
		p = d + 11;
	else if (strncmp(d, "amd-rapl:", 9) == 0)
		p = d + 9;
	else
		return false;
	char *end;
	if (*p < '0' || *p > '9')
		return false;
	long a = strtol(p, &end, 10);
	*sub = -1;
	if (*end == ':') {
		const char *q = end + 1;
		if (*q < '0' || *q > '9')
			return false;
		long b = strtol(q, &end, 10);
		if (*end || b > INT_MAX)
			return false;
		*sub = (int)b;
	} else if (*end) {
		return false;
	}
	if (a > INT_MAX || strlen(d) >= sizeof ((struct pc_zone *)0)->dir)
		return false;
	*index = (int)a;
	return true;
}

static int read_u64_fd(int fd, uint64_t *out)
{
	char buf[32];
	ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
	if (r < 0)
		return -errno;
	buf[r] = '\0';
	char *end;
	if (r == 0 || buf[0] < '0' || buf[0] > '9')
		return -EIO;
	errno = 0;
	unsigned long long v = strtoull(buf, &end, 10);
	if (errno || (*end && *end != '\n'))
		return -EIO;
	*out = v;
	return 0;
}

static int read_u64_path(const char *path, uint64_t *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int ret = read_u64_fd(fd, out);
	close(fd);
	return ret;
}

static int read_zone_name(const char *zpath, char *name, size_t cap)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/name", zpath) >= (int)sizeof path)
		return -ENAMETOOLONG;
	return util_read_line(path, name, cap);
}

/* Marks dir as tried; false if it already was (or the list is full). */
static bool first_try(struct pc_state *s, const char *dir)
{
	for (size_t i = 0; i < s->ntried; i++)
		if (strcmp(s->tried[i], dir) == 0)
			return false;
	size_t len = strlen(dir);
	if (s->ntried >= sizeof s->tried / sizeof s->tried[0] || len >= sizeof s->tried[0])
		return false;
	memcpy(s->tried[s->ntried++], dir, len + 1);
	return true;
}

/*
 * Opens one zone's counter.  0, or -errno with a full reason in why.
 */
static int zone_add(struct pc_state *s, const char *zpath, const char *dir,
		    enum meter_domain dom, char *why, size_t whylen)
{
	char path[PATH_MAX];
	struct pc_zone *z;
	int ret;

	if (s->n >= PC_MAX_ZONES) {
		util_say(why, whylen, "more than %d RAPL zones", PC_MAX_ZONES);
		return -E2BIG;
	}
	z = &s->z[s->n];
	memset(z, 0, sizeof *z);
	z->dom = dom;
	snprintf(z->dir, sizeof z->dir, "%s", dir);

	snprintf(path, sizeof path, "%s/max_energy_range_uj", zpath);
	ret = read_u64_path(path, &z->max_range);
	if (ret == 0 && z->max_range == 0)
		ret = -EIO;
	if (ret) {
		util_say(why, whylen, "%s: %s (needed to correct counter wraps)", path,
		    ret == -EIO ? "not a positive number" : strerror(-ret));
		return ret;
	}
	snprintf(path, sizeof path, "%s/energy_uj", zpath);
	z->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (z->fd < 0) {
		ret = -errno;
		util_say(why, whylen, "%s: %s%s", path, strerror(-ret),
		    ret == -EACCES || ret == -EPERM
		    ? " (root only since Linux 5.10, CVE-2020-8694; run as root, "
		      "or use meter=perf with CAP_PERFMON)" : "");
		return ret;
	}
	/* An initial read both validates the file and sets the baseline. */
	z->last_ns = util_mono_ns();
	ret = read_u64_fd(z->fd, &z->last);
	if (ret) {
		util_say(why, whylen, "%s: %s", path, ret == -EIO ? "not a number" : strerror(-ret));
		close(z->fd);
		return ret;
	}
	s->n++;
	return 0;
}

static enum meter_domain subzone_domain(const char *name, bool *known)
{
	*known = true;
	if (strcmp(name, "dram") == 0)
		return METER_DRAM;
	if (strcmp(name, "core") == 0)
		return METER_CORE;
	if (strcmp(name, "uncore") == 0)
		return METER_UNCORE;
	*known = false;
	return METER_NDOMAINS;
}

/*
 * Adds the sub-zones of package zone `pkgdir` found in `scan` (either the
 * package's own directory or the root).  A broken sub-zone is skipped and
 * noted in `notes` — package energy is still right without it.
 */
static int add_subzones(struct pc_state *s, const char *scan, const char *pkgdir,
			int pkgindex, char *notes, size_t notescap)
{
	DIR *d = opendir(scan);
	struct dirent *e;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		int idx, sub;
		char zpath[PATH_MAX], name[64], why[256];
		bool known;
		if (!parse_zone_dir(e->d_name, &idx, &sub) || sub < 0 || idx != pkgindex ||
		    strncmp(e->d_name, pkgdir, strlen(pkgdir)) != 0)
			continue;
		snprintf(zpath, sizeof zpath, "%s/%s", scan, e->d_name);
		if (read_zone_name(zpath, name, sizeof name) < 0)
			continue;
		enum meter_domain dom = subzone_domain(name, &known);
		if (!known || !first_try(s, e->d_name))
			continue;
		int ret = zone_add(s, zpath, e->d_name, dom, why, sizeof why);
		if (ret == -E2BIG) {
			closedir(d);
			return ret;
		}
		if (ret) {
			size_t used = strnlen(notes, notescap);
			snprintf(notes + used, notescap - used, "; %s skipped: %s", name, why);
			log_warn("powercap: %s sub-zone skipped: %s", name, why);
		}
	}
	closedir(d);
	return 0;
}

static int pc_read(struct meter *m, uint64_t t_ns, struct meter_reading *out)
{
	struct pc_state *s = m->priv;
	for (size_t i = 0; i < s->n; i++) {
		struct pc_zone *z = &s->z[i];
		uint64_t raw = 0, delta;
		int ret = read_u64_fd(z->fd, &raw);
		if (ret)
			return ret;
		if (raw >= z->last) {
			delta = raw - z->last;
		} else {
			/*
			 * Either the counter ran up to max_range and restarted at 0, or
			 * it was reset (a driver reload, a resume): the wrap reading is
			 * taken only when the energy it implies is a power the domain
			 * can draw.  A reset adds nothing; the trial is retried.
			 */
			uint64_t wrap = z->last <= z->max_range ? (z->max_range - z->last) + raw : raw;
			double dt = (double)(t_ns - z->last_ns);   /* ns; µJ/ns = kW */
			if (dt > 0 && (double)wrap / dt * 1e3 <= z->max_watts) {
				delta = wrap;
				z->wraps++;
			} else {
				delta = 0;
				z->resets++;
				log_warn("powercap: %s went from %llu to %llu µJ: a reset, not a wrap "
					 "(that would be %.0f W)", z->dir, (unsigned long long)z->last,
					 (unsigned long long)raw, dt > 0 ? (double)wrap / dt * 1e3 : INFINITY);
			}
		}
		z->last = raw;
		z->last_ns = t_ns;
		z->cum += delta;
		out->uj[z->dom] += z->cum;
		out->wraps[z->dom] += z->wraps;
		out->resets[z->dom] += z->resets;
	}
	return 0;
}

static void pc_close(struct meter *m)
{
	struct pc_state *s = m->priv;
	for (size_t i = 0; i < s->n; i++)
		close(s->z[i].fd);
	free(s);
	free(m);
}

static const struct meter_ops pc_ops = {
	.name = "powercap", .estimated = false, .read = pc_read, .close = pc_close,
};

/* Half the shortest wrap period, at the zone's advertised max power or 1 kW. */
static double wrap_seconds(const struct pc_state *s, const char *root)
{
	double best = 0;
	for (size_t i = 0; i < s->n; i++) {
		char path[PATH_MAX];
		uint64_t uw = 0;
		double watts = PC_ASSUMED_MAX_WATTS;
		snprintf(path, sizeof path, "%s/%s/constraint_0_max_power_uw", root, s->z[i].dir);
		if (read_u64_path(path, &uw) == 0 && uw / 1e6 * 2 > watts)
			watts = uw / 1e6 * 2;
		double sec = (double)s->z[i].max_range / 1e6 / watts / 2;
		if (best == 0 || sec < best)
			best = sec;
	}
	return best;
}

/* What was opened, for the log: "package-0 under ROOT, domains package+dram". */
static void describe(unsigned present, const char *pkgname, const char *root,
		     const char *notes, char *why, size_t whylen)
{
	char doms[64] = "";
	for (int dd = 0; dd < METER_NDOMAINS; dd++)
		if (present & METER_BIT(dd)) {
			size_t dl = strlen(doms);
			snprintf(doms + dl, sizeof doms - dl, "%s%s", dl ? "+" : "",
				 meter_domain_name((enum meter_domain)dd));
		}
	util_say(why, whylen, "%s under %s, domains %s%s", pkgname, root, doms, notes);
}

struct meter *meter_powercap_open(const struct meter_options *o, char *why, size_t whylen)
{
	const char *root = o->powercap_root && *o->powercap_root ? o->powercap_root
							  : "/sys/class/powercap";
	struct pc_state *s = NULL;
	struct meter *m = NULL;
	char found[160] = "", notes[512] = "", pkgname[32], zwhy[384];
	int ret = 0, npkg = 0;
	DIR *d = NULL;
	struct dirent *e;

	if (o->socket < 0) {
		util_say(why, whylen, "invalid socket %d", o->socket);
		ret = -EINVAL;
		goto out;
	}
	snprintf(pkgname, sizeof pkgname, "package-%d", o->socket);
	s = calloc(1, sizeof *s);
	m = calloc(1, sizeof *m);
	if (!s || !m) {
		ret = -ENOMEM;
		util_say(why, whylen, "out of memory");
		goto out;
	}
	d = opendir(root);
	if (!d) {
		ret = errno ? -errno : -ENOENT;   /* never "success" without a meter */
		util_say(why, whylen, "%s: %s (no RAPL powercap driver)", root, strerror(-ret));
		goto out;
	}
	while ((e = readdir(d))) {
		int idx, sub;
		char zpath[PATH_MAX], name[64];
		if (!parse_zone_dir(e->d_name, &idx, &sub) || sub >= 0)
			continue;
		snprintf(zpath, sizeof zpath, "%s/%s", root, e->d_name);
		if (read_zone_name(zpath, name, sizeof name) < 0)
			continue;
		size_t fl = strlen(found);
		snprintf(found + fl, sizeof found - fl, "%s%s", fl ? ", " : "", name);

		size_t pl = strlen(pkgname);
		bool is_pkg = strcmp(name, pkgname) == 0 ||
			      (strncmp(name, pkgname, pl) == 0 && strncmp(name + pl, "-die-", 5) == 0);
		if (is_pkg) {
			ret = zone_add(s, zpath, e->d_name, METER_PACKAGE, zwhy, sizeof zwhy);
			if (ret) {
				util_say(why, whylen, "%s", zwhy);
				goto out;
			}
			npkg++;
			ret = add_subzones(s, zpath, e->d_name, idx, notes, sizeof notes);
			if (!ret)
				ret = add_subzones(s, root, e->d_name, idx, notes, sizeof notes);
			if (ret) {
				util_say(why, whylen, "more than %d RAPL zones", PC_MAX_ZONES);
				goto out;
			}
		} else if (strcmp(name, "psys") == 0) {
			/* Platform-wide, not per package: extra information only. */
			if (zone_add(s, zpath, e->d_name, METER_PSYS, zwhy, sizeof zwhy) != 0) {
				size_t nl = strnlen(notes, sizeof notes);
				snprintf(notes + nl, sizeof notes - nl, "; psys skipped: %s", zwhy);
			}
		}
	}
	if (npkg == 0) {
		ret = -ENODEV;
		util_say(why, whylen, "no zone named %s under %s (found: %s)", pkgname, root,
		    *found ? found : "no intel-rapl/amd-rapl zones");
		goto out;
	}
	for (size_t i = 0; i < s->n; i++) {
		double w = o->max_plausible_watts[s->z[i].dom];
		s->z[i].max_watts = w > 0 ? w : PC_ASSUMED_MAX_WATTS;
		m->present |= METER_BIT(s->z[i].dom);
	}
	m->ops = &pc_ops;
	m->priv = s;
	m->max_wrap_seconds = wrap_seconds(s, root);
	describe(m->present, pkgname, root, notes, why, whylen);
out:
	if (d)
		closedir(d);
	if (ret) {
		if (s)
			for (size_t i = 0; i < s->n; i++)
				close(s->z[i].fd);
		free(s);
		free(m);
		errno = -ret;
		return NULL;
	}
	return m;   /* NOLINT(clang-analyzer-unix.Malloc): s lives on as m->priv */
}
