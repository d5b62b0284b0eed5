/*
 * threadload.c — the host monitor's overhead workload (bench/monitor_overhead.py,
 * issue 13): PROCS processes of THREADS threads each, all alive the whole time;
 * WAKERS threads of each process wake every WAKE_MS (phases spread over the
 * period) and spin SPIN_US, so the scheduler switches a lot; the others sleep.
 * The parent prints "ready N" (threads started) on stdout, then waits; kill
 * the process group to stop it.  Built by the benchmark (cc -O2 -pthread).
 *
 * With "churn": RATE processes a second start and exit (each spins ~1 ms so
 * the monitor books it; one in ten then sleeps 1-3 s), forked from this small
 * process so the churn itself costs little; COUNTFILE holds the number started
 * so far, rewritten every second.
 *
 * usage: threadload PROCS THREADS WAKERS WAKE_MS SPIN_US
 *        threadload churn RATE COUNTFILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct waker {
	long wake_ns, spin_ns, phase_ns;
};

static long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void *wake_loop(void *arg)
{
	const struct waker *w = arg;
	long next = now_ns() + w->phase_ns;
	for (;;) {
		struct timespec t = { next / 1000000000L, next % 1000000000L };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
			;
		long until = now_ns() + w->spin_ns;
		while (now_ns() < until)
			;
		next += w->wake_ns;
	}
	return NULL;
}

static void *sleep_loop(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

/* One process: threads threads, the first wakers of them waking.  Never returns. */
static void child(int index, int threads, int wakers, long wake_ns, long spin_ns, int ready_fd)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);   /* 10,000 threads: small stacks */
	struct waker *w = calloc((size_t)wakers + 1, sizeof *w);
	int started = 0;
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		int ret;
		if (i < wakers) {
			/* phases spread over the period, not bunched at its start */
			long k = ((long)index * wakers + i) * 7919 % 1000;
			w[i] = (struct waker){ wake_ns, spin_ns, wake_ns / 1000 * k };
			ret = pthread_create(&t, &attr, wake_loop, &w[i]);
		} else {
			ret = pthread_create(&t, &attr, sleep_loop, NULL);
		}
		if (ret) {
			fprintf(stderr, "threadload: pthread_create: %s\n", strerror(ret));
			break;
		}
		started++;
	}
	if (write(ready_fd, &started, sizeof started) != (ssize_t)sizeof started)
		_exit(1);
	close(ready_fd);
	for (;;)
		pause();
}

static void spin_ns(long ns)
{
	long until = now_ns() + ns;
	while (now_ns() < until)
		;
}

/* Never returns; killed by the benchmark. */
static int churn(double rate, const char *countfile)
{
	long period = (long)(1e9 / rate), next = now_ns(), last_write = 0;
	unsigned long started = 0, seed = 13;
	int fd = open(countfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || rate <= 0)
		return 2;
	signal(SIGCHLD, SIG_DFL);
	for (;;) {
		seed = seed * 6364136223846793005ul + 1442695040888963407ul;
		long sleep_ms = (seed >> 33) % 10 == 0 ? 1000 + (long)((seed >> 40) % 2000) : 0;
		pid_t pid = fork();
		if (pid == 0) {
			spin_ns(1000000);
			if (sleep_ms)
				usleep((useconds_t)sleep_ms * 1000);
			_exit(0);
		}
		if (pid > 0)
			started++;
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (now_ns() - last_write >= 1000000000L) {
			char buf[32];
			int n = snprintf(buf, sizeof buf, "%-20lu\n", started);
			if (pwrite(fd, buf, (size_t)n, 0) != n)
				return 1;
			last_write = now_ns();
		}
		next += period;
		struct timespec t = { next / 1000000000L, next % 1000000000L };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
			;
	}
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "churn") == 0)
		return churn(strtod(argv[2], NULL), argv[3]);
	if (argc != 6) {
		fprintf(stderr, "usage: threadload PROCS THREADS WAKERS WAKE_MS SPIN_US\n"
				"       threadload churn RATE COUNTFILE\n");
		return 2;
	}
	int procs = (int)strtol(argv[1], NULL, 10), threads = (int)strtol(argv[2], NULL, 10);
	int wakers = (int)strtol(argv[3], NULL, 10);
	long wake_ns = strtol(argv[4], NULL, 10) * 1000000L, spin_ns = strtol(argv[5], NULL, 10) * 1000L;
	int fds[2], total = 0;
	if (procs < 1 || threads < 1 || wakers < 0 || wakers > threads || wake_ns <= 0 ||
	    pipe(fds) != 0)
		return 2;
	for (int p = 0; p < procs; p++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			close(fds[0]);
			child(p, threads, wakers, wake_ns, spin_ns, fds[1]);
		}
	}
	close(fds[1]);
	for (int p = 0; p < procs; p++) {
		int n;
		if (read(fds[0], &n, sizeof n) != (ssize_t)sizeof n)
			return 1;
		total += n;
	}
	printf("ready %d\n", total);
	fflush(stdout);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}
