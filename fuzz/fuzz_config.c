/*
 * fuzz_config — the configuration file's text (lib/core/config.c through
 * config_load_text, the same parser config_load runs on a file's bytes).
 *
 * Invariants (abort() on violation):
 * * 0, or -EINVAL/-EFBIG/-ENOMEM with an error message that names the source;
 * * a text that loads dumps (config_dump) to a text that loads again and dumps
 *   to the same bytes: --print-config output is itself a valid config file
 *   meaning the same thing.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "config.h"
#include "log.h"

#define DUMP_CAP (1024 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_config", LOG_LVL_ERROR, LOG_FMT_TEXT);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dump1[DUMP_CAP], dump2[DUMP_CAP];
	struct jt_config cfg, again;
	struct config_error err;

	int ret = config_load_text(&cfg, "fuzz.conf", (const char *)data, size, &err);
	if (ret) {
		CHECK(ret == -EINVAL || ret == -EFBIG || ret == -ENOMEM || ret == -ERANGE);
		CHECK(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof err.msg));
		return 0;
	}
	CHECK(config_dump(&cfg, dump1, sizeof dump1) >= 0);
	ret = config_load_text(&again, "dump", dump1, strlen(dump1), &err);
	if (ret)
		fprintf(stderr, "the dump does not load: %s\n--- dump:\n%s\n", err.msg, dump1);
	CHECK(ret == 0);
	CHECK(config_dump(&again, dump2, sizeof dump2) >= 0);
	if (strcmp(dump1, dump2) != 0)
		fprintf(stderr, "--- first dump:\n%s\n--- second:\n%s\n", dump1, dump2);
	CHECK(strcmp(dump1, dump2) == 0);
	config_free(&again);
	config_free(&cfg);
	return 0;
}
