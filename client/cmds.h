/*
 * cmds.h — `jouletrace status`, `cancel`, `verify` and `compare`.  Each
 * returns an exit code (outcome.h) and prints its result on the session's
 * out (a table, or with --json the JSON) and its failures on err.
 * Thread safety: one thread.
 */
#ifndef JT_CLIENT_CMDS_H
#define JT_CLIENT_CMDS_H

#include "session.h"

int cmd_status(struct session *s);
int cmd_cancel(struct session *s);
/* The same check as jouletrace-verify (lib/seal/sealcheck), same output;
 * without --pubkey the keys of the server's GET /api/v1/keys are pinned. */
int cmd_verify(struct session *s);
/* Exit 0 when every task was compared, 1 when some was not comparable. */
int cmd_compare(struct session *s);

#endif
