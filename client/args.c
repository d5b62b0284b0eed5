/* args.c — see args.h. */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "args.h"
#include "util.h"

static const char usage_text[] =
	"usage: jouletrace [--server URL] [--token TOKEN] [--json] COMMAND ...\n"
	"  submit FILE.py --tests TESTS.json [--function NAME] [--trials N] [--wait]\n"
	"         [--candidate-id ID] [--problem NAME]\n"
	"                       queue a measurement; --wait shows its progress and result\n"
	"  status ID            the task's state (its result table when completed)\n"
	"  cancel ID            cancel a queued or running task\n"
	"  verify SEAL.json|- [--pubkey FILE]\n"
	"                       check a seal (or a task's JSON) against pinned keys, as\n"
	"                       jouletrace-verify does; without --pubkey the keys the\n"
	"                       server publishes at GET /api/v1/keys are pinned\n"
	"  compare ID1 ID2 ...  energy per call side by side, which differences are\n"
	"                       significant (Welch's t-test, Holm-adjusted, alpha 0.05)\n"
	"options:\n"
	"  --server URL         the service (env JOULETRACE_URL; default " CLIENT_DEFAULT_URL ")\n"
	"  --token TOKEN        API token (env JOULETRACE_TOKEN is better: argv shows in ps)\n"
	"  --json               machine-readable output on stdout\n"
	"exit codes:\n"
	"  0  completed / ok (submit without --wait: queued; compare: all compared)\n"
	"  1  the task failed; verify: the seal is invalid; compare: a task not comparable\n"
	"  2  usage error (bad arguments, unreadable or bad FILE/TESTS)\n"
	"  3  the task was cancelled\n"
	"  4  server unreachable (connect, DNS, timeout)\n"
	"  5  the server refused (HTTP 4xx/5xx; its error message is printed)\n"
	"  130 --wait interrupted by Ctrl-C: polling stops, the task goes on\n";

const char *client_usage(void)
{
	return usage_text;
}

static const struct {
	const char *name;
	enum client_cmd cmd;
	size_t min, max;           /* positional arguments after the command */
} cmds[] = {
	{ "submit", CMD_SUBMIT, 1, 1 },
	{ "status", CMD_STATUS, 1, 1 },
	{ "cancel", CMD_CANCEL, 1, 1 },
	{ "verify", CMD_VERIFY, 1, 1 },
	{ "compare", CMD_COMPARE, 2, CLIENT_MAX_IDS },
};

enum { O_SERVER = 256, O_TOKEN, O_JSON, O_WAIT, O_FUNCTION, O_TESTS, O_TRIALS, O_PUBKEY,
       O_CANDIDATE, O_PROBLEM, O_HELP };

static int set_trials(struct client_args *a, const char *v, char *why, size_t cap)
{
	long long n;
	if (util_parse_i64(v, &n) || n < 1 || n > 50) {
		util_say(why, cap, "--trials must be 1..50, not '%.32s'", v);
		return -EINVAL;
	}
	a->trials = (int)n;
	return 0;
}

/* Options only some commands take. */
static int check_options(const struct client_args *a, char *why, size_t cap)
{
	bool submit = a->cmd == CMD_SUBMIT;
	if (!submit && (a->wait || a->tests || a->trials || a->candidate_id || a->problem_name ||
			strcmp(a->function, "solve") != 0)) {
		util_say(why, cap, "--wait, --tests, --function, --trials, --candidate-id and "
			 "--problem go with submit");
		return -EINVAL;
	}
	if (a->pubkey && a->cmd != CMD_VERIFY) {
		util_say(why, cap, "--pubkey goes with verify");
		return -EINVAL;
	}
	if (submit && !a->tests) {
		util_say(why, cap, "submit needs --tests TESTS.json");
		return -EINVAL;
	}
	return 0;
}

static int positional(struct client_args *a, int n, char **rest, char *why, size_t cap)
{
	size_t i;

	if (n == 0) {
		a->cmd = CMD_HELP;
		util_say(why, cap, "no command given");
		return -EINVAL;
	}
	for (i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		if (strcmp(rest[0], cmds[i].name) == 0)
			break;
	if (i == sizeof cmds / sizeof cmds[0]) {
		util_say(why, cap, "unknown command '%.32s'", rest[0]);
		return -EINVAL;
	}
	a->cmd = cmds[i].cmd;
	size_t args = (size_t)n - 1;
	if (args < cmds[i].min || args > cmds[i].max) {
		util_say(why, cap, "%s takes %s", cmds[i].name,
			 a->cmd == CMD_COMPARE ? "2 to 20 task ids" :
			 a->cmd == CMD_SUBMIT ? "one FILE.py" :
			 a->cmd == CMD_VERIFY ? "one SEAL.json (or -)" : "one task id");
		return -EINVAL;
	}
	if (a->cmd == CMD_SUBMIT || a->cmd == CMD_VERIFY)
		a->file = rest[1];
	else
		for (size_t k = 0; k < args; k++)
			a->ids[a->nids++] = rest[1 + k];
	return 0;
}

int client_args_parse(int argc, char **argv, const char *env_url, const char *env_token,
		      struct client_args *a, char *why, size_t cap)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, O_SERVER },
		{ "token", required_argument, NULL, O_TOKEN },
		{ "json", no_argument, NULL, O_JSON },
		{ "wait", no_argument, NULL, O_WAIT },
		{ "function", required_argument, NULL, O_FUNCTION },
		{ "tests", required_argument, NULL, O_TESTS },
		{ "trials", required_argument, NULL, O_TRIALS },
		{ "pubkey", required_argument, NULL, O_PUBKEY },
		{ "candidate-id", required_argument, NULL, O_CANDIDATE },
		{ "problem", required_argument, NULL, O_PROBLEM },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	memset(a, 0, sizeof *a);
	a->server = env_url && *env_url ? env_url : CLIENT_DEFAULT_URL;
	a->token = env_token && *env_token ? env_token : NULL;
	a->function = "solve";
	optind = 0;      /* GNU: start afresh (a second parse in one process) */
	opterr = 0;      /* the reason goes to why */
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case O_SERVER: a->server = optarg; break;
		case O_TOKEN: a->token = *optarg ? optarg : NULL; break;
		case O_JSON: a->json = true; break;
		case O_WAIT: a->wait = true; break;
		case O_FUNCTION: a->function = optarg; break;
		case O_TESTS: a->tests = optarg; break;
		case O_TRIALS:
			if (set_trials(a, optarg, why, cap))
				return -EINVAL;
			break;
		case O_PUBKEY: a->pubkey = optarg; break;
		case O_CANDIDATE: a->candidate_id = optarg; break;
		case O_PROBLEM: a->problem_name = optarg; break;
		case 'h':
		case O_HELP: a->cmd = CMD_HELP; return 0;
		case ':':
			util_say(why, cap, "%.64s needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			util_say(why, cap, "unknown option '%.64s'", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (!*a->server) {
		util_say(why, cap, "--server is empty");
		return -EINVAL;
	}
	int ret = positional(a, argc - optind, argv + optind, why, cap);
	return ret ? ret : check_options(a, why, cap);
}
