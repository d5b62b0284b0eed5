/* exec_setup.h — the sandbox set-up both executor children share.
 *
 * harness_spawn (the measured harness) and executor_spawn_command (a
 * jouletrace-run command) start their child the same way: a private
 * directory, the sandbox user, a planned root filesystem view, and the
 * limits, cgroups and controls of a sandbox_spec.  Internal to the executor
 * layer: nothing above it includes this header.
 *
 * Thread safety: none needed; every call works on the caller's objects.
 */
#ifndef JT_EXEC_SETUP_H
#define JT_EXEC_SETUP_H

#include <stddef.h>

#include "executor.h"
#include "sandbox.h"

/*
 * What harness_spawn and executor_spawn_command share: the private directory,
 * the sandbox user, the root filesystem plan and the spec's limits, cgroups
 * and controls.  The spec points into it, so it must outlive sandbox_spawn.
 */
struct exec_setup {
	char *tmpdir;            /* moved to the caller's object on success */
	struct rootfs *rootfs;
	char user_why[192], root_why[192];
	struct sandbox_report local_report;
};

/* Fills everything of *spec but exe, argv, envp and fds, and *st, which the
 * spec points into (st must outlive sandbox_spawn).  harness may be NULL
 * (nothing bound at ROOTFS_HARNESS); prefix names the private directory.
 * 0 or -errno; on failure nothing is left to release.  On success the caller
 * takes st->tmpdir (remove it with exec_setup_remove_tree) and frees
 * st->rootfs with rootfs_free once the child runs. */
int exec_setup_prepare(const struct exec_options *o, const char *exe, const char *harness,
		       const char *prefix, struct exec_setup *st, struct sandbox_spec *spec);

/* A spawn refused for missing mandatory controls: the list into why, and
 * one error line in the log naming what was refused. */
void exec_setup_refused(const struct sandbox_spec *spec, const char *what, char *why, size_t cap);

/* Remove a private directory and everything under it; failures are logged. */
void exec_setup_remove_tree(const char *dir);

#endif
