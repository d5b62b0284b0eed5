/* monopts.c — see monopts.h. */
#include "monopts.h"

#include <errno.h>
#include <string.h>

#include "config.h"
#include "util.h"

int monopts_from_config(const struct jt_config *cfg, struct monopts *o, char *why, size_t cap)
{
	memset(o, 0, sizeof *o);
	o->tick_ns = (uint64_t)cfg->monitor_tick_ms * 1000000u;
	o->period_ns = (uint64_t)cfg->monitor_seal_seconds * 1000000000u;
	if (o->period_ns < 2 * o->tick_ns) {
		util_say(why, cap, "monitor_seal_seconds (%ld s) must hold at least two ticks of "
			 "monitor_tick_ms (%ld ms)", cfg->monitor_seal_seconds, cfg->monitor_tick_ms);
		return -EINVAL;
	}
	o->top_n = (size_t)cfg->monitor_top_processes;
	o->seal_file = cfg->monitor_seal_file;
	o->seal_file_max_bytes = (uint64_t)cfg->monitor_seal_file_max_bytes;
	o->seal_file_keep = (unsigned)cfg->monitor_seal_file_keep;
	o->listen = cfg->monitor_listen;
	o->packages = cfg->monitor_packages;
	o->key_file = cfg->key_file;
	o->redis_url = cfg->redis_url;
	o->calibration_file = cfg->calibration_file;
	o->calibration_files = cfg->monitor_calibration_files;
	o->host_id = cfg->host_id;
	o->allow_bpf = strcmp(cfg->attribution_source, "proc") != 0;
	o->require_bpf = strcmp(cfg->attribution_source, "bpf") == 0;
	o->redis_backlog = MONOPTS_REDIS_BACKLOG;
	o->seal_queue = MONOPTS_SEAL_QUEUE;
	return 0;
}

uint64_t monopts_next_boundary(const struct monopts *o, uint64_t wall_ns)
{
	return (wall_ns / o->period_ns + 1) * o->period_ns;
}
