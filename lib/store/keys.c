/* keys.c — see keys.h. */
#include "keys.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *const keys_kinds[KEYS_NKINDS] = { KEYS_KIND_MEASURE, KEYS_KIND_VALIDATE };

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool keys_task_id_valid(const char *id)
{
	if (!id)
		return false;
	for (int i = 0; i < KEYS_TASK_ID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? id[i] != '-' : !is_hex(id[i]))
			return false;
	}
	return id[KEYS_TASK_ID_LEN] == '\0';
}

bool keys_id_valid(const char *id)
{
	size_t n;

	if (!id)
		return false;
	n = strnlen(id, KEYS_ID_MAX + 1);
	if (n == 0 || n > KEYS_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._:@-", c)))
			return false;
	}
	return true;
}

bool keys_kind_valid(const char *kind)
{
	for (int i = 0; kind && i < KEYS_NKINDS; i++)
		if (strcmp(kind, keys_kinds[i]) == 0)
			return true;
	return false;
}

bool keys_status_valid(const char *status)
{
	static const char *const st[] = { "queued", "running", "completed", "failed", "cancelled" };
	for (size_t i = 0; status && i < sizeof st / sizeof st[0]; i++)
		if (strcmp(status, st[i]) == 0)
			return true;
	return false;
}

__attribute__((format(printf, 3, 4)))
static int fmt(char *buf, size_t cap, const char *f, ...)
{
	va_list ap;
	int n;

	if (!buf || cap == 0)
		return -ENAMETOOLONG;
	va_start(ap, f);
	n = vsnprintf(buf, cap, f, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap) {
		buf[0] = '\0';
		return -ENAMETOOLONG;
	}
	return 0;
}

/* KEYS_PREFIX "<what>:<kind>" for a valid job kind. */
static int by_kind(char *buf, size_t cap, const char *what, const char *kind)
{
	if (!keys_kind_valid(kind))
		return -EINVAL;
	return fmt(buf, cap, KEYS_PREFIX "%s:%s", what, kind);
}

/* KEYS_PREFIX "<what>:<id>" for a valid host, worker or request id. */
static int by_id(char *buf, size_t cap, const char *what, const char *id)
{
	if (!keys_id_valid(id))
		return -EINVAL;
	return fmt(buf, cap, KEYS_PREFIX "%s:%s", what, id);
}

int keys_task(char *buf, size_t cap, const char *task_id)
{
	if (!keys_task_id_valid(task_id))
		return -EINVAL;
	return fmt(buf, cap, KEYS_TASK_PREFIX "%s", task_id);
}

int keys_queue(char *buf, size_t cap, const char *kind)
{
	return by_kind(buf, cap, "q", kind);
}

int keys_delayed(char *buf, size_t cap, const char *kind)
{
	return by_kind(buf, cap, "delayed", kind);
}

int keys_proc(char *buf, size_t cap, const char *kind, const char *worker_id)
{
	if (!keys_kind_valid(kind) || !keys_id_valid(worker_id))
		return -EINVAL;
	return fmt(buf, cap, KEYS_PREFIX "proc:%s:%s", kind, worker_id);
}

int keys_proc_prefix(char *buf, size_t cap, const char *kind)
{
	if (!keys_kind_valid(kind))
		return -EINVAL;
	return fmt(buf, cap, KEYS_PREFIX "proc:%s:", kind);
}

int keys_attempts(char *buf, size_t cap, const char *kind)
{
	return by_kind(buf, cap, "attempts", kind);
}

int keys_dead(char *buf, size_t cap, const char *kind)
{
	return by_kind(buf, cap, "dead", kind);
}

int keys_hb(char *buf, size_t cap, const char *worker_id)
{
	if (!keys_id_valid(worker_id))
		return -EINVAL;
	return fmt(buf, cap, KEYS_HB_PREFIX "%s", worker_id);
}

int keys_lock(char *buf, size_t cap, const char *host_id)
{
	return by_id(buf, cap, "lock", host_id);
}

int keys_fence(char *buf, size_t cap, const char *host_id)
{
	return by_id(buf, cap, "fence", host_id);
}

int keys_idem(char *buf, size_t cap, const char *key_sha256)
{
	if (!key_sha256 || strlen(key_sha256) != 64)
		return -EINVAL;
	for (int i = 0; i < 64; i++)
		if (!is_hex(key_sha256[i]))
			return -EINVAL;
	return fmt(buf, cap, KEYS_PREFIX "idem:%s", key_sha256);
}

int keys_vreply(char *buf, size_t cap, const char *reply_to)
{
	return by_id(buf, cap, "vreply", reply_to);
}

int keys_count(char *buf, size_t cap, const char *status)
{
	if (!keys_status_valid(status))
		return -EINVAL;
	/* the current states are sets of ids (tasks.h), the final ones totals */
	if (strcmp(status, "queued") == 0 || strcmp(status, "running") == 0)
		return fmt(buf, cap, KEYS_PREFIX "live:%s", status);
	return fmt(buf, cap, KEYS_PREFIX "count:%s", status);
}

bool keys_seal_key_id_valid(const char *key_id)
{
	if (!key_id)
		return false;
	for (int i = 0; i < KEYS_SEAL_KEY_ID_LEN; i++)
		if (!is_hex(key_id[i]))
			return false;
	return key_id[KEYS_SEAL_KEY_ID_LEN] == '\0';
}

int keys_seal_head(char *buf, size_t cap, const char *key_id)
{
	if (!keys_seal_key_id_valid(key_id))
		return -EINVAL;
	return fmt(buf, cap, KEYS_PREFIX "seal:head:%s", key_id);
}

int keys_seal_log(char *buf, size_t cap, const char *key_id)
{
	if (!keys_seal_key_id_valid(key_id))
		return -EINVAL;
	return fmt(buf, cap, KEYS_PREFIX "seal:log:%s", key_id);
}

int keys_monitor_seals(char *buf, size_t cap, const char *host_id)
{
	return by_id(buf, cap, "monitor:seals", host_id);
}

int keys_monitor_head(char *buf, size_t cap, const char *host_id)
{
	return by_id(buf, cap, "monitor:head", host_id);
}
