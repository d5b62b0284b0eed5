/*
 * hostid.h — who this machine is, for seals and calibration profiles.
 *
 * Several sources, because any single one is weak: cloned images share
 * /etc/machine-id, containers hide DMI, hostnames are reused.
 *
 * Sources (root "" = the real system, else paths under root for tests):
 *   machine_id    <root>/etc/machine-id (else <root>/var/lib/dbus/machine-id)
 *   product_uuid  <root>/sys/class/dmi/id/product_uuid   (root-only on most systems)
 *   board_serial  <root>/sys/class/dmi/id/board_serial   (root-only on most systems)
 *   cpu_model     first "model name" line of <root>/proc/cpuinfo
 *   microcode     first "microcode" line of <root>/proc/cpuinfo
 *   kernel        real: uname() release + " " + version;
 *                 fake root: <root>/proc/sys/kernel/osrelease + " " + .../version
 *   hostname      real: gethostname(); fake root: <root>/proc/sys/kernel/hostname
 * An unreadable source leaves its field "" (never an error).  Values have
 * surrounding whitespace trimmed, control characters replaced by '?', and are
 * cut to the field size — so no value can contain '\n'.
 *
 * fingerprint = lower-case hex SHA-256 of exactly these bytes (UTF-8/ASCII,
 * one line per field, this order, every line present even when empty):
 *
 *   "machine_id=<v>\nproduct_uuid=<v>\nboard_serial=<v>\ncpu_model=<v>\n"
 *   "microcode=<v>\nkernel=<v>\nhostname=<v>\n"
 *
 * so a kernel, microcode or hostname change gives a new fingerprint (and
 * invalidates a calibration made under the old one — intended).
 *
 * Thread safety: reentrant.  No allocation survives the call but
 * hostid_json's result (the caller's).
 */
#ifndef JT_HOSTID_H
#define JT_HOSTID_H

#include <stddef.h>

#include <jansson.h>

struct hostid {
	char machine_id[64];
	char product_uuid[64];
	char board_serial[128];
	char cpu_model[128];
	char microcode[32];
	char kernel[128];
	char hostname[256];
	char fingerprint[65];
};

/* Fills *out and its fingerprint.  0, or -EINVAL for NULL arguments. */
int hostid_collect(const char *root, struct hostid *out);

/*
 * Writes the canonical bytes above into buf (NUL-terminated); returns their
 * length, or -ENOSPC when cap is too small.  For verifiers and tests.
 */
int hostid_canonical(const struct hostid *h, char *buf, size_t cap);

/* Recomputes h->fingerprint from the other fields. */
void hostid_fingerprint(struct hostid *h);

/*
 * The name this host goes by in the service (config key host_id: its lock,
 * its workers, its results and seals): configured when non-empty, else the
 * hostname.  Points into configured or h.
 */
const char *hostid_name(const struct hostid *h, const char *configured);

/*
 * The seals' "host" object: fingerprint, machine_id, product_uuid (null when
 * unknown), cpu_model, microcode, kernel, hostname and host_id (the name the
 * host measures under: several hosts sharing one Redis, or one machine
 * playing two, are told apart by it; NULL = hostid_name(h, NULL)).  Task seals
 * and the host monitor's seals carry the same object.  New reference, NULL on
 * ENOMEM.
 */
json_t *hostid_json(const struct hostid *h, const char *host_id);

#endif
