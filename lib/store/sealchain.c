/* sealchain.c — see sealchain.h. */
#include "sealchain.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "jcs.h"
#include "keys.h"
#include "log.h"
#include "util.h"

/*
 * KEYS: head, log [, record].  ARGV: expected sequence ("0" = no head),
 * expected sha256 ("" = none), new sequence, new sha256, seal text
 * [, seal field [, field, value]].  → 1 committed, 0 the head moved
 * (somebody else signed first), 2 the record is gone, 3 the record already
 * holds a seal (2 and 3 append nothing).
 */
static const struct redis_script commit_script = {
	"sealchain_commit",
	"if #KEYS == 3 then\n"
	"  if redis.call('EXISTS', KEYS[3]) == 0 then return 2 end\n"
	"  if redis.call('HEXISTS', KEYS[3], ARGV[6]) == 1 then return 3 end\n"
	"end\n"
	"local h = redis.call('HMGET', KEYS[1], 'sequence', 'sha256')\n"
	"local seq = h[1] or '0'\n"
	"local sha = h[2] or ''\n"
	"if seq ~= ARGV[1] or sha ~= ARGV[2] then return 0 end\n"
	"redis.call('HSET', KEYS[1], 'sequence', ARGV[3], 'sha256', ARGV[4])\n"
	"redis.call('ZADD', KEYS[2], ARGV[3], ARGV[5])\n"
	"if #KEYS == 3 then\n"
	"  redis.call('HSET', KEYS[3], ARGV[6], ARGV[5])\n"
	"  if ARGV[7] then redis.call('HSET', KEYS[3], ARGV[7], ARGV[8]) end\n"
	"end\n"
	"return 1\n",
};

static bool is_sha256_hex(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* ---- keys --------------------------------------------------------------- */

int sealchain_register_key(struct redis *r, const struct seal_key *k, const char *created_at)
{
	struct redis_reply *rep = NULL;
	json_t *entry = NULL, *old = NULL;
	char *text = NULL;
	size_t len = 0;
	int ret;

	if (!r || !k || !created_at || !keys_seal_key_id_valid(k->key_id))
		return -EINVAL;
	entry = json_pack("{s:s, s:s, s:s}", "key_id", k->key_id, "public_key", k->public_b64,
			  "created_at", created_at);
	if (!entry)
		return -ENOMEM;
	if ((ret = jcs_serialize(entry, &text, &len)))
		goto out;
	long long added = 0;
	if ((ret = redis_cmdv(r, &rep, "HSETNX", KEYS_SEAL_KEYS, k->key_id, text, REDIS_END)) ||
	    (ret = redis_reply_int(rep, &added)) || added == 1)
		goto out;
	redis_reply_free(rep);
	rep = NULL;
	if ((ret = redis_cmdv(r, &rep, "HGET", KEYS_SEAL_KEYS, k->key_id, REDIS_END)))
		goto out;
	if (rep->type != REDIS_T_STR) {
		ret = -EPROTO;   /* deleted between the two commands: let the caller retry */
		goto out;
	}
	old = json_loadb(rep->str, rep->len, 0, NULL);
	const char *pk = json_string_value(json_object_get(old, "public_key"));
	if (!pk || strcmp(pk, k->public_b64) != 0) {
		log_error("jt:keys already holds key_id %s for another public key", k->key_id);
		ret = -EEXIST;
	}
out:
	redis_reply_free(rep);
	json_decref(entry);
	json_decref(old);
	free(text);
	return ret;
}

static int key_entry_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int c = strcmp(json_string_value(json_object_get(x, "created_at")),
		       json_string_value(json_object_get(y, "created_at")));
	return c ? c : strcmp(json_string_value(json_object_get(x, "key_id")),
			      json_string_value(json_object_get(y, "key_id")));
}

int sealchain_keys_json(struct redis *r, char **json)
{
	struct redis_reply *rep = NULL;
	json_t **entries = NULL, *arr = NULL;
	size_t n = 0;
	int ret;

	if (!json)
		return -EINVAL;
	*json = NULL;
	if (!r)
		return -EINVAL;
	if ((ret = redis_cmdv(r, &rep, "HGETALL", KEYS_SEAL_KEYS, REDIS_END)))
		goto out;
	if (rep->type != REDIS_T_ARR || rep->n % 2) {
		ret = -EPROTO;
		goto out;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element */
	entries = calloc(rep->n / 2 + 1, sizeof *entries);
	arr = json_array();
	if (!entries || !arr) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i + 1 < rep->n && n < SEALCHAIN_MAX_KEYS; i += 2) {
		const struct redis_reply *f = &rep->elem[i], *v = &rep->elem[i + 1];
		json_t *o = v->type == REDIS_T_STR ? json_loadb(v->str, v->len, 0, NULL) : NULL;
		const char *id = json_string_value(json_object_get(o, "key_id"));
		const char *pk = json_string_value(json_object_get(o, "public_key"));
		const char *at = json_string_value(json_object_get(o, "created_at"));
		unsigned char raw[SEAL_PK_BYTES];
		char want[SEAL_KEY_ID_LEN + 1];
		bool ok = id && pk && at && f->type == REDIS_T_STR && strcmp(f->str, id) == 0 &&
			  seal_public_key_parse(pk, strlen(pk), raw) == 0;
		if (ok) {
			seal_key_id(raw, want);
			ok = strcmp(want, id) == 0;
		}
		if (ok) {
			entries[n] = json_pack("{s:s, s:s, s:s}", "key_id", id, "public_key", pk,
					       "created_at", at);
			ok = entries[n] != NULL;
			n += ok;
		} else {
			log_warn("jt:keys: skipping a malformed entry");
		}
		json_decref(o);
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element */
	qsort(entries, n, sizeof *entries, key_entry_cmp);
	for (size_t i = 0; i < n; i++) {
		if (json_array_append_new(arr, entries[i])) {
			ret = -ENOMEM;
			entries[i] = NULL;
			for (size_t j = i + 1; j < n; j++)
				json_decref(entries[j]);
			n = 0;
			goto out;
		}
	}
	n = 0;
	*json = json_dumps(arr, JSON_COMPACT);
	if (!*json)
		ret = -ENOMEM;
out:
	for (size_t i = 0; i < n; i++)
		json_decref(entries[i]);
	free(entries);
	json_decref(arr);
	redis_reply_free(rep);
	return ret;
}

/* ---- signing ------------------------------------------------------------ */

struct head {
	char seq_text[24];   /* as stored, "0" when there is no head */
	long long seq;
	char sha[65];        /* "" when there is no head */
};

static int read_head(struct redis *r, const char *key, struct head *h)
{
	struct redis_reply *rep = NULL;
	int ret;

	memset(h, 0, sizeof *h);
	if ((ret = redis_cmdv(r, &rep, "HMGET", key, "sequence", "sha256", REDIS_END)))
		return ret;
	if (rep->type != REDIS_T_ARR || rep->n != 2) {
		ret = -EPROTO;
		goto out;
	}
	const struct redis_reply *s = &rep->elem[0], *d = &rep->elem[1];
	if (s->type == REDIS_T_NIL && d->type == REDIS_T_NIL) {
		snprintf(h->seq_text, sizeof h->seq_text, "0");
		goto out;
	}
	if (s->type != REDIS_T_STR || d->type != REDIS_T_STR || s->len >= sizeof h->seq_text ||
	    util_parse_i64(s->str, &h->seq) || h->seq < 1 || !is_sha256_hex(d->str, d->len)) {
		log_error("seal chain head %s is malformed", key);
		ret = -EBADMSG;
		goto out;
	}
	memcpy(h->seq_text, s->str, s->len + 1);
	memcpy(h->sha, d->str, 65);
out:
	redis_reply_free(rep);
	return ret;
}

/* After a transport error on the commit: did our seal land anyway? */
static bool landed(struct redis *r, const char *log_key, const char *seq, const char *text)
{
	struct redis_reply *rep = NULL;
	bool yes = false;

	if (redis_cmdv(r, &rep, "ZRANGEBYSCORE", log_key, seq, seq, REDIS_END) == 0 &&
	    rep->type == REDIS_T_ARR)
		for (size_t i = 0; i < rep->n && !yes; i++)
			yes = rep->elem[i].type == REDIS_T_STR && strcmp(rep->elem[i].str, text) == 0;
	redis_reply_free(rep);
	return yes;
}

static void backoff(int attempt)
{
	uint32_t ms = randombytes_uniform((uint32_t)(attempt < 10 ? attempt + 1 : 10));
	struct timespec ts = { 0, (long)ms * 1000000L + 100000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int sealchain_sign_append(struct redis *r, const struct seal_key *k, json_t *payload,
			  json_t **seal)
{
	return sealchain_sign_append_also(r, k, payload, NULL, seal);
}

int sealchain_sign_append_also(struct redis *r, const struct seal_key *k, json_t *payload,
			       const struct sealchain_also *also, json_t **seal)
{
	char head_key[KEYS_MAX], log_key[KEYS_MAX], new_seq[24], new_sha[65];
	struct redis_reply *rep = NULL;
	json_t *s = NULL;
	char *text = NULL;
	size_t len = 0;
	int ret = -EAGAIN;

	if (!seal)
		return -EINVAL;
	*seal = NULL;
	if (!r || !k || !json_is_object(payload) ||
	    (also && (!also->key || !also->seal_field || (!also->field) != (!also->value))))
		return -EINVAL;
	if ((ret = keys_seal_head(head_key, sizeof head_key, k->key_id)) ||
	    (ret = keys_seal_log(log_key, sizeof log_key, k->key_id)))
		return ret;
	if (sodium_init() < 0)
		return -EIO;
	for (int attempt = 0; attempt < SEALCHAIN_MAX_ATTEMPTS; attempt++) {
		struct head h;
		if (attempt > 0)
			backoff(attempt);
		if ((ret = read_head(r, head_key, &h)))
			goto out;
		if (h.seq >= JCS_MAX_SAFE_INT) {
			ret = -EOVERFLOW;
			goto out;
		}
		if (json_object_set_new(payload, "sequence", json_integer(h.seq + 1)) ||
		    json_object_set_new(payload, "prev_seal_sha256",
					h.sha[0] ? json_string(h.sha) : json_null())) {
			ret = -ENOMEM;
			goto out;
		}
		if ((ret = seal_sign(k, payload, &s)) || (ret = jcs_serialize(s, &text, &len)) ||
		    (ret = seal_payload_sha256(payload, new_sha)))
			goto out;
		snprintf(new_seq, sizeof new_seq, "%lld", h.seq + 1);
		const char *keys[] = { head_key, log_key, also ? also->key : NULL };
		const char *args[] = { h.seq_text, h.sha, new_seq, new_sha, text,
				       also ? also->seal_field : NULL,
				       also ? also->field : NULL, also ? also->value : NULL };
		ret = redis_eval(r, &commit_script, also ? 3 : 2, keys,
				 !also ? 5 : also->field ? 8 : 6, args, &rep);
		if (ret == -EIO || ret == -ETIMEDOUT) {
			if (landed(r, log_key, new_seq, text))
				ret = 0;
			if (ret == 0)
				break;
			goto out;
		}
		long long committed = 0;
		if (ret || (ret = redis_reply_int(rep, &committed)))
			goto out;
		if (committed == 1)
			break;
		if (committed == 2 || committed == 3) {
			ret = committed == 2 ? -ENOENT : -EEXIST;
			goto out;
		}
		log_debug("seal chain %s: sequence %s taken by another signer, retrying",
			  k->key_id, new_seq);
		ret = -EAGAIN;
		redis_reply_free(rep);
		rep = NULL;
		json_decref(s);
		s = NULL;
		free(text);
		text = NULL;
	}
	if (ret == 0) {
		*seal = s;
		s = NULL;
	} else {
		log_warn("seal chain %s: lost the race %d times", k->key_id,
			 SEALCHAIN_MAX_ATTEMPTS);
	}
out:
	redis_reply_free(rep);
	json_decref(s);
	free(text);
	return ret;
}

/* ---- the log ------------------------------------------------------------ */

struct log_entry {
	long long seq;
	const char *key_id;     /* points into the key-list reply */
	const char *text;       /* points into its ZRANGEBYSCORE reply */
	size_t len;
};

static int log_entry_cmp(const void *a, const void *b)
{
	const struct log_entry *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return strcmp(x->key_id, y->key_id);
}

/* Appends up to limit entries of one key's log after `after` to *ents. */
static int fetch_log(struct redis *r, const char *key_id, long long after, long limit,
		     struct redis_reply **rep, struct log_entry **ents, size_t *n)
{
	char key[KEYS_MAX], min[32], lim[24];
	struct log_entry *grown;
	int ret;

	if ((ret = keys_seal_log(key, sizeof key, key_id)))
		return ret;
	snprintf(min, sizeof min, "(%lld", after);
	snprintf(lim, sizeof lim, "%ld", limit);
	if ((ret = redis_cmdv(r, rep, "ZRANGEBYSCORE", key, min, "+inf", "WITHSCORES", "LIMIT",
			      "0", lim, REDIS_END)))
		return ret;
	if ((*rep)->type != REDIS_T_ARR || (*rep)->n % 2)
		return -EPROTO;
	grown = realloc(*ents, (*n + (*rep)->n / 2 + 1) * sizeof **ents);
	if (!grown)
		return -ENOMEM;
	*ents = grown;
	for (size_t i = 0; i + 1 < (*rep)->n; i += 2) {
		const struct redis_reply *m = &(*rep)->elem[i], *sc = &(*rep)->elem[i + 1];
		struct log_entry *e = &(*ents)[*n];
		json_t *check;
		if (m->type != REDIS_T_STR || sc->type != REDIS_T_STR ||
		    util_parse_i64(sc->str, &e->seq)) {
			log_warn("seal log %s: skipping a malformed entry", key_id);
			continue;
		}
		/* Our own text, but a page must stay valid JSON whatever Redis holds. */
		check = json_loadb(m->str, m->len, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(check)) {
			log_warn("seal log %s: entry %lld is not a JSON object", key_id, e->seq);
			json_decref(check);
			continue;
		}
		json_decref(check);
		e->key_id = key_id;
		e->text = m->str;
		e->len = m->len;
		(*n)++;
	}
	return 0;
}

int sealchain_log_json(struct redis *r, const char *key_id, long long after, long limit,
		       char **json)
{
	struct redis_reply *keys_rep = NULL, **reps = NULL;
	struct log_entry *ents = NULL;
	const char **ids = NULL;
	size_t nids = 0, n = 0, take = 0, bytes = 0;
	char *buf = NULL;
	int ret = 0;

	if (!json)
		return -EINVAL;
	*json = NULL;
	if (!r || (key_id && !keys_seal_key_id_valid(key_id)))
		return -EINVAL;
	if (after < 0)
		after = 0;
	if (limit <= 0)
		limit = SEALCHAIN_LOG_DEFAULT;
	if (limit > SEALCHAIN_LOG_MAX)
		limit = SEALCHAIN_LOG_MAX;
	if (key_id) {
		ids = malloc(sizeof *ids);
		if (!ids)
			return -ENOMEM;
		ids[nids++] = key_id;
	} else {
		if ((ret = redis_cmdv(r, &keys_rep, "HKEYS", KEYS_SEAL_KEYS, REDIS_END)))
			goto out;
		if (keys_rep->type != REDIS_T_ARR) {
			ret = -EPROTO;
			goto out;
		}
		ids = malloc((keys_rep->n + 1) * sizeof *ids);
		if (!ids) {
			ret = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < keys_rep->n && nids < SEALCHAIN_MAX_KEYS; i++)
			if (keys_rep->elem[i].type == REDIS_T_STR &&
			    keys_seal_key_id_valid(keys_rep->elem[i].str))
				ids[nids++] = keys_rep->elem[i].str;
	}
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, sized by its element */
	reps = calloc(nids + 1, sizeof *reps);
	if (!reps) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nids; i++)
		if ((ret = fetch_log(r, ids[i], after, limit, &reps[i], &ents, &n)))
			goto out;
	if (n > 1)
		qsort(ents, n, sizeof *ents, log_entry_cmp);
	/* Page: by count and size, but never split a group of equal sequences. */
	for (take = 0; take < n; take++) {
		bool same_group = take > 0 && ents[take].seq == ents[take - 1].seq;
		if (!same_group && take > 0 &&
		    (take >= (size_t)limit || bytes + ents[take].len > SEALCHAIN_LOG_MAX_BYTES))
			break;
		bytes += ents[take].len + 1;
	}
	long long next = take ? ents[take - 1].seq : after;
	size_t cap = bytes + 64;
	buf = malloc(cap);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	size_t off = (size_t)snprintf(buf, cap, "{\"seals\":[");
	for (size_t i = 0; i < take; i++) {
		if (i)
			buf[off++] = ',';
		memcpy(buf + off, ents[i].text, ents[i].len);
		off += ents[i].len;
	}
	snprintf(buf + off, cap - off, "],\"next_after\":%lld}", next);
	*json = buf;
	buf = NULL;
out:
	for (size_t i = 0; reps && i < nids; i++)
		redis_reply_free(reps[i]);
	free(reps);
	free(ents);
	free(ids);
	free(buf);
	redis_reply_free(keys_rep);
	return ret;
}
