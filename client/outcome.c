/* outcome.c — see outcome.h. */
#include <errno.h>
#include <string.h>

#include "outcome.h"

int client_exit_of_status(const char *status)
{
	if (!status)
		return EXIT_REFUSED;
	if (strcmp(status, "failed") == 0)
		return EXIT_FAILED;
	if (strcmp(status, "cancelled") == 0)
		return EXIT_CANCELLED;
	return EXIT_OK;
}

int client_exit_of_error(int err)
{
	switch (err) {
	case 0: return EXIT_OK;
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ETIMEDOUT: return EXIT_UNREACHABLE;
	case -EINVAL: return EXIT_USAGE;    /* a URL curl cannot use */
	default: return EXIT_REFUSED;
	}
}

int client_exit_of_http(long status)
{
	return status >= 200 && status < 300 ? EXIT_OK : EXIT_REFUSED;
}
