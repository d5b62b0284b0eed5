/*
 * redis.h — the only door to Redis (hiredis stays inside redis.c).
 *
 * Connection model: redis_open() never touches the network.  The first command
 * connects; any transport failure (refused, reset, EOF, timeout, protocol
 * garbage) frees the hiredis context, and the *next* command connects again.
 * A failed command is never retried behind the caller's back: it may or may not
 * have run on the server (LPUSH twice would duplicate a job), so the caller
 * decides.  Expect the first command after a Redis restart to fail with -EIO.
 *
 * URLs:  redis://[[user]:password@]host[:port][/db]   (default port 6379, db 0;
 *                                                     [v6addr] allowed)
 *        unix:///path/to/redis.sock[?db=N]
 * AUTH and SELECT are sent on every (re)connect.
 *
 * Redis Sentinel (redis_open_ha with ha->sentinels set): the URL's host and
 * port are ignored (its password, user and db still apply; it must be
 * redis://).  Every (re)connect asks the sentinels in turn (the last one that
 * answered first; connect and read bounded by min(timeout_ms, 500)) with
 * SENTINEL get-master-addr-by-name, connects to the address named and checks
 * with ROLE that it is a master (a sentinel can be stale right after a
 * failover: then the next sentinel is asked).  No sentinel naming a reachable
 * master: -ECONNREFUSED.  Sentinels are asked without a password.
 * A READONLY or UNBLOCKED error reply (the server was demoted under us) drops
 * the connection like a transport error, so the next command resolves the
 * master again; the command itself still fails with -EPROTO (it did not run).
 *
 * Errors (all functions return 0 or -errno):
 *   -ECONNREFUSED  could not connect (server down, socket missing)
 *   -ETIMEDOUT     connect/read/write exceeded the timeout
 *   -EIO           connection broke mid-command (EOF, reset, bad protocol)
 *   -EACCES        AUTH/SELECT refused on connect
 *   -EPROTO        Redis answered with an error reply; *out still gets the
 *                  reply (type REDIS_T_ERR, message in str) for logging
 *   -ENOMEM, -E2BIG (more than REDIS_MAX_ARGS arguments), -EINVAL
 * The three transport errors all mean "Redis unavailable right now, retry later".
 *
 * SIGPIPE: a write to a dead server must not kill the process, and a library
 * may not change signal dispositions, so while SIGPIPE is not ignored each
 * command blocks it for the calling thread and swallows the one it caused.
 * Programs that ignore SIGPIPE (the server and worker should) skip that cost.
 *
 * Thread safety: a struct redis is NOT thread-safe — one per thread, or borrow
 * one from a struct redis_pool (which is thread-safe) for the duration of a
 * request.
 */
#ifndef JT_REDIS_H
#define JT_REDIS_H

#include <stddef.h>

#define REDIS_MAX_ARGS 64   /* per command, EVAL's own words included */
#define REDIS_URL_MAX 1024

struct redis;
struct redis_pool;

/* REDIS_T_ because hiredis owns the REDIS_REPLY_* and REDIS_ERR names. */
enum redis_reply_type {
	REDIS_T_NIL,
	REDIS_T_INT,
	REDIS_T_STR,     /* bulk string */
	REDIS_T_STATUS,  /* "+OK" style */
	REDIS_T_ERR,
	REDIS_T_ARR,
};

/*
 * A plain, caller-owned copy of a hiredis reply.  The whole tree (nodes and
 * strings) lives in one allocation, so redis_reply_free() is a single free().
 * str is NUL-terminated (len excludes the NUL) for STR/STATUS/ERR, NULL
 * otherwise; elem[0..n) for ARR.  Never modify the tree's shape.
 */
struct redis_reply {
	enum redis_reply_type type;
	long long integer;
	char *str;
	size_t len;
	size_t n;
	struct redis_reply *elem;
};

void redis_reply_free(struct redis_reply *reply);
/* The integer of an integer reply into *v: 0, or -EPROTO for any other reply. */
int redis_reply_int(const struct redis_reply *reply, long long *v);

/*
 * Lua script owned by a module as a static const object.  The connection
 * caches its SHA1 (from SCRIPT LOAD) keyed by the object's address, so the
 * object must outlive every struct redis that ran it.
 */
struct redis_script {
	const char *name;   /* for logs */
	const char *body;
};

/* NULL + errno (EINVAL bad URL, ENOMEM).  timeout_ms bounds connect, each
 * read and each write; ≤0 means 2000. */
struct redis *redis_open(const char *url, int timeout_ms);
void redis_close(struct redis *r);

/*
 * Runs one command.  lens NULL → strlen of each argv.  out may be NULL (reply
 * discarded); otherwise *out is set on 0 and on -EPROTO, NULL on every other
 * error.
 */
int redis_cmd(struct redis *r, struct redis_reply **out, int argc,
	      const char *const *argv, const size_t *lens);
/* Ends redis_cmdv's list: a typed NULL (a bare NULL may be an int in a variadic list). */
#define REDIS_END ((const char *)NULL)
/* Same, NUL-terminated string arguments, list ended by REDIS_END. */
int redis_cmdv(struct redis *r, struct redis_reply **out, const char *cmd, ...)
	__attribute__((sentinel));
/*
 * For blocking commands (BLMOVE, BLPOP): the socket timeout is block_ms +
 * timeout_ms for this call only, so the server's own block timeout fires
 * (nil reply) before the transport gives up.
 */
int redis_cmd_block(struct redis *r, int block_ms, struct redis_reply **out,
		    int argc, const char *const *argv, const size_t *lens);

/*
 * High availability, from the configuration (redis_sentinels,
 * redis_master_name, redis_min_replicas, redis_wait_timeout_ms); the strings
 * are borrowed until redis_open_ha / redis_pool_open return.
 */
struct redis_ha {
	const char *sentinels;   /* "host:port,host:port,..."; NULL or "" = off */
	const char *master_name; /* the name the sentinels monitor */
	int min_replicas;        /* 0: redis_wait_replicas does nothing */
	int wait_timeout_ms;     /* WAIT's own timeout */
};

#define REDIS_MAX_SENTINELS 16

struct jt_config;
/* The four keys of cfg, borrowed from it. */
void redis_ha_from_config(struct redis_ha *ha, const struct jt_config *cfg);

/* redis_open with Sentinel and WAIT settings (ha NULL: neither).  EINVAL also
 * for a bad sentinel list, more than REDIS_MAX_SENTINELS, or a unix:// URL
 * with sentinels. */
struct redis *redis_open_ha(const char *url, int timeout_ms, const struct redis_ha *ha);

/*
 * WAIT min_replicas wait_timeout_ms: after writes that must survive a
 * failover, blocks until that many replicas have acknowledged every write
 * made on this connection.  0 when they did (or min_replicas is 0), -EAGAIN
 * when fewer did within the timeout (the writes are on the master only: a
 * failover now may lose them), or a transport error.  *acked (may be NULL)
 * gets the count Redis answered (-1 when it did not answer).
 */
int redis_wait_replicas(struct redis *r, int *acked);

/* PING: 0 when the server answered PONG. */
int redis_ping(struct redis *r);

/*
 * EVALSHA with the cached SHA1 (SCRIPT LOAD on first use per connection
 * object); on NOSCRIPT (server restarted or SCRIPT FLUSH) falls back to EVAL,
 * which also re-caches the script server-side.  Same errors as redis_cmd.
 */
int redis_eval(struct redis *r, const struct redis_script *s,
	       int nkeys, const char *const *keys,
	       int nargs, const char *const *args, struct redis_reply **out);

/* Text of the last transport error ("" if none yet), for health output. */
const char *redis_last_error(const struct redis *r);
/* 1 when a connection is currently open (no I/O; may be stale). */
int redis_connected(const struct redis *r);

/*
 * Fixed-size pool for the server's request threads.  Connections are opened
 * lazily like redis_open_ha's (ha may be NULL), so each follows a failover
 * on its own.  pool_get blocks up to the pool's timeout_ms
 * when all are lent out and then returns NULL (errno ETIMEDOUT); every
 * successful get must be matched by one put from any thread.
 * Thread-safe.  redis_pool_close() requires every connection returned.
 */
struct redis_pool *redis_pool_open(const char *url, int timeout_ms, int size,
				   const struct redis_ha *ha);
struct redis *redis_pool_get(struct redis_pool *p);
void redis_pool_put(struct redis_pool *p, struct redis *r);
void redis_pool_close(struct redis_pool *p);

#endif
