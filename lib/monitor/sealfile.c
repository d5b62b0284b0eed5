/* sealfile.c — see sealfile.h. */
#include "sealfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jcs.h"
#include "util.h"

#define TAIL_CHUNK 65536

struct sealfile {
	char path[PATH_MAX];
	int fd;                      /* FILE, O_APPEND; -1 after a failed rotation */
	int lock_fd;
	uint64_t size;
	uint64_t max_bytes;
	unsigned keep;
	struct seal_key key;
	struct sealfile_head head;
};

static int rotated_name(const char *path, unsigned k, char out[PATH_MAX])
{
	int n = k ? snprintf(out, PATH_MAX, "%s.%u", path, k) : snprintf(out, PATH_MAX, "%s", path);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Makes a rename or a new file in path's directory durable. */
static void sync_dir(const char *path)
{
	char copy[PATH_MAX];
	snprintf(copy, sizeof copy, "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Start of the last line of fd's first `end` bytes: after the last '\n'
 * before end, or 0.  -E2BIG when it is longer than any seal line can be. */
static int line_start(int fd, uint64_t end, uint64_t *start)
{
	char buf[TAIL_CHUNK];
	uint64_t pos = end;

	while (pos > 0) {
		size_t n = pos < sizeof buf ? (size_t)pos : sizeof buf;
		ssize_t got = pread(fd, buf, n, (off_t)(pos - n));
		if (got != (ssize_t)n)
			return got < 0 ? -errno : -EIO;
		for (size_t i = n; i-- > 0;)
			if (buf[i] == '\n') {
				*start = pos - n + i + 1;
				return 0;
			}
		pos -= n;
		if (end - pos > SEAL_TEXT_MAX)
			return -E2BIG;
	}
	*start = 0;
	return 0;
}

static int read_at(int fd, uint64_t off, size_t len, char **out)
{
	char *buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	ssize_t got = pread(fd, buf, len, (off_t)off);
	if (got != (ssize_t)len) {
		free(buf);
		return got < 0 ? -errno : -EIO;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* A number of the payload that must be an integer ≥ min (seal_parse reads
 * every number as a double). */
static int payload_uint(const json_t *o, const char *k, uint64_t min, uint64_t *out)
{
	const json_t *v = json_object_get(o, k);
	double d = json_is_number(v) ? json_number_value(v) : NAN;
	if (!(d >= (double)min && d <= 9007199254740991.0 && d == floor(d)))
		return -EINVAL;
	*out = (uint64_t)d;
	return 0;
}

/* The head from a verified seal of ours. */
static int head_of(const json_t *seal, const struct seal_key *k, struct sealfile_head *h,
		   char *why, size_t cap)
{
	const json_t *payload = json_object_get(seal, "payload");
	const char *kind = json_string_value(json_object_get(payload, "kind"));
	char reason[SEAL_REASON_MAX];

	if (seal_verify(seal, k->pk, reason, sizeof reason)) {
		util_say(why, cap, "does not verify under this key (%s): %s", k->key_id, reason);
		return -EBADMSG;
	}
	if (!kind || (strcmp(kind, "monitor_period") != 0 && strcmp(kind, "monitor_gap") != 0)) {
		util_say(why, cap, "a seal, but not a monitor seal (kind %s)", kind ? kind : "missing");
		return -EBADMSG;
	}
	if (payload_uint(payload, "sequence", 1, &h->sequence) ||
	    payload_uint(json_object_get(payload, "period"), "end_unix_us", 0, &h->end_unix_ns)) {
		util_say(why, cap, "a monitor seal without an integer sequence or period.end_unix_us");
		return -EBADMSG;
	}
	h->end_unix_ns *= 1000;
	return seal_payload_sha256(payload, h->sha256);
}

/*
 * Where the chain stands in one file: *found false when it is missing or
 * empty (after cutting off a torn line that was all it held).  The torn-line
 * rules of sealfile.h live here.
 */
static int last_seal(const char *path, const struct seal_key *k, struct sealfile_head *h,
		     bool *found, char *why, size_t cap)
{
	char *line = NULL, reason[SEAL_REASON_MAX] = "";
	json_t *seal = NULL;
	struct stat st;
	uint64_t start = 0;
	int fd = open(path, O_RDWR | O_CLOEXEC), err = 0;

	*found = false;
	if (fd < 0) {
		err = errno;
		if (err == ENOENT)
			return 0;
		util_say(why, cap, "%s: %s", path, strerror(err));
		return -err;
	}
again:
	if (fstat(fd, &st)) {
		err = -errno;
		goto out;
	}
	if (st.st_size == 0)
		goto out;
	char last;
	if (pread(fd, &last, 1, st.st_size - 1) != 1) {
		err = -EIO;
		goto out;
	}
	bool torn = last != '\n';
	uint64_t end = (uint64_t)st.st_size - (torn ? 0 : 1);
	if ((err = line_start(fd, end, &start)) || (err = read_at(fd, start, (size_t)(end - start), &line))) {
		util_say(why, cap, "%s: last line: %s", path,
			 err == -E2BIG ? "longer than a seal can be" : strerror(-err));
		goto out;
	}
	if (seal_parse(line, (size_t)(end - start), &seal, reason, sizeof reason)) {
		if (!torn) {
			util_say(why, cap, "%s: last line is not a seal: %s", path, reason);
			err = -EBADMSG;
			goto out;
		}
		/* never a whole JSON text: the write died; nobody saw it */
		if (ftruncate(fd, (off_t)start) || fsync(fd)) {
			err = -errno;
			util_say(why, cap, "%s: cutting off a torn last line: %s", path, strerror(errno));
			goto out;
		}
		h->torn_bytes += (size_t)(end - start);
		free(line);
		line = NULL;
		goto again;
	}
	if ((err = head_of(seal, k, h, reason, sizeof reason))) {
		util_say(why, cap, "%s: last line%s: %s", path, torn ? " (no final newline)" : "",
			 reason);
		goto out;
	}
	if (torn) {
		/* whole and valid, only its newline missing: keep it */
		if (pwrite(fd, "\n", 1, st.st_size) != 1 || fsync(fd)) {
			err = -EIO;
			util_say(why, cap, "%s: completing the last line: %s", path, strerror(errno));
			goto out;
		}
		h->completed = true;
	}
	*found = true;
out:
	if (err && err != -EBADMSG && !(why && why[0]))
		util_say(why, cap, "%s: %s", path, strerror(-err));
	json_decref(seal);
	free(line);
	close(fd);
	return err;
}

static int open_file(struct sealfile *f)
{
	struct stat st;
	f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st)) {
		int err = -errno;
		close(f->fd);
		f->fd = -1;
		return err;
	}
	f->size = (uint64_t)st.st_size;
	return 0;
}

static int take_lock(struct sealfile *f, char *why, size_t cap)
{
	char lock[PATH_MAX];
	int n = snprintf(lock, sizeof lock, "%s.lock", f->path);

	if (n < 0 || (size_t)n >= sizeof lock)
		return -ENAMETOOLONG;
	f->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (f->lock_fd < 0 || flock(f->lock_fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		util_say(why, cap, "%s: %s", lock, err == -EBUSY ? "another monitor appends to this "
			 "chain (lock held)" : strerror(-err));
		return err;
	}
	return 0;
}

struct sealfile *sealfile_open(const char *path, const struct seal_key *key, uint64_t max_bytes,
			       unsigned keep, struct sealfile_head *head, char *why, size_t cap)
{
	struct sealfile *f = NULL;
	char one[PATH_MAX];
	bool found = false;
	int err = -EINVAL;

	if (!path || !key || max_bytes < 1 || keep < 1 || strlen(path) + 16 >= PATH_MAX) {
		util_say(why, cap, "sealfile: bad arguments");
		goto out;
	}
	err = -ENOMEM;
	if (!(f = calloc(1, sizeof *f)))
		goto out;
	f->fd = f->lock_fd = -1;
	snprintf(f->path, sizeof f->path, "%s", path);
	f->key = *key;
	f->max_bytes = max_bytes;
	f->keep = keep;
	if ((err = take_lock(f, why, cap)) ||
	    (err = last_seal(path, key, &f->head, &found, why, cap)))
		goto out;
	if (!found && ((err = rotated_name(path, 1, one)) ||
		       (err = last_seal(one, key, &f->head, &found, why, cap))))
		goto out;
	if ((err = open_file(f)))
		util_say(why, cap, "%s: %s", path, strerror(-err));
out:
	if (err) {
		sealfile_close(f);
		errno = -err;
		return NULL;
	}
	if (head)
		*head = f->head;
	return f;
}

/* FILE.(keep−1) .. FILE.1 move up one, FILE becomes FILE.1, a new FILE. */
static int rotate(struct sealfile *f, char *why, size_t cap)
{
	char from[PATH_MAX], to[PATH_MAX];
	int err;

	for (unsigned k = f->keep; k >= 1; k--) {
		if ((err = rotated_name(f->path, k - 1, from)) || (err = rotated_name(f->path, k, to)))
			return err;
		if (rename(from, to) && errno != ENOENT) {
			err = -errno;
			util_say(why, cap, "rotating %s to %s: %s", from, to, strerror(errno));
			return err;
		}
	}
	close(f->fd);
	f->fd = -1;
	if ((err = open_file(f))) {
		util_say(why, cap, "%s: %s", f->path, strerror(-err));
		return err;
	}
	sync_dir(f->path);
	return 0;
}

/* Sets the chain members, signs, and gives the line's text. */
static int sign_line(struct sealfile *f, json_t *payload, char **text, size_t *len,
		     char hex[65], uint64_t *end, char *why, size_t cap)
{
	json_t *seal = NULL;
	int err;

	if (!json_is_object(payload) ||
	    json_object_set_new(payload, "sequence", json_integer((json_int_t)f->head.sequence + 1)) ||
	    json_object_set_new(payload, "prev_seal_sha256", f->head.sequence ?
				json_string(f->head.sha256) : json_null())) {
		util_say(why, cap, "the payload is not an object");
		return -EINVAL;
	}
	json_t *e = json_object_get(json_object_get(payload, "period"), "end_unix_us");
	*end = json_is_integer(e) ? (uint64_t)json_integer_value(e) * 1000 : 0;
	if ((err = seal_sign(&f->key, payload, &seal)) || (err = jcs_serialize(seal, text, len)) ||
	    (err = seal_payload_sha256(payload, hex)))
		util_say(why, cap, "the payload cannot be signed: %s", strerror(-err));
	else if (*len >= SEAL_TEXT_MAX)
		util_say(why, cap, "the seal is longer than SEAL_TEXT_MAX"), err = -E2BIG;
	json_decref(seal);
	return err;
}

int sealfile_append(struct sealfile *f, json_t *payload, char **text, size_t *len,
		    char *why, size_t cap)
{
	char *line = NULL, hex[65];
	size_t n = 0;
	uint64_t end = 0;
	int err;

	if (!f)
		return -EINVAL;
	if ((err = sign_line(f, payload, &line, &n, hex, &end, why, cap)))
		goto out;
	if (f->fd < 0 && (err = open_file(f))) {
		util_say(why, cap, "%s: %s", f->path, strerror(-err));
		goto out;
	}
	if (f->size > 0 && f->size + n + 1 > f->max_bytes && (err = rotate(f, why, cap)))
		goto out;
	line[n] = '\n';    /* over the NUL: one write(2) of the line and its newline */
	ssize_t w = write(f->fd, line, n + 1);
	line[n] = '\0';
	if (w != (ssize_t)(n + 1) || fsync(f->fd)) {
		err = w < 0 || w == (ssize_t)(n + 1) ? -errno : -ENOSPC;
		util_say(why, cap, "%s: writing the seal: %s", f->path, strerror(-err));
		/* nothing of a seal that is not all there, nor one not on disk */
		if (ftruncate(f->fd, (off_t)f->size) == 0)
			fsync(f->fd);
		goto out;
	}
	f->size += n + 1;
	f->head.sequence++;
	memcpy(f->head.sha256, hex, sizeof hex);
	f->head.end_unix_ns = end;
	if (text) {
		*text = line;
		line = NULL;
	}
	if (len)
		*len = n;
out:
	free(line);
	return err;
}

void sealfile_head(const struct sealfile *f, struct sealfile_head *out)
{
	*out = f->head;
}

void sealfile_close(struct sealfile *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	if (f->lock_fd >= 0)
		close(f->lock_fd);
	seal_key_wipe(&f->key);
	free(f);
}
