/* exec_setup.c — see exec_setup.h. */
#include "exec_setup.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "rootfs.h"
#include "util.h"

#define DEFAULT_TMPFS_MB       64
#define TMPFS_INODES           4096
#define CGROUP_SLACK_MB        32    /* interpreter and kernel overhead above the limits */
#define MIN_PIDS               8

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0 && errno != ENOENT)
		log_warn("executor: cannot remove %s: %s", path, strerror(errno));
	return 0;
}

void exec_setup_remove_tree(const char *dir)
{
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
		log_warn("executor: cannot clean %s: %s", dir, strerror(errno));
}

/* Sandbox uid/gid by name; a reason in why when it cannot be used. */
static bool sandbox_user(const char *name, uid_t *uid, gid_t *gid, char *why, size_t cap)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	if (!name[0]) {
		util_say(why, cap, "no sandbox user configured (sandbox_user is empty)");
		return false;
	}
	int e = getpwnam_r(name, &pw, buf, sizeof buf, &res);
	if (e || !res) {
		util_say(why, cap, "user '%.64s' %s (scripts/setup.sh creates it)", name,
			 e ? strerror(e) : "does not exist");
		return false;
	}
	if (pw.pw_uid == 0 || pw.pw_gid == 0) {
		util_say(why, cap, "user '%.64s' is root or in group root", name);
		return false;
	}
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	return true;
}


int exec_setup_prepare(const struct exec_options *o, const char *exe, const char *harness,
		       const char *prefix, struct exec_setup *st, struct sandbox_spec *spec)
{
	unsigned mandatory = 0;
	uid_t uid = getuid();
	gid_t gid = getgid();
	char why[192], tmpl[PATH_MAX];

	memset(st, 0, sizeof *st);
	memset(spec, 0, sizeof *spec);
	if (sandbox_controls_parse(o->sandbox_mandatory, &mandatory, why, sizeof why) != 0) {
		log_error("executor: sandbox_mandatory: %s", why);
		return -EINVAL;
	}
	if ((size_t)snprintf(tmpl, sizeof tmpl, "%s/%s-XXXXXX",
			     o->tmp_parent ? o->tmp_parent : "/tmp", prefix) >= sizeof tmpl)
		return -ENAMETOOLONG;
	if (!mkdtemp(tmpl))
		return -errno;
	if (!(st->tmpdir = strdup(tmpl))) {
		rmdir(tmpl);
		return -ENOMEM;
	}

	unsigned want = SANDBOX_ALL & ~o->sandbox_disable;
	bool have_user = (want & SANDBOX_BIT(SANDBOX_UID)) &&
			 sandbox_user(o->sandbox_user ? o->sandbox_user : EXEC_SANDBOX_USER,
				      &uid, &gid, st->user_why, sizeof st->user_why);
	if (!have_user) {
		uid = getuid();
		gid = getgid();
	}
	/* Without the mount namespace this directory is the working directory of a
	 * child that no longer runs as us. */
	if (have_user && chown(st->tmpdir, uid, gid) != 0)
		log_debug("executor: chown %s: %s", st->tmpdir, strerror(errno));
	long tmpfs_mb = o->sandbox_tmpfs_mb ? o->sandbox_tmpfs_mb : DEFAULT_TMPFS_MB;
	if (want & SANDBOX_BIT(SANDBOX_MOUNTNS)) {
		struct rootfs_options ro = {
			.staging = st->tmpdir, .harness = harness, .exe = exe, .tmp_mb = tmpfs_mb,
			.tmp_inodes = TMPFS_INODES, .owner_uid = uid, .owner_gid = gid,
		};
		st->rootfs = rootfs_plan(&ro, st->root_why, sizeof st->root_why);
	}
	long pids = o->max_processes / 2 > MIN_PIDS ? o->max_processes / 2 : MIN_PIDS;
	spec->cwd = st->tmpdir;
	spec->jail_cwd = ROOTFS_WORKDIR;
	spec->cpus = o->cpus;
	spec->limits = (struct sandbox_limits){
		.memory_limit_mb = o->memory_limit_mb, .cpu_seconds = o->cpu_seconds,
		.max_processes = o->max_processes, .max_file_bytes = o->max_file_bytes,
		.max_open_files = o->max_open_files,
	};
	spec->want = want;
	spec->mandatory = mandatory;
	spec->uid = uid;
	spec->gid = gid;
	spec->rootfs = st->rootfs;
	spec->tmpfs_mb = tmpfs_mb;
	spec->cgroup_memory_bytes = o->memory_limit_mb > 0 ?
		(long long)(o->memory_limit_mb + 2 * tmpfs_mb + CGROUP_SLACK_MB) << 20 : 0;
	spec->cgroup_pids_max = o->max_processes > 0 ? pids : 0;
	spec->report = o->report ? o->report : &st->local_report;
	if (!have_user)
		spec->unavailable[SANDBOX_UID] = st->user_why;
	if ((want & SANDBOX_BIT(SANDBOX_MOUNTNS)) && !st->rootfs)
		spec->unavailable[SANDBOX_MOUNTNS] = st->root_why;
	return 0;
}

void exec_setup_refused(const struct sandbox_spec *spec, const char *what, char *why, size_t cap)
{
	sandbox_report_missing(spec->report, spec->mandatory, why, cap);
	log_error("executor: refusing to run %s: mandatory sandbox controls missing: %s", what, why);
}
