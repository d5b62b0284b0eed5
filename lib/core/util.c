/* util.c — see util.h. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dynbuf.h"

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t util_mono_ns(void) { return clock_ns(CLOCK_MONOTONIC); }
uint64_t util_realtime_ns(void) { return clock_ns(CLOCK_REALTIME); }

/* digits of the fraction: 6 (µs) or 3 (ms); truncated, never rounded up, so a
 * time never reads as later than it was. */
static void rfc3339(uint64_t ns, int digits, char out[UTIL_RFC3339_LEN])
{
	time_t sec = (time_t)(ns / 1000000000ull);
	unsigned long div = digits == 3 ? 1000000ul : 1000ul;
	struct tm tm;
	gmtime_r(&sec, &tm);
	size_t n = strftime(out, UTIL_RFC3339_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, UTIL_RFC3339_LEN - n, ".%0*luZ", digits,
		 (unsigned long)((ns % 1000000000ull) / div));
}

void util_rfc3339(uint64_t ns, char out[UTIL_RFC3339_LEN])
{
	rfc3339(ns, 6, out);
}

void util_rfc3339_ms(uint64_t ns, char out[UTIL_RFC3339_LEN])
{
	rfc3339(ns, 3, out);
}

int util_rfc3339_parse(const char *s, uint64_t *ns)
{
	struct tm tm = { 0 };
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -EINVAL;
	uint64_t frac = 0, scale = 1000000000ull;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9') {
			if (scale > 1) {
				scale /= 10;
				frac += (uint64_t)(*p - '0') * scale;
			}
			p++;
		}
	}
	if (strcmp(p, "Z") != 0)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t < 0)
		return -EINVAL;
	*ns = (uint64_t)t * 1000000000ull + frac;
	return 0;
}

int util_random_hex(char *out, size_t nbytes)
{
	unsigned char buf[64];
	if (nbytes > sizeof buf)
		return -EINVAL;
	if (getrandom(buf, nbytes, 0) != (ssize_t)nbytes)
		return -EIO;
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", buf[i]);
	return 0;
}

int util_uuid4(char out[37])
{
	unsigned char b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
		return -EIO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
		 b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

int util_read_fd(int fd, size_t max_bytes, char **data, size_t *len)
{
	struct dynbuf b;
	int ret = 0;

	*data = NULL;
	/* one byte past the limit tells "too big" from "exactly the limit" */
	dynbuf_init(&b, max_bytes + 1);
	for (;;) {
		char *at;
		size_t room;
		if ((ret = dynbuf_space(&b, 65536, &at, &room)))
			break;
		ssize_t r = read(fd, at, room);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			break;
		}
		if (r == 0)
			break;
		dynbuf_commit(&b, (size_t)r);
	}
	if (ret == -E2BIG || (!ret && b.len > max_bytes))
		ret = -EFBIG;
	if (!ret && !(*data = dynbuf_take(&b, len)))
		ret = -ENOMEM;
	dynbuf_free(&b);
	return ret;
}

int util_read_file(const char *path, size_t max_bytes, char **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*data = NULL;
	if (fd < 0)
		return -errno;
	int ret = util_read_fd(fd, max_bytes, data, len);
	close(fd);
	return ret;
}

int util_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode)
{
	char tmp[PATH_MAX];
	int ret = 0, fd;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, (const char *)data + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			ret = -errno;
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) < 0 || fchmod(fd, mode) < 0) {
		ret = -errno;
		goto out;
	}
out:
	close(fd);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
	return ret;
}

int util_read_line(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = read(fd, buf, cap - 1);
	int err = errno;
	close(fd);
	if (r < 0)
		return -err;
	buf[r] = '\0';
	while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' '))
		buf[--r] = '\0';
	return 0;
}

void util_sha256_hex(const void *data, size_t len, char out[UTIL_SHA256_HEX_LEN])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	for (size_t i = 0; i < sizeof h; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

int util_parse_i64(const char *s, long long *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int util_parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return -EINVAL;
	*out = v;
	return 0;
}

void util_say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	if (!buf || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

bool util_is_lower_hex(const char *s, size_t len)
{
	if (!s || strlen(s) != len)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

bool util_items_next(struct util_items *it)
{
	const char *s = it->rest;
	if (!s || (!*s && !it->more))
		return false;
	const char stop[2] = { it->sep, '\0' };
	size_t n = strcspn(s, stop);
	it->more = s[n] == it->sep;
	it->rest = it->more ? s + n + 1 : NULL;
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	it->item = s;
	it->len = n;
	return true;
}
