/* bpfsrc.c — see bpfsrc.h. */
#include "bpfsrc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "util.h"

__attribute__((format(printf, 2, 0)))
static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	log_msg(level == LIBBPF_WARN ? LOG_LVL_INFO : LOG_LVL_DEBUG, "%s", line);
	return 0;
}

void bpfsrc_log_install(void)
{
	libbpf_set_print(libbpf_log);
}

int bpfsrc_loaded(int load_ret, const void *bss, char *why, size_t cap)
{
	if (load_ret) {
		util_say(why, cap, "bpf: load: %s%s", strerror(-load_ret),
			 load_ret == -EPERM ? " (needs root, or CAP_BPF and CAP_PERFMON)" : "");
		return load_ret;
	}
	if (!bss) {
		util_say(why, cap, "bpf: global data not mappable on this kernel");
		return -ENOTSUP;
	}
	return 0;
}

int bpfsrc_batch(int fd, bool del, void *keys, size_t key_size, void *vals, size_t val_size,
		 size_t cap, size_t *n)
{
	size_t got = 0;
	__u32 batch = 0;
	bool first = true;
	int ret = 0;
	while (got < cap) {
		__u32 count = (__u32)(cap - got);
		void *k = (char *)keys + got * key_size, *v = (char *)vals + got * val_size;
		void *in = first ? NULL : &batch;
		int err = del ? bpf_map_lookup_and_delete_batch(fd, in, &batch, k, v, &count, NULL)
			      : bpf_map_lookup_batch(fd, in, &batch, k, v, &count, NULL);
		first = false;
		if (err && err != -ENOENT)
			count = 0;   /* only ENOENT promises a valid count with an error */
		got += count;
		if (err == -ENOENT)
			break;
		if (err) {
			bool unsupported = err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP;
			ret = got == 0 && unsupported ? -EOPNOTSUPP : err;
			break;
		}
	}
	*n = got;
	return ret;
}

int bpfsrc_choose(const char *name, bool allow_bpf,
		  int (*start_bpf)(void *ctx, char *why, size_t cap),
		  int (*open_proc)(void *ctx), void *ctx, char *why, size_t cap)
{
	char reason[256] = "";
	if (allow_bpf) {
		if (start_bpf(ctx, reason, sizeof reason) == 0) {
			util_say(why, cap, "%s", "");
			return BPFSRC_BPF;
		}
		log_debug("%s: %s; falling back to /proc", name, reason);
	} else {
		util_say(reason, sizeof reason, "bpf: disabled by configuration");
	}
	int ret = open_proc(ctx);
	if (ret) {
		util_say(why, cap, "%s; proc: %s", reason, strerror(-ret));
		return ret;
	}
	util_say(why, cap, "%s", reason);
	return BPFSRC_PROC;
}
