/* log.c — see log.h. */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
	char program[32];
	enum log_level level;
	enum log_format format;
} log_cfg = { "jouletrace", LOG_LVL_INFO, LOG_FMT_TEXT };

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_init(const char *program, enum log_level level, enum log_format format)
{
	snprintf(log_cfg.program, sizeof log_cfg.program, "%s", program);
	log_cfg.level = level;
	log_cfg.format = format;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof level_names / sizeof *level_names; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	return -EINVAL;
}

int log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = LOG_FMT_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FMT_JSON;
	else
		return -EINVAL;
	return 0;
}

/* JSON string body escaping for the json log format. */
static size_t json_escape(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)src; *p && n + 7 < cap; p++) {
		if (*p == '"' || *p == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)*p;
		} else if (*p < 0x20) {
			n += (size_t)snprintf(dst + n, cap - n, "\\u%04x", *p);
		} else {
			dst[n++] = (char)*p;
		}
	}
	dst[n] = '\0';
	return n;
}

static _Thread_local struct {
	char key[16], value[128];
} log_ctx;

void log_set_context(const char *key, const char *value)
{
	if (!key || !value || !value[0]) {
		log_ctx.key[0] = log_ctx.value[0] = '\0';
		return;
	}
	snprintf(log_ctx.key, sizeof log_ctx.key, "%s", key);
	snprintf(log_ctx.value, sizeof log_ctx.value, "%s", value);
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	if (lvl < log_cfg.level)
		return;
	int saved = errno;
	char msg[1024], line[2400], ts[40];
	struct timespec now;
	struct tm tm;

	vsnprintf(msg, sizeof msg, fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	size_t tl = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + tl, sizeof ts - tl, ".%03ldZ", now.tv_nsec / 1000000);

	int len;
	char ctx[300] = "";
	if (log_cfg.format == LOG_FMT_JSON) {
		char esc[2100], cesc[260];
		json_escape(esc, sizeof esc, msg);
		if (log_ctx.value[0]) {
			json_escape(cesc, sizeof cesc, log_ctx.value);
			snprintf(ctx, sizeof ctx, ",\"%s\":\"%s\"", log_ctx.key, cesc);
		}
		len = snprintf(line, sizeof line,
			       "{\"ts\":\"%s\",\"level\":\"%s\",\"program\":\"%s\",\"pid\":%ld%s,\"msg\":\"%s\"}\n",
			       ts, level_names[lvl], log_cfg.program, (long)getpid(), ctx, esc);
	} else {
		if (log_ctx.value[0] && !strstr(msg, log_ctx.value))
			snprintf(ctx, sizeof ctx, "%s=%s ", log_ctx.key, log_ctx.value);
		len = snprintf(line, sizeof line, "%s %-5s %s[%ld]: %s%s\n", ts,
			       level_names[lvl], log_cfg.program, (long)getpid(), ctx, msg);
	}
	if (len > (int)sizeof line - 1)
		len = (int)sizeof line - 1, line[len - 1] = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t)len);
	(void)w;
	errno = saved;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}
