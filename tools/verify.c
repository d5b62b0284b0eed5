/*
 * jouletrace-verify — check a seal against a pinned public key, or print the
 * RFC 8785 form of any JSON (SPEC §7).
 *
 *   jouletrace-verify --pubkey FILE SEAL.json|-
 *   jouletrace-verify --key-file SEED_FILE SEAL.json|-
 *   jouletrace-verify --canonicalize [FILE|-]        (default: stdin)
 *   jouletrace-verify --chain (--pubkey F | --key-file F) FILE [FILE...]
 *
 * The key inside the seal is never trusted: without --pubkey or --key-file
 * there is nothing to verify against and the tool refuses.  --pubkey takes
 * base64, hex, or the JSON GET /api/v1/keys serves (every key listed is
 * pinned; the seal's key_id picks one).  SEAL.json may also be a whole
 * GET /api/v1/tasks/{id} reply: its "seal" member is checked.  --chain checks
 * the host monitor's seal files, oldest first (FILE.3 FILE.2 FILE.1 FILE):
 * lib/seal/chaincheck.h says what; one line per problem, then a summary.
 *
 * Exit: 0 valid (or canonical form printed, or the whole chain good), 1 invalid
 * (or not canonicalizable JSON, or any problem in the chain), 2 usage or I/O
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "chaincheck.h"
#include "jcs.h"
#include "log.h"
#include "sealcheck.h"
#include "util.h"

#define EXIT_INVALID 1
#define EXIT_USAGE 2
#define INPUT_MAX (16u << 20)   /* seals are kilobytes; anything this big is not one */

struct verify_ctx {
	bool canonicalize;
	bool chain;
	const char *pubkey_file;
	const char *key_file;
	const char *input;        /* path or "-" */
	struct sealcheck_keys keys;
};

static void usage(FILE *f)
{
	fputs("usage: jouletrace-verify [--pubkey FILE | --key-file FILE] SEAL.json|-\n"
	      "       jouletrace-verify --chain [--pubkey FILE | --key-file FILE] SEALS.jsonl...\n"
	      "       jouletrace-verify --canonicalize [FILE|-]\n"
	      "  --pubkey FILE     the public key to trust: base64, hex, or the JSON served at\n"
	      "                    GET /api/v1/keys (every key listed is trusted)\n"
	      "  --key-file FILE   derive the public key from the service's seed file (0600)\n"
	      "  --chain           check the host monitor's seal files as one chain, oldest\n"
	      "                    first (FILE.2 FILE.1 FILE): signatures, sequence, hashes,\n"
	      "                    time without gaps, conservation; a line per problem\n"
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

static int verify(struct verify_ctx *c)
{
	char *text = NULL, why[512] = "";
	size_t len = 0;
	struct sealcheck_result r;
	int ret, rc;

	if (sealcheck_keys_load(c->pubkey_file, c->key_file, &c->keys, why, sizeof why)) {
		fprintf(stderr, "jouletrace-verify: %s\n", why);
		return EXIT_USAGE;
	}
	if ((ret = read_input(c->input, &text, &len))) {
		fprintf(stderr, "jouletrace-verify: %s: %s\n", c->input, strerror(-ret));
		return EXIT_USAGE;
	}
	sealcheck_text(text, len, &c->keys, &r);
	sealcheck_print(stdout, &r);
	rc = r.valid ? EXIT_SUCCESS : EXIT_INVALID;
	if (fflush(stdout) != 0)
		rc = EXIT_USAGE;
	sealcheck_result_free(&r);
	free(text);
	return rc;
}

static int verify_chain(struct verify_ctx *c, char **files, int n)
{
	char why[512] = "";
	struct chaincheck *cc;
	int rc = EXIT_SUCCESS;

	if (sealcheck_keys_load(c->pubkey_file, c->key_file, &c->keys, why, sizeof why)) {
		fprintf(stderr, "jouletrace-verify: %s\n", why);
		return EXIT_USAGE;
	}
	if (!(cc = chaincheck_new(&c->keys, stdout))) {
		fputs("jouletrace-verify: out of memory\n", stderr);
		return EXIT_USAGE;
	}
	for (int i = 0; i < n; i++)
		if (chaincheck_file(cc, files[i]))
			rc = EXIT_USAGE;    /* unreadable: reported, the rest still checked */
	if (chaincheck_finish(cc) && rc == EXIT_SUCCESS)
		rc = EXIT_INVALID;
	if (fflush(stdout) != 0)
		rc = EXIT_USAGE;
	chaincheck_free(cc);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "canonicalize", no_argument, NULL, 'C' },
		{ "chain", no_argument, NULL, 'c' },
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
	while ((opt = getopt_long(argc, argv, "p:k:Cch", opts, NULL)) != -1) {
		switch (opt) {
		case 'p': c->pubkey_file = optarg; break;
		case 'k': c->key_file = optarg; break;
		case 'C': c->canonicalize = true; break;
		case 'c': c->chain = true; break;
		case 'h': usage(stdout); free(c); return EXIT_SUCCESS;
		default: usage(stderr); free(c); return EXIT_USAGE;
		}
	}
	if (c->chain) {
		if (argc - optind < 1 || c->canonicalize || (c->pubkey_file && c->key_file)) {
			usage(stderr);
			free(c);
			return EXIT_USAGE;
		}
		rc = verify_chain(c, argv + optind, argc - optind);
	} else if (c->canonicalize) {
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
