/* procstat.c — see procstat.h. */
#include "procstat.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpuset.h"

struct procstat {
	int fd;
	char *buf;
	size_t cap;
};

struct procstat *procstat_open(const char *proc_root)
{
	char path[PATH_MAX];
	struct procstat *ps = calloc(1, sizeof *ps);
	int err;

	if (!ps)
		return NULL;
	if (snprintf(path, sizeof path, "%s/proc/stat", proc_root ? proc_root : "") >=
	    (int)sizeof path) {
		err = ENAMETOOLONG;
		goto fail;
	}
	ps->cap = 64 * 1024;
	ps->buf = malloc(ps->cap);
	if (!ps->buf) {
		err = ENOMEM;
		goto fail;
	}
	ps->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ps->fd < 0) {
		err = errno;
		goto fail;
	}
	return ps;
fail:
	free(ps->buf);
	free(ps);
	errno = err;
	return NULL;
}

/* Reads from offset 0 until EOF or until the cpu lines are complete. */
static int fill(struct procstat *ps, size_t *len)
{
	size_t used = 0;
	for (;;) {
		if (used + 1 >= ps->cap) {
			/* Stop early once a non-cpu line has started: the rest is not needed. */
			ps->buf[used] = '\0';
			char *nl = ps->buf;
			bool done = false;
			while ((nl = strchr(nl, '\n')) && nl[1]) {
				if (strncmp(nl + 1, "cpu", 3) != 0) {
					done = true;
					break;
				}
				nl++;
			}
			if (done)
				break;
			if (ps->cap >= PROCSTAT_MAX_BYTES)
				return -EFBIG;
			char *nb = realloc(ps->buf, ps->cap * 2);
			if (!nb)
				return -ENOMEM;
			ps->buf = nb;
			ps->cap *= 2;
		}
		ssize_t r = pread(ps->fd, ps->buf + used, ps->cap - used - 1, (off_t)used);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		used += (size_t)r;
	}
	ps->buf[used] = '\0';
	*len = used;
	return 0;
}

int procstat_read(struct procstat *ps, const struct cpuset *cpus, struct procstat_sample *out)
{
	size_t len;
	int ret;

	memset(out, 0, sizeof *out);
	if ((ret = fill(ps, &len)) < 0)
		return ret;
	bool seen_cpu = false;
	for (char *line = ps->buf; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strncmp(line, "cpu", 3) != 0) {
			if (seen_cpu)
				break;
			line = next;
			continue;
		}
		seen_cpu = true;
		if (line[3] < '0' || line[3] > '9') {   /* the "cpu " total line */
			line = next;
			continue;
		}
		char *p = line + 3, *end;
		long cpu = strtol(p, &end, 10);
		if (end == p || *end != ' ' || cpu < 0 || cpu > INT_MAX)
			return -EIO;
		/* user nice system idle iowait irq softirq steal [guest guest_nice] */
		unsigned long long f[8] = { 0 };
		int nf = 0;
		p = end;
		while (nf < 8) {
			while (*p == ' ')
				p++;
			if (!*p)
				break;
			errno = 0;
			f[nf] = strtoull(p, &end, 10);
			if (end == p || errno)
				return -EIO;
			p = end;
			nf++;
		}
		if (nf < 4)
			return -EIO;
		if (!cpus || cpuset_isset(cpus, (int)cpu)) {
			/* Steal is time the hypervisor ran something else on this vCPU:
			 * nothing of ours executed, so it is not busy energy. */
			uint64_t busy = f[0] + f[1] + f[2] + f[5] + f[6];
			out->busy += busy;
			out->total += busy + f[3] + f[4] + f[7];
			out->ncpus++;
		}
		line = next;
	}
	if (!seen_cpu)
		return -EIO;
	return 0;
}

long procstat_hz(void)
{
	long hz = sysconf(_SC_CLK_TCK);
	return hz > 0 ? hz : 100;
}

void procstat_close(struct procstat *ps)
{
	if (!ps)
		return;
	close(ps->fd);
	free(ps->buf);
	free(ps);
}
