/*
 * jouletrace-verify — check a seal against a pinned public key, or print the
 * RFC 8785 form of any JSON (SPEC §7).
 *
 *   jouletrace-verify --pubkey FILE SEAL.json|-
 *   jouletrace-verify --key-file SEED_FILE SEAL.json|-
 *   jouletrace-verify --canonicalize [FILE|-]        (default: stdin)
 *
 * The key inside the seal is never trusted: without --pubkey or --key-file
 * there is nothing to verify against and the tool refuses.  --pubkey takes
 * base64, hex, or the JSON GET /api/v1/keys serves (every key listed is
 * pinned; the seal's key_id picks one).  SEAL.json may also be a whole
 * GET /api/v1/tasks/{id} reply: its "seal" member is checked.
 *
 * Exit: 0 valid (or canonical form printed), 1 invalid (or not canonicalizable
 * JSON), 2 usage or I/O error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "jcs.h"
#include "log.h"
#include "seal.h"
#include "util.h"

#define EXIT_INVALID 1
#define EXIT_USAGE 2
#define INPUT_MAX (16u << 20)   /* seals are kilobytes; anything this big is not one */
#define MAX_PINNED 64

struct verify_ctx {
	bool canonicalize;
	const char *pubkey_file;
	const char *key_file;
	const char *input;        /* path or "-" */
	unsigned char pinned[MAX_PINNED][SEAL_PK_BYTES];
	size_t npinned;
};

static void usage(FILE *f)
{
	fputs("usage: jouletrace-verify [--pubkey FILE | --key-file FILE] SEAL.json|-\n"
	      "       jouletrace-verify --canonicalize [FILE|-]\n"
	      "  --pubkey FILE     the public key to trust: base64, hex, or the JSON served at\n"
	      "                    GET /api/v1/keys (every key listed is trusted)\n"
	      "  --key-file FILE   derive the public key from the service's seed file (0600)\n"
	      "  --canonicalize    print the RFC 8785 canonical form of the JSON input\n"
	      "exit: 0 valid, 1 invalid, 2 usage or I/O error\n",
	      f);
}

/* A file, or stdin ("-"), with the same cap. */
static int read_input(const char *path, char **data, size_t *len)
{
	if (strcmp(path, "-") == 0)
		return util_read_fd(STDIN_FILENO, INPUT_MAX, data, len);
	return util_read_file(path, INPUT_MAX, data, len);
}

static int canonicalize(const struct verify_ctx *c)
{
	char *text = NULL, *out = NULL, msg[256] = "";
	size_t len = 0, outlen = 0;
	int ret, rc;

	if ((ret = read_input(c->input, &text, &len))) {
		fprintf(stderr, "jouletrace-verify: %s: %s\n", c->input, strerror(-ret));
		return EXIT_USAGE;
	}
	ret = jcs_canonicalize_text(text, len, &out, &outlen, msg, sizeof msg);
	if (ret) {
		fprintf(stderr, "jouletrace-verify: cannot canonicalize: %s\n",
			msg[0] ? msg : strerror(-ret));
		rc = ret == -ENOMEM ? EXIT_USAGE : EXIT_INVALID;
	} else if (fwrite(out, 1, outlen, stdout) != outlen || fflush(stdout) != 0) {
		fprintf(stderr, "jouletrace-verify: write: %s\n", strerror(errno));
		rc = EXIT_USAGE;
	} else {
		rc = EXIT_SUCCESS;
	}
	free(text);
	free(out);
	return rc;
}

static int load_pinned(struct verify_ctx *c)
{
	char *text = NULL, why[512] = "";
	size_t len = 0;
	int ret;

	if (c->pubkey_file) {
		ret = util_read_file(c->pubkey_file, SEAL_PUBKEY_TEXT_MAX, &text, &len);
		if (ret) {
			fprintf(stderr, "jouletrace-verify: %s: %s\n", c->pubkey_file,
				strerror(-ret));
			return -1;
		}
		ret = seal_public_keys_parse(text, len, c->pinned, MAX_PINNED, &c->npinned);
		free(text);
		if (ret) {
			fprintf(stderr, "jouletrace-verify: %s: %s\n", c->pubkey_file,
				ret == -E2BIG ? "too many keys" :
				"not a public key (base64, hex, or GET /api/v1/keys JSON)");
			return -1;
		}
		return 0;
	}
	if (c->key_file) {
		struct seal_key k;
		ret = seal_key_load(c->key_file, &k, why, sizeof why);
		if (ret) {
			fprintf(stderr, "jouletrace-verify: %s\n", why);
			return -1;
		}
		memcpy(c->pinned[0], k.pk, SEAL_PK_BYTES);
		c->npinned = 1;
		seal_key_wipe(&k);
		return 0;
	}
	fputs("jouletrace-verify: no pinned key: pass --pubkey (the public key published at "
	      "GET /api/v1/keys)\n", stderr);
	return -1;
}

/* Prints a payload member: numbers are doubles here (seal_parse); strings get
 * their control characters replaced. */
static void print_field(const char *name, const json_t *v)
{
	if (json_is_number(v)) {
		printf("%s: %.0f\n", name, json_number_value(v));
	} else if (json_is_string(v)) {
		printf("%s: ", name);
		for (const char *p = json_string_value(v); *p; p++)
			putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
		putchar('\n');
	}
}

static int verify(struct verify_ctx *c)
{
	char *text = NULL, reason[SEAL_REASON_MAX] = "", key_id[SEAL_KEY_ID_LEN + 1];
	size_t len = 0;
	json_t *root = NULL;
	const json_t *seal, *payload;
	int ret, rc = EXIT_INVALID;

	if (load_pinned(c))
		return EXIT_USAGE;
	if ((ret = read_input(c->input, &text, &len))) {
		fprintf(stderr, "jouletrace-verify: %s: %s\n", c->input, strerror(-ret));
		return EXIT_USAGE;
	}
	if (seal_parse(text, len, &root, reason, sizeof reason)) {
		printf("invalid: %s\n", reason);
		goto out;
	}
	seal = root;
	if (json_is_object(root) && !json_object_get(root, "payload") &&
	    json_is_object(json_object_get(root, "seal")))
		seal = json_object_get(root, "seal");
	ret = seal_verify_any(seal, (const unsigned char (*)[SEAL_PK_BYTES])c->pinned,
			      c->npinned, key_id, reason, sizeof reason);
	if (ret) {
		printf("invalid: %s\n", reason);
		goto out;
	}
	payload = json_object_get(seal, "payload");
	printf("valid\n");
	printf("key_id: %s\n", key_id);
	print_field("sequence", json_object_get(payload, "sequence"));
	print_field("task_id", json_object_get(payload, "task_id"));
	print_field("issued_at", json_object_get(payload, "issued_at"));
	rc = EXIT_SUCCESS;
out:
	if (fflush(stdout) != 0)
		rc = EXIT_USAGE;
	json_decref(root);
	free(text);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "canonicalize", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verify_ctx *c = calloc(1, sizeof *c);
	int opt, rc;

	if (!c) {
		fputs("jouletrace-verify: out of memory\n", stderr);
		return EXIT_USAGE;
	}
	log_init("jouletrace-verify", LOG_LVL_WARN, LOG_FMT_TEXT);
	while ((opt = getopt_long(argc, argv, "p:k:Ch", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': c->pubkey_file = optarg; break;
		case 'k': c->key_file = optarg; break;
		case 'C': c->canonicalize = true; break;
		case 'h': usage(stdout); free(c); return EXIT_SUCCESS;
		default: usage(stderr); free(c); return EXIT_USAGE;
		}
	}
	if (c->canonicalize) {
		if (argc - optind > 1 || c->pubkey_file || c->key_file) {
			usage(stderr);
			free(c);
			return EXIT_USAGE;
		}
		c->input = optind < argc ? argv[optind] : "-";
		rc = canonicalize(c);
	} else {
		if (argc - optind != 1 || (c->pubkey_file && c->key_file)) {
			usage(stderr);
			free(c);
			return EXIT_USAGE;
		}
		c->input = argv[optind];
		rc = verify(c);
	}
	free(c);
	return rc;
}
