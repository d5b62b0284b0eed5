/* hostid.c — see hostid.h. */
#include "hostid.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <jansson.h>

#include "util.h"

/* The first processor block of /proc/cpuinfo is all we need; large boxes have megabytes. */
#define CPUINFO_PREFIX_BYTES (64 * 1024)

/* Trims, replaces control characters, and copies into dst (cut to cap). */
static void clean_copy(char *dst, size_t cap, const char *src)
{
	while (*src == ' ' || *src == '\t')
		src++;
	size_t n = strlen(src);
	while (n && isspace((unsigned char)src[n - 1]))
		n--;
	if (n >= cap)
		n = cap - 1;
	for (size_t i = 0; i < n; i++)
		dst[i] = iscntrl((unsigned char)src[i]) ? '?' : src[i];
	dst[n] = '\0';
}

static void read_field(const char *root, const char *rel, char *dst, size_t cap)
{
	char path[PATH_MAX], buf[512];
	dst[0] = '\0';
	if (snprintf(path, sizeof path, "%s%s", root, rel) >= (int)sizeof path)
		return;
	if (util_read_line(path, buf, sizeof buf) < 0)
		return;
	/* Only the first line: a multi-line file must not smuggle fields. */
	buf[strcspn(buf, "\n")] = '\0';
	clean_copy(dst, cap, buf);
}

/* Value of the first "key<spaces>: value" line in the cpuinfo prefix. */
static void cpuinfo_value(const char *info, const char *key, char *dst, size_t cap)
{
	size_t kl = strlen(key);
	dst[0] = '\0';
	for (const char *line = info; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len > kl && strncmp(line, key, kl) == 0 &&
		    (line[kl] == ' ' || line[kl] == '\t' || line[kl] == ':')) {
			const char *colon = memchr(line, ':', len);
			if (colon) {
				char tmp[512];
				size_t vl = len - (size_t)(colon + 1 - line);
				if (vl >= sizeof tmp)
					vl = sizeof tmp - 1;
				memcpy(tmp, colon + 1, vl);
				tmp[vl] = '\0';
				clean_copy(dst, cap, tmp);
				return;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
}

static void read_cpuinfo(const char *root, struct hostid *h)
{
	char path[PATH_MAX], buf[CPUINFO_PREFIX_BYTES + 1];
	size_t used = 0;
	if (snprintf(path, sizeof path, "%s/proc/cpuinfo", root) >= (int)sizeof path)
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (used < CPUINFO_PREFIX_BYTES) {
		ssize_t r = read(fd, buf + used, CPUINFO_PREFIX_BYTES - used);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		used += (size_t)r;
	}
	close(fd);
	buf[used] = '\0';
	cpuinfo_value(buf, "model name", h->cpu_model, sizeof h->cpu_model);
	cpuinfo_value(buf, "microcode", h->microcode, sizeof h->microcode);
}

int hostid_canonical(const struct hostid *h, char *buf, size_t cap)
{
	int n = snprintf(buf, cap,
			 "machine_id=%s\nproduct_uuid=%s\nboard_serial=%s\ncpu_model=%s\n"
			 "microcode=%s\nkernel=%s\nhostname=%s\n",
			 h->machine_id, h->product_uuid, h->board_serial, h->cpu_model,
			 h->microcode, h->kernel, h->hostname);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap)
		return -ENOSPC;
	return n;
}

void hostid_fingerprint(struct hostid *h)
{
	/* Sum of the field sizes plus the key names: always fits. */
	char buf[1024];
	int n = hostid_canonical(h, buf, sizeof buf);
	util_sha256_hex(buf, n > 0 ? (size_t)n : 0, h->fingerprint);
}

const char *hostid_name(const struct hostid *h, const char *configured)
{
	return configured && configured[0] ? configured : h->hostname;
}

int hostid_collect(const char *root, struct hostid *out)
{
	if (!root || !out)
		return -EINVAL;
	memset(out, 0, sizeof *out);
	read_field(root, "/etc/machine-id", out->machine_id, sizeof out->machine_id);
	if (!out->machine_id[0])
		read_field(root, "/var/lib/dbus/machine-id", out->machine_id, sizeof out->machine_id);
	read_field(root, "/sys/class/dmi/id/product_uuid", out->product_uuid, sizeof out->product_uuid);
	read_field(root, "/sys/class/dmi/id/board_serial", out->board_serial, sizeof out->board_serial);
	read_cpuinfo(root, out);
	if (!*root) {
		struct utsname u;
		char tmp[sizeof u.release + sizeof u.version + 2], host[256];
		if (uname(&u) == 0) {
			snprintf(tmp, sizeof tmp, "%s %s", u.release, u.version);
			clean_copy(out->kernel, sizeof out->kernel, tmp);
		}
		if (gethostname(host, sizeof host) == 0) {
			host[sizeof host - 1] = '\0';
			clean_copy(out->hostname, sizeof out->hostname, host);
		}
	} else {
		char rel[64], ver[96], tmp[sizeof rel + sizeof ver + 2];
		read_field(root, "/proc/sys/kernel/osrelease", rel, sizeof rel);
		read_field(root, "/proc/sys/kernel/version", ver, sizeof ver);
		if (*rel || *ver) {
			snprintf(tmp, sizeof tmp, "%s %s", rel, ver);
			clean_copy(out->kernel, sizeof out->kernel, tmp);
		}
		read_field(root, "/proc/sys/kernel/hostname", out->hostname, sizeof out->hostname);
	}
	hostid_fingerprint(out);
	return 0;
}

json_t *hostid_json(const struct hostid *h, const char *host_id)
{
	return json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:s, s:s}",
		"fingerprint", h->fingerprint, "machine_id", h->machine_id,
		"product_uuid", h->product_uuid[0] ? h->product_uuid : NULL,
		"cpu_model", h->cpu_model, "microcode", h->microcode, "kernel", h->kernel,
		"hostname", h->hostname, "host_id", host_id ? host_id : hostid_name(h, NULL));
}
