/*
 * log.h — one line per event: "<time> <level> <program>[<pid>]: <message>".
 *
 * The settings are written once by log_init() before any thread starts and only
 * read afterwards; that write-once block is the single piece of process-wide
 * state outside the stop flag, because threading a logger through every call
 * would buy nothing.  All functions are thread-safe (one write(2) per line).
 */
#ifndef JT_LOG_H
#define JT_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERROR };
enum log_format { LOG_FMT_TEXT, LOG_FMT_JSON };

/* program is copied; level/format apply to later calls.  Safe to call again. */
void log_init(const char *program, enum log_level level, enum log_format format);
/* "debug|info|warn|error" → level; returns -EINVAL on anything else. */
int log_level_parse(const char *s, enum log_level *out);
int log_format_parse(const char *s, enum log_format *out);

/*
 * What this thread is working on, named in each of its lines until cleared
 * (NULL): key "task" (a task id) or "request" (a validate request).  JSON
 * lines get a member; text lines a "task=<id> " prefix unless the message
 * already names it.  Thread-local, so a worker's threads never mix them up;
 * values are copied (at most 127 bytes) and must be ids, never user text.
 */
void log_set_context(const char *key, const char *value);

void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);

#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)

#endif
