/* gate.c — see gate.h. */
#include "gate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "executor.h"
#include "jsoncmp.h"
#include "util.h"

#define POLL_MS 50
#define SUMMARY_MAX 5   /* failed tests named in error_summary */

static uint64_t deadline_s(long seconds)
{
	return util_mono_ns() + (uint64_t)seconds * 1000000000ull;
}

static int poll_cancel(void *arg)
{
	const struct job_hooks *hk = arg;
	return hk->cancelled ? hk->cancelled(hk->ctx) : 0;
}

int gate_cases_split(const struct measure_request *req, struct gate_cases *c)
{
	size_t i;
	json_t *tc;

	c->inputs = json_array();
	c->expected = json_array();
	c->ids = json_array();
	c->n = 0;
	if (!c->inputs || !c->expected || !c->ids)
		return -ENOMEM;
	json_array_foreach(req->test_cases, i, tc) {
		json_t *id = json_object_get(tc, "test_id");
		if (json_array_append(c->inputs, json_object_get(tc, "inputs")) ||
		    json_array_append(c->expected, json_object_get(tc, "expected_output")) ||
		    json_array_append(c->ids, id ? id : json_null()))
			return -ENOMEM;
		c->n++;
	}
	return 0;
}

void gate_cases_free(struct gate_cases *c)
{
	json_decref(c->inputs);
	json_decref(c->expected);
	json_decref(c->ids);
	memset(c, 0, sizeof *c);
}

static void exec_opts(const struct job_env *env, const struct measure_request *req,
		      const struct cpuset *cpus, struct exec_options *o)
{
	const struct jt_config *cfg = env->cfg;
	memset(o, 0, sizeof *o);
	o->python = cfg->python;
	o->harness_path = cfg->harness_path;
	o->cpus = *cpus;
	o->memory_limit_mb = req->memory_limit_mb;
	/* CPU time covers every message the harness answers, each bounded by timeout. */
	o->cpu_seconds = req->timeout_seconds *
			 (req->energy_measurement_trials + req->warmup_trials + 4);
	o->max_processes = cfg->sandbox_max_processes;
	o->max_file_bytes = cfg->sandbox_max_file_bytes;
	o->max_open_files = cfg->sandbox_max_open_files;
	o->max_output_bytes = (size_t)cfg->max_output_bytes;
	o->max_message_bytes = (size_t)cfg->max_harness_message_bytes;
	o->tmp_parent = "/tmp";
	o->sandbox_user = cfg->sandbox_user;
	o->sandbox_mandatory = cfg->sandbox_mandatory;
	o->sandbox_tmpfs_mb = cfg->sandbox_tmpfs_mb;
}

int gate_spawn_loaded(const struct job_env *env, const struct measure_request *req,
		      const struct gate_cases *c, const struct cpuset *cpus,
		      const struct job_hooks *hk, struct harness **hp, struct candidate_error *e)
{
	struct exec_options o;
	struct sandbox_report rep;
	json_t *reply = NULL;
	int err;

	exec_opts(env, req, cpus, &o);
	o.report = &rep;
	*hp = harness_spawn(&o);
	if (!*hp && errno == ENOTSUP) {
		/* A mandatory sandbox control is missing on this host: never run it. */
		char why[400];
		sandbox_report_missing(&rep, rep.mandatory, why, sizeof why);
		return candidate_fail(e, -ENOTSUP, "internal", "refusing to run the candidate: "
				  "mandatory sandbox controls missing: %s", why);
	}
	if (!*hp)
		return candidate_fail(e, -errno, "internal", "cannot start the harness: %s",
				  strerror(errno));
	err = proto_send(*hp, json_pack("{s:s, s:s, s:s, s:O}", "cmd", "load", "code",
					req->candidate_code, "function_name", req->function_name,
					"inputs", c->inputs), e);
	if (err)
		return err;
	err = proto_recv(*hp, deadline_s(req->timeout_seconds), POLL_MS, poll_cancel,
			 (void *)hk, &reply, e);
	if (err)
		return err;
	if (json_is_false(json_object_get(reply, "ok")))
		err = proto_candidate_error(reply, e);
	else if (!json_is_true(json_object_get(reply, "ok")) ||
		 json_integer_value(json_object_get(reply, "n")) != (json_int_t)c->n)
		err = candidate_fail(e, -EPROTO, "tampering_suspected",
				 "the candidate process answered out of turn while loading");
	json_decref(reply);
	return err;
}

/* error_summary: the first failed tests, "id: error" or "id: expected X, got Y". */
static void summarize_failures(json_t *results, char *summary, size_t cap)
{
	size_t n = 0, shown = 0, idx;
	json_t *t;

	json_array_foreach(results, idx, t) {
		if (json_is_true(json_object_get(t, "passed")) || shown++ >= SUMMARY_MAX)
			continue;
		const char *id = json_string_value(json_object_get(t, "test_id"));
		const char *er = json_string_value(json_object_get(t, "error"));
		char *exp = json_dumps(json_object_get(t, "expected"), JSON_COMPACT | JSON_ENCODE_ANY);
		char *act = json_dumps(json_object_get(t, "actual"), JSON_COMPACT | JSON_ENCODE_ANY);
		n += (size_t)snprintf(summary + n, n < cap ? cap - n : 0,
			"%s%s: %s%.80s%s%.80s", n ? "; " : "", id ? id : "?",
			er ? er : "expected ", er ? "" : (exp ? exp : "?"),
			er ? "" : ", got ", er ? "" : (act ? act : "?"));
		free(exp);
		free(act);
		if (n >= cap)
			n = cap - 1;
	}
}

/* JouleTrace's validation object. */
static json_t *validation_json(json_t *results, size_t passed, size_t total,
			       const char *load_error)
{
	char summary[1024] = "";
	if (load_error)
		snprintf(summary, sizeof summary, "%s", load_error);
	else
		summarize_failures(results, summary, sizeof summary);
	return json_pack("{s:b, s:I, s:I, s:f, s:s?, s:O}",
			 "is_correct", !load_error && total > 0 && passed == total,
			 "passed_tests", (json_int_t)passed, "total_tests", (json_int_t)total,
			 "pass_rate", total > 0 ? 100.0 * (double)passed / (double)total : 0.0,
			 "error_summary", summary[0] ? summary : NULL,
			 "test_results", results);
}

/* One test's entry of test_results, judged here from the candidate's OUT record. */
static json_t *test_result(const json_t *line, const json_t *expected, const json_t *id,
			   size_t budget, bool *passed)
{
	json_t *out = json_object_get(line, "out");
	json_t *value = json_object_get(out, "value");
	const char *error = json_string_value(json_object_get(out, "error"));
	const char *etype = json_string_value(json_object_get(out, "error_type"));
	char why[160];

	*passed = false;
	if (error) {
		etype = etype && strcmp(etype, "memory_limit") == 0 ? etype : "runtime_error";
	} else if (value) {
		*passed = jsoncmp_equal(value, expected);
	} else if (json_object_get(out, "too_large")) {
		snprintf(why, sizeof why, "the output (%lld bytes of JSON) is over the size limit",
			 (long long)json_integer_value(json_object_get(out, "too_large")));
		error = why, etype = "runtime_error";
	} else {
		const char *text = json_string_value(json_object_get(out, "not_json"));
		snprintf(why, sizeof why, "output is not JSON-serializable: %.120s", text ? text : "?");
		error = why, etype = "runtime_error";
	}
	return json_pack("{s:O, s:b, s:o, s:o, s:s?, s:s?, s:O?, s:O?}",
			 "test_id", id, "passed", *passed,
			 "expected", jsoncmp_shown((json_t *)expected, budget),
			 "actual", value ? jsoncmp_shown(value, budget) : json_null(),
			 "error", error, "error_type", error ? etype : NULL,
			 "seconds", json_object_get(line, "seconds"),
			 "mutated_inputs", json_object_get(line, "mutated_inputs"));
}

/* The "call" command: n result lines, then {"ok":true}.  0 with *results. */
static int call_all(struct harness *h, const struct measure_request *req,
		    const struct gate_cases *c, const struct job_hooks *hk, size_t budget,
		    json_t *results, size_t *passed, struct candidate_error *e)
{
	json_t *line = NULL;
	int err = proto_send(h, json_pack("{s:s}", "cmd", "call"), e);
	/* timeout_seconds bounds the whole validation run (SPEC §4). */
	uint64_t dl = deadline_s(req->timeout_seconds);

	for (size_t i = 0; !err && i <= c->n; i++) {
		if ((err = proto_recv(h, dl, POLL_MS, poll_cancel, (void *)hk, &line, e)))
			break;
		if (i == c->n ? !json_is_true(json_object_get(line, "ok"))
			      : json_integer_value(json_object_get(line, "i")) != (json_int_t)i ||
				!json_is_object(json_object_get(line, "out"))) {
			err = json_is_false(json_object_get(line, "ok")) ?
				proto_candidate_error(line, e) :
				candidate_fail(e, -EPROTO, "tampering_suspected", "the candidate process "
					   "answered out of turn in the correctness gate");
		} else if (i < c->n) {
			bool ok;
			json_array_append_new(results, test_result(line, json_array_get(c->expected, i),
					json_array_get(c->ids, i), budget, &ok));
			*passed += ok;
		}
		json_decref(line);
		line = NULL;
	}
	return err;
}

int gate_run(const struct job_env *env, const struct measure_request *req,
	     const struct gate_cases *c, const struct job_hooks *hk, const struct cpuset *cpus,
	     struct job_outcome *out, json_t **validation)
{
	struct harness *h = NULL;
	struct candidate_error e = { 0 };
	json_t *results = json_array();
	size_t passed = 0;
	/* each shown value gets an equal share of one harness message's worth */
	size_t msg = (size_t)env->cfg->max_harness_message_bytes;
	size_t budget = msg > 65536 ? (msg - 65536) / (2 * c->n + 2) : 1024;
	int err;

	*validation = NULL;
	err = gate_spawn_loaded(env, req, c, cpus, hk, &h, &e);
	if (err == -EPROTO && strcmp(e.type, "tampering_suspected") != 0) {
		/* The code did not load (syntax error, no such function): it fails the gate. */
		*validation = validation_json(results, 0, c->n, e.message);
		snprintf(out->error_type, sizeof out->error_type, "validation_failed");
		snprintf(out->error_message, sizeof out->error_message, "%s", e.message);
		err = 0;
		goto out;
	}
	if (!err)
		err = call_all(h, req, c, hk, budget < 1024 ? 1024 : budget, results, &passed, &e);
	if (err) {
		snprintf(out->error_type, sizeof out->error_type, "%s", e.type);
		snprintf(out->error_message, sizeof out->error_message, "%s", e.message);
		goto out;
	}
	*validation = validation_json(results, passed, c->n, NULL);
	if (passed != c->n) {
		const char *s = json_string_value(json_object_get(*validation, "error_summary"));
		snprintf(out->error_type, sizeof out->error_type, "validation_failed");
		snprintf(out->error_message, sizeof out->error_message, "%zu of %zu tests failed: %s",
			 c->n - passed, c->n, s ? s : "");
	}
out:
	json_decref(results);
	harness_free(h);
	return err;
}
