/* jouletrace-server: the HTTP front end (see api.h, http.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"
#include "cpuset.h"
#include "http.h"
#include "log.h"

int main(int argc, char **argv)
{
	struct jt_config cfg;
	struct http_server *srv = NULL;
	struct api *api = NULL;
	char why[512] = "";
	int ret = 1;

	if (cli_start("jouletrace-server", argc, argv, &cfg, &ret))
		return ret;
	volatile sig_atomic_t *stop = cli_stop_on_signals();
	api = api_new(&cfg, why, sizeof why);
	if (!api) {
		log_error("cannot start: %s", why[0] ? why : strerror(errno));
		goto out;
	}
	/* Off the measurement CPUs before any thread exists: every thread inherits. */
	const struct cpu_layout *lay = api_layout(api);
	char infra[256];
	cpuset_format(&lay->infra, infra, sizeof infra);
	if (cpuset_pin_self(&lay->infra) == 0)
		log_info("pinned to the infra CPUs %s", infra);
	else
		log_warn("cannot pin to the infra CPUs %s: %s", infra, strerror(errno));
	struct http_options ho = {
		.listen = cfg.listen,
		.max_body_bytes = (size_t)cfg.max_body_bytes,
		.threads = (unsigned)cfg.server_threads,
		.max_connections = (unsigned)cfg.max_connections,
		.connection_timeout_s = 30,
	};
	srv = http_start(&ho, api_handle, api);
	if (!srv) {
		log_error("cannot listen on %s: %s", cfg.listen, strerror(errno));
		goto out;
	}
	/* A signal interrupts pause(); the flag says whether it was ours. */
	volatile sig_atomic_t *hup = cli_reload_on_sighup();
	while (!*stop) {
		pause();
		if (*hup) {
			*hup = 0;
			if (api_reload_tokens(api, why, sizeof why) == 0)
				log_info("api tokens reloaded");
			else
				log_error("api tokens not reloaded, the old ones stay: %s", why);
		}
	}
	log_info("shutting down");
	ret = 0;
out:
	api_stop_waiting(api); /* no suspended connection may outlive http_stop */
	http_stop(srv);
	api_free(api);
	config_free(&cfg);
	return ret;
}
