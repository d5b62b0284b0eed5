/*
 * load.c — bench/switch_cost.py's loader: loads OBJ, attaches only the
 * program named PROG (a raw tracepoint), waits SECONDS, and prints
 * "PROG RUNS NS_PER_RUN" from the kernel's run statistics (the caller turns
 * kernel.bpf_stats_enabled on).  Also the monitor's own procacct.bpf.o,
 * whose read-only package map stays all zeros: every CPU is package 0 and
 * procacct_switch books every slice, as in the monitor.
 *
 * usage: load OBJ PROG SECONDS
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: load OBJ PROG SECONDS\n");
		return 2;
	}
	struct bpf_object *o = bpf_object__open_file(argv[1], NULL);
	if (!o) {
		perror("open");
		return 1;
	}
	struct bpf_program *p, *want = NULL;
	bpf_object__for_each_program(p, o) {
		bool it = strcmp(bpf_program__name(p), argv[2]) == 0;
		bpf_program__set_autoload(p, it);
		if (it)
			want = p;
	}
	if (!want || bpf_object__load(o) || !bpf_program__attach(want)) {
		fprintf(stderr, "load: %s: cannot load or attach\n", argv[2]);
		return 1;
	}
	sleep((unsigned)atoi(argv[3]));
	struct bpf_prog_info info;
	__u32 len = sizeof info;
	memset(&info, 0, sizeof info);
	if (bpf_obj_get_info_by_fd(bpf_program__fd(want), &info, &len)) {
		perror("info");
		return 1;
	}
	printf("%s %llu %.1f\n", argv[2], (unsigned long long)info.run_cnt,
	       info.run_cnt ? (double)info.run_time_ns / (double)info.run_cnt : 0.0);
	return 0;
}
