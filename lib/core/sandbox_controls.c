/* sandbox_controls.c — see sandbox_controls.h. */
#include "sandbox_controls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const char *const control_names[SANDBOX_NCONTROLS] = {
	[SANDBOX_UID] = "uid", [SANDBOX_PIDNS] = "pidns", [SANDBOX_MOUNTNS] = "mountns",
	[SANDBOX_NETNS] = "netns", [SANDBOX_IPCNS] = "ipcns", [SANDBOX_UTSNS] = "utsns",
	[SANDBOX_CAPS] = "caps", [SANDBOX_NO_NEW_PRIVS] = "no_new_privs",
	[SANDBOX_SECCOMP] = "seccomp", [SANDBOX_RLIMITS] = "rlimits",
	[SANDBOX_CGROUP_MEMORY] = "cgroup_memory", [SANDBOX_CGROUP_PIDS] = "cgroup_pids",
};

const char *sandbox_control_name(int c)
{
	return c >= 0 && c < SANDBOX_NCONTROLS ? control_names[c] : NULL;
}

int sandbox_controls_parse(const char *list, unsigned *mask, char *why, size_t cap)
{
	*mask = 0;
	for (const char *p = list ? list : ""; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		size_t n = strcspn(p, ", \t");
		if (n == 0)
			break;
		int c;
		for (c = 0; c < SANDBOX_NCONTROLS; c++)
			if (strlen(control_names[c]) == n && strncmp(p, control_names[c], n) == 0)
				break;
		if (c < SANDBOX_NCONTROLS)
			*mask |= SANDBOX_BIT(c);
		else if (n == 3 && strncmp(p, "all", 3) == 0)
			*mask = SANDBOX_ALL;
		else if (!(n == 4 && strncmp(p, "none", 4) == 0)) {
			util_say(why, cap, "unknown sandbox control '%.*s' (known: uid, pidns, "
				 "mountns, netns, ipcns, utsns, caps, no_new_privs, seccomp, rlimits, "
				 "cgroup_memory, cgroup_pids, all, none)", (int)(n > 32 ? 32 : n), p);
			return -EINVAL;
		}
		p += n;
	}
	return 0;
}
