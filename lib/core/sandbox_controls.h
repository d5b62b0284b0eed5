/*
 * sandbox_controls.h — the names of the sandbox's controls: the vocabulary of
 * the configuration's sandbox_mandatory (checked when the configuration is
 * loaded, by every program) and of the executor, which applies them
 * (sandbox.h).  Kept in the core layer so that checking a configuration
 * needs no sandbox code.
 *
 * Thread safety: pure functions over a constant table.
 */
#ifndef JT_SANDBOX_CONTROLS_H
#define JT_SANDBOX_CONTROLS_H

#include <stddef.h>

enum sandbox_control {
	SANDBOX_UID,
	SANDBOX_PIDNS,
	SANDBOX_MOUNTNS,
	SANDBOX_NETNS,
	SANDBOX_IPCNS,
	SANDBOX_UTSNS,
	SANDBOX_CAPS,
	SANDBOX_NO_NEW_PRIVS,
	SANDBOX_SECCOMP,
	SANDBOX_RLIMITS,
	SANDBOX_CGROUP_MEMORY,
	SANDBOX_CGROUP_PIDS,
	SANDBOX_NCONTROLS
};
#define SANDBOX_BIT(c) (1u << (c))
#define SANDBOX_ALL    ((1u << SANDBOX_NCONTROLS) - 1)

/* What the shipped configuration makes mandatory: everything a root worker
 * can always apply; the cgroup limits depend on the host. */
#define SANDBOX_MANDATORY_DEFAULT \
	"uid,pidns,mountns,netns,ipcns,utsns,caps,no_new_privs,seccomp,rlimits"

/* "uid", "pidns", ... ; NULL for an out-of-range value. */
const char *sandbox_control_name(int c);

/*
 * Parses a comma list of control names (spaces allowed; "" or "none" = no
 * control, "all" = every control) into a mask.  -EINVAL with why naming the
 * bad word.
 */
int sandbox_controls_parse(const char *list, unsigned *mask, char *why, size_t cap);

#endif
