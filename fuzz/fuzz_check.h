/*
 * fuzz_check.h — what the libFuzzer targets share: the entry points libFuzzer
 * calls, and CHECK, which turns a broken invariant into abort() so libFuzzer
 * reports it as a crash and keeps the input.  Fuzz targets only.
 */
#ifndef JT_FUZZ_CHECK_H
#define JT_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(c)                                                                  \
	do {                                                                      \
		if (!(c)) {                                                       \
			fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c,     \
				__FILE__, __LINE__);                              \
			abort();                                                  \
		}                                                                 \
	} while (0)

#endif
