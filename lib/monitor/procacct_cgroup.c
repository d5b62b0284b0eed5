/*
 * procacct_cgroup.c — the cgroup path table of the procacct module (contract
 * in procacct_impl.h).  Both tables are open-addressed with linear probing:
 * one lookup per row and tick, no allocation once a cgroup is known.
 */
#include "procacct_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* /proc/<pid>/cgroup: one line per hierarchy, a few on v1 hosts. */
#define CGFILE_MAX (64 * 1024)
#define ID_SLOTS (2 * CGTAB_MAX_IDS)   /* power of two, half full at most */

struct id_slot {
	uint64_t id;                       /* 0 = empty */
	const char *path;
};

struct cgtab {
	char **paths;                      /* interned strings, open-addressed */
	size_t cap;                        /* power of two */
	size_t n;
	struct id_slot ids[ID_SLOTS];
	size_t nids;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;   /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static uint64_t hash_id(uint64_t x)
{
	x ^= x >> 33;                      /* splitmix64's finalizer: ids are sequential */
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

struct cgtab *cgtab_new(void)
{
	struct cgtab *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->cap = 256;
	t->paths = calloc(t->cap, sizeof *t->paths);
	if (!t->paths) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

static int grow(struct cgtab *t)
{
	size_t cap = t->cap * 2;
	char **np = calloc(cap, sizeof *np);
	if (!np)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->paths[i])
			continue;
		size_t k = hash_str(t->paths[i]) & (cap - 1);
		while (np[k])
			k = (k + 1) & (cap - 1);
		np[k] = t->paths[i];
	}
	free(t->paths);
	t->paths = np;
	t->cap = cap;
	return 0;
}

/* The interned copy of path; "" when the table is full or memory ran out. */
static const char *intern(struct cgtab *t, const char *path)
{
	if (!path[0])
		return "";
	size_t k = hash_str(path) & (t->cap - 1);
	for (; t->paths[k]; k = (k + 1) & (t->cap - 1))
		if (strcmp(t->paths[k], path) == 0)
			return t->paths[k];
	if (t->n >= CGTAB_MAX_PATHS)
		return "";
	if (2 * (t->n + 1) > t->cap) {
		if (grow(t))
			return "";
		return intern(t, path);   /* slots moved: probe again, once */
	}
	char *s = strdup(path);
	if (!s)
		return "";
	t->paths[k] = s;
	t->n++;
	return s;
}

/*
 * The path from /proc/<tgid>/cgroup, written into out: the v2 line ("0::");
 * on a v1-only host, the name=systemd line or else the first.  -errno.
 */
static int read_path(int32_t tgid, char *out, size_t cap)
{
	char file[64];
	char *data = NULL;
	snprintf(file, sizeof file, "/proc/%d/cgroup", (int)tgid);
	int ret = util_read_file(file, CGFILE_MAX, &data, NULL);
	if (ret)
		return ret;
	const char *pick = NULL;
	for (char *line = data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		if (strncmp(line, "0::", 3) == 0) {
			pick = c2 + 1;
			break;
		}
		*c2 = '\0';
		if (!pick || strstr(c1 + 1, "name=systemd"))
			pick = c2 + 1;
	}
	if (pick)
		snprintf(out, cap, "%s", pick);
	else
		ret = -EIO;
	free(data);
	return ret;
}

const char *cgtab_of_pid(struct cgtab *t, int32_t tgid)
{
	char path[4096];
	return read_path(tgid, path, sizeof path) ? "" : intern(t, path);
}

const char *cgtab_of_id(struct cgtab *t, uint64_t id, int32_t tgid)
{
	if (id == 0)
		return "";
	size_t k = hash_id(id) & (ID_SLOTS - 1);
	for (; t->ids[k].id; k = (k + 1) & (ID_SLOTS - 1))
		if (t->ids[k].id == id)
			return t->ids[k].path;
	char path[4096];
	if (read_path(tgid, path, sizeof path))
		return "";   /* the process is gone: another of the cgroup may tell later */
	const char *s = intern(t, path);
	if (t->nids >= CGTAB_MAX_IDS) {
		memset(t->ids, 0, sizeof t->ids);
		t->nids = 0;
		k = hash_id(id) & (ID_SLOTS - 1);
	}
	t->ids[k] = (struct id_slot){ .id = id, .path = s };
	t->nids++;
	return s;
}

size_t cgtab_count(const struct cgtab *t)
{
	return t->n;
}

void cgtab_free(struct cgtab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		free(t->paths[i]);
	free(t->paths);
	free(t);
}
