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
#include "dynbuf.h"
#include "util.h"

struct procstat {
	int fd;
	struct dynbuf buf;   /* the file's head, re-read each time; PROCSTAT_MAX_BYTES at most */
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
	dynbuf_init(&ps->buf, PROCSTAT_MAX_BYTES);
	ps->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ps->fd < 0) {
		err = errno;
		goto fail;
	}
	return ps;
fail:
	free(ps);
	errno = err;
	return NULL;
}

/* A line begun after the cpu lines (at least 3 bytes of it read): they are complete. */
static bool cpu_lines_done(const char *p)
{
	for (const char *nl = p; (nl = strchr(nl, '\n')) && nl[1]; nl++)
		if (nl[2] && nl[3] && strncmp(nl + 1, "cpu", 3) != 0)
			return true;
	return false;
}

/* Reads from offset 0 until EOF or until the cpu lines are complete. */
static int fill(struct procstat *ps)
{
	struct dynbuf *b = &ps->buf;
	dynbuf_reset(b);
	for (;;) {
		char *at;
		size_t room;
		int err = dynbuf_space(b, 64 * 1024, &at, &room);
		if (err == -E2BIG)
			return cpu_lines_done(b->p) ? 0 : -EFBIG;
		if (err)
			return err;
		ssize_t r = pread(ps->fd, at, room, (off_t)b->len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return 0;
		dynbuf_commit(b, (size_t)r);
		/* Stop early once a non-cpu line has started: the rest is not needed. */
		if (cpu_lines_done(b->p))
			return 0;
	}
}

int procstat_read(struct procstat *ps, const struct cpuset *cpus, struct procstat_sample *out)
{
	int ret;

	memset(out, 0, sizeof *out);
	if ((ret = fill(ps)) < 0)
		return ret;
	bool seen_cpu = false;
	for (char *line = ps->buf.p; line && *line;) {
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
	dynbuf_free(&ps->buf);
	free(ps);
}

uint64_t procstat_clk_ns(void)
{
	long hz = procstat_hz();
	return 1000000000ULL / (uint64_t)(hz > 0 ? hz : 100);
}

/* /proc/<pid>/stat is one line of ~52 numbers and a 16-byte comm. */
#define PID_STAT_MAX 1024

int procstat_pid_parse(const char *line, struct procstat_pid *out)
{
	const char *open = strchr(line, '('), *close = strrchr(line, ')');
	if (!open || !close || close < open)
		return -EIO;
	size_t len = (size_t)(close - open - 1);
	if (len > sizeof out->comm - 1)
		len = sizeof out->comm - 1;
	/* After ')': field 3 is state, then numbers; 39 is the last one we use. */
	const char *s = close + 1;
	unsigned long long v[40] = { 0 };
	int field = 3;
	while (*s && field <= 39) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		if (field == 3) {
			s++;   /* the state letter */
		} else {
			char *end;
			errno = 0;
			/* strtoull: rsslim is often 2^64-1; a negative field (nice) wraps, unused */
			v[field] = strtoull(s, &end, 10);
			if (end == s || errno)
				return -EIO;
			s = end;
		}
		field++;
	}
	if (field <= 22)
		return -EIO;
	memcpy(out->comm, open + 1, len);
	out->comm[len] = '\0';
	out->ppid = (int)v[4];
	out->ticks = v[14] + v[15];
	out->start = v[22];
	out->processor = field > 39 ? (int)v[39] : -1;
	return 0;
}

int procstat_pid_read(const char *path, struct procstat_pid *out)
{
	char buf[PID_STAT_MAX];
	int ret = util_read_line(path, buf, sizeof buf);
	return ret ? ret : procstat_pid_parse(buf, out);
}
