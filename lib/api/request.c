/* request.c — see request.h. */
#include "request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Error sink: counts every error, stores the first REQUEST_MAX_FIELD_ERRORS. */
struct sink {
	struct request_errors *errs; /* may be NULL */
	size_t total;
	char first[sizeof(((struct field_error *)0)->field) +
		   sizeof(((struct field_error *)0)->message) + 4];
};

static void add_err(struct sink *s, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_err(struct sink *s, const char *field, const char *fmt, ...)
{
	char message[sizeof(((struct field_error *)0)->message)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	if (s->total++ == 0)
		snprintf(s->first, sizeof s->first, "%s%s%s", field, *field ? ": " : "",
			 message);
	if (!s->errs)
		return;
	if (s->errs->n >= REQUEST_MAX_FIELD_ERRORS) {
		s->errs->dropped++;
		return;
	}
	struct field_error *fe = &s->errs->items[s->errs->n++];
	snprintf(fe->field, sizeof fe->field, "%s", field);
	memcpy(fe->message, message, sizeof fe->message);
}

/*
 * Copies at most max bytes of client text, cut back to a UTF-8 boundary so a
 * truncated quote is still valid UTF-8 (the error body is JSON), with "..."
 * marking the cut.
 */
static const char *clip(char *dst, size_t cap, const char *src, size_t max)
{
	size_t n = strlen(src);
	bool cut = false;

	if (max + 4 > cap)
		max = cap - 4;
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
		cut = true;
	}
	memcpy(dst, src, n);
	if (cut)
		memcpy(dst + n, "...", sizeof "...");   /* with its NUL: room kept above */
	else
		dst[n] = '\0';
	return dst;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "real number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

/* "got 301" for numbers, "got string" for everything else. */
static const char *describe(char *buf, size_t cap, const json_t *v)
{
	if (json_is_integer(v))
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, cap, "%.17g", json_real_value(v));
	else
		snprintf(buf, cap, "%s", type_name(v));
	return buf;
}

static bool too_deep(const json_t *v, int depth)
{
	if (!json_is_object(v) && !json_is_array(v))
		return false;
	if (++depth > REQUEST_MAX_DEPTH)
		return true;
	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e)
			if (too_deep(e, depth))
				return true;
	} else {
		const char *k;
		json_t *e;
		json_object_foreach((json_t *)v, k, e)
			if (too_deep(e, depth))
				return true;
	}
	return false;
}

static bool known(const char *key, const char *const *names)
{
	for (; *names; names++)
		if (strcmp(key, *names) == 0)
			return true;
	return false;
}

static void check_unknown(struct sink *s, json_t *obj, const char *prefix,
			  const char *const *names)
{
	const char *k;
	json_t *v;
	char field[128], kc[96];

	json_object_foreach(obj, k, v) {
		if (known(k, names))
			continue;
		snprintf(field, sizeof field, "%s%s%s", prefix, *prefix ? "." : "",
			 clip(kc, sizeof kc, k, 80));
		add_err(s, field, "unknown field");
	}
}

/* Integer field: absent → def; anything but an in-range JSON integer is an error. */
static bool get_int(struct sink *s, json_t *root, const char *key, long lo, long hi,
		    long def, long *out)
{
	json_t *v = json_object_get(root, key);
	char got[48];

	*out = def;
	if (!v)
		return true;
	if (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi) {
		*out = (long)json_integer_value(v);
		return true;
	}
	add_err(s, key, "must be an integer between %ld and %ld, got %s", lo, hi,
		describe(got, sizeof got, v));
	return false;
}

static bool get_num(struct sink *s, json_t *root, const char *key, double lo, double hi,
		    double def, double *out)
{
	json_t *v = json_object_get(root, key);
	char got[48];

	*out = def;
	if (!v)
		return true;
	if (json_is_number(v) && json_number_value(v) >= lo && json_number_value(v) <= hi) {
		*out = json_number_value(v);
		return true;
	}
	add_err(s, key, "must be a number between %g and %g, got %s", lo, hi,
		describe(got, sizeof got, v));
	return false;
}

/* Optional string or null, at most max bytes; *out stays NULL when null/absent. */
static int get_opt_str(struct sink *s, json_t *root, const char *key, size_t max,
		       char **out)
{
	json_t *v = json_object_get(root, key);
	char got[48];

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		add_err(s, key, "must be a string or null, got %s", describe(got, sizeof got, v));
		return 0;
	}
	if (json_string_length(v) > max) {
		add_err(s, key, "must be at most %zu bytes, got %zu", max, json_string_length(v));
		return 0;
	}
	*out = strdup(json_string_value(v));
	return *out ? 0 : -ENOMEM;
}

static const char *const py_keywords[] = {
	"False", "None", "True", "and", "as", "assert", "async", "await", "break",
	"class", "continue", "def", "del", "elif", "else", "except", "finally", "for",
	"from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or",
	"pass", "raise", "return", "try", "while", "with", "yield", NULL
};

static bool is_py_identifier(const char *p, size_t len)
{
	if (len == 0 || len > REQUEST_MAX_FUNC_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return !known(p, py_keywords);
}

struct id_ref {
	const char *id;
	size_t len, idx;
};

static int id_cmp(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->id, y->id, n);
	if (c)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static bool valid_test_id(const json_t *id)
{
	return json_is_string(id) && json_string_length(id) > 0 &&
	       json_string_length(id) <= REQUEST_MAX_ID_BYTES;
}

/*
 * dup_of[i] = index of the first test case with the same test_id, or SIZE_MAX.
 * Sorting keeps the check O(n log n) however the ids are crafted.
 */
static int find_duplicates(json_t *tests, size_t n, size_t *dup_of)
{
	struct id_ref *refs = calloc(n ? n : 1, sizeof *refs);
	size_t m = 0;

	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		dup_of[i] = SIZE_MAX;
		json_t *id = json_object_get(json_array_get(tests, i), "test_id");
		if (valid_test_id(id))
			refs[m++] = (struct id_ref){ json_string_value(id), json_string_length(id), i };
	}
	qsort(refs, m, sizeof *refs, id_cmp);
	for (size_t i = 1, first = 0; i < m; i++) {
		if (refs[i].len == refs[first].len &&
		    memcmp(refs[i].id, refs[first].id, refs[i].len) == 0)
			dup_of[refs[i].idx] = refs[first].idx;
		else
			first = i;
	}
	free(refs);
	return 0;
}

static const char *const test_fields[] = {
	"test_id", "inputs", "expected_output", "metadata", NULL
};

static void check_test_case(struct sink *s, json_t *tc, size_t i, size_t dup_first)
{
	char prefix[48], field[128], got[48], idc[80];
	json_t *v;

	snprintf(prefix, sizeof prefix, "test_cases[%zu]", i);
	if (!json_is_object(tc)) {
		add_err(s, prefix,
			"must be an object with test_id, inputs and expected_output, got %s",
			describe(got, sizeof got, tc));
		return;
	}
	check_unknown(s, tc, prefix, test_fields);

	snprintf(field, sizeof field, "%s.test_id", prefix);
	v = json_object_get(tc, "test_id");
	if (!v)
		add_err(s, field, "is required");
	else if (!json_is_string(v))
		add_err(s, field, "must be a string, got %s", describe(got, sizeof got, v));
	else if (json_string_length(v) == 0)
		add_err(s, field, "must not be empty");
	else if (json_string_length(v) > REQUEST_MAX_ID_BYTES)
		add_err(s, field, "must be at most %u bytes, got %zu", REQUEST_MAX_ID_BYTES,
			json_string_length(v));
	else if (dup_first != SIZE_MAX)
		add_err(s, field, "duplicate test_id \"%s\" (first used by test_cases[%zu])",
			clip(idc, sizeof idc, json_string_value(v), 64), dup_first);

	static const char *const required_any[] = { "inputs", "expected_output" };
	for (size_t k = 0; k < 2; k++) {
		snprintf(field, sizeof field, "%s.%s", prefix, required_any[k]);
		v = json_object_get(tc, required_any[k]);
		if (!v)
			add_err(s, field, "is required (any JSON value)");
		else if (too_deep(v, 0))
			add_err(s, field, "nests deeper than %d levels", REQUEST_MAX_DEPTH);
	}

	snprintf(field, sizeof field, "%s.metadata", prefix);
	v = json_object_get(tc, "metadata");
	if (v && !json_is_null(v) && !json_is_object(v))
		add_err(s, field, "must be an object or null, got %s", describe(got, sizeof got, v));
	else if (v && too_deep(v, 0))
		add_err(s, field, "nests deeper than %d levels", REQUEST_MAX_DEPTH);
}

static int check_test_cases(struct sink *s, json_t *root, struct measure_request *r)
{
	json_t *tests = json_object_get(root, "test_cases");
	char got[48];
	size_t n, *dup_of;

	if (!tests) {
		add_err(s, "test_cases", "is required");
		return 0;
	}
	if (!json_is_array(tests)) {
		add_err(s, "test_cases", "must be an array of test case objects, got %s",
			describe(got, sizeof got, tests));
		return 0;
	}
	n = json_array_size(tests);
	if (n < 1 || n > REQUEST_MAX_TESTS) {
		add_err(s, "test_cases", "must hold between 1 and %u test cases, got %zu",
			REQUEST_MAX_TESTS, n);
		return 0;
	}
	dup_of = malloc(n * sizeof *dup_of);
	if (!dup_of || find_duplicates(tests, n, dup_of)) {
		free(dup_of);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		check_test_case(s, json_array_get(tests, i), i, dup_of[i]);
	free(dup_of);
	r->test_cases = json_incref(tests);
	r->n_tests = n;
	return 0;
}

static const char *const top_fields[] = {
	"candidate_code", "function_name", "test_cases", "language", "timeout_seconds",
	"memory_limit_mb", "energy_measurement_trials", "min_trials", "target_cv_percent",
	"warmup_trials", "min_trial_seconds", "cpu_core", "candidate_id", "problem_name",
	NULL
};

static int check_strings(struct sink *s, json_t *root, struct measure_request *r)
{
	char got[48], fc[160];
	json_t *v;

	v = json_object_get(root, "candidate_code");
	if (!v)
		add_err(s, "candidate_code", "is required");
	else if (!json_is_string(v))
		add_err(s, "candidate_code", "must be a string, got %s",
			describe(got, sizeof got, v));
	else if (json_string_length(v) == 0)
		add_err(s, "candidate_code", "must not be empty");
	else if (json_string_length(v) > REQUEST_MAX_CODE_BYTES)
		add_err(s, "candidate_code", "must be at most %u bytes, got %zu",
			REQUEST_MAX_CODE_BYTES, json_string_length(v));
	else if (!(r->candidate_code = strdup(json_string_value(v))))
		return -ENOMEM;

	const char *fn = "solve";
	v = json_object_get(root, "function_name");
	if (v && !json_is_string(v)) {
		add_err(s, "function_name", "must be a string, got %s",
			describe(got, sizeof got, v));
		fn = NULL;
	} else if (v && !is_py_identifier(json_string_value(v), json_string_length(v))) {
		add_err(s, "function_name",
			"must be a Python identifier (ASCII letters, digits, '_', not starting "
			"with a digit, at most %u chars, not a keyword), got \"%s\"",
			REQUEST_MAX_FUNC_NAME, clip(fc, sizeof fc, json_string_value(v), 48));
		fn = NULL;
	} else if (v) {
		fn = json_string_value(v);
	}
	if (fn && !(r->function_name = strdup(fn)))
		return -ENOMEM;

	v = json_object_get(root, "language");
	if (v && !(json_is_string(v) && strcmp(json_string_value(v), "python") == 0)) {
		if (json_is_string(v))
			add_err(s, "language",
				"must be \"python\" (the only supported language), got \"%s\"",
				clip(fc, sizeof fc, json_string_value(v), 48));
		else
			add_err(s, "language",
				"must be \"python\" (the only supported language), got %s",
				describe(got, sizeof got, v));
	} else if (!(r->language = strdup("python"))) {
		return -ENOMEM;
	}

	int rc = get_opt_str(s, root, "candidate_id", REQUEST_MAX_ID_BYTES, &r->candidate_id);
	if (!rc)
		rc = get_opt_str(s, root, "problem_name", REQUEST_MAX_ID_BYTES, &r->problem_name);
	return rc;
}

static void check_numbers(struct sink *s, json_t *root, struct measure_request *r)
{
	char got[48];
	json_t *v;

	get_int(s, root, "timeout_seconds", 1, 300, 30, &r->timeout_seconds);
	get_int(s, root, "memory_limit_mb", 64, 8192, 512, &r->memory_limit_mb);
	bool max_ok = get_int(s, root, "energy_measurement_trials", 1, 50, 5,
			      &r->energy_measurement_trials);
	long max = max_ok ? r->energy_measurement_trials : 50;

	v = json_object_get(root, "min_trials");
	r->min_trials = max < 3 ? max : 3;
	if (v && !(json_is_integer(v) && json_integer_value(v) >= 1 &&
		   json_integer_value(v) <= max)) {
		if (max_ok)
			add_err(s, "min_trials",
				"must be an integer between 1 and energy_measurement_trials (%ld), got %s",
				max, describe(got, sizeof got, v));
		else
			add_err(s, "min_trials", "must be an integer between 1 and 50, got %s",
				describe(got, sizeof got, v));
	} else if (v) {
		r->min_trials = (long)json_integer_value(v);
	}

	get_num(s, root, "target_cv_percent", 0.1, 100.0, 5.0, &r->target_cv_percent);
	get_int(s, root, "warmup_trials", 0, 10, 1, &r->warmup_trials);
	get_num(s, root, "min_trial_seconds", 0.01, 10.0, 0.2, &r->min_trial_seconds);

	v = json_object_get(root, "cpu_core");
	r->cpu_core = -1;
	r->cpu_core_set = false;
	if (v && !json_is_null(v)) {
		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
		    json_integer_value(v) <= REQUEST_MAX_CPU) {
			r->cpu_core = (long)json_integer_value(v);
			r->cpu_core_set = true;
		} else {
			add_err(s, "cpu_core", "must be null or an integer between 0 and %d, got %s",
				REQUEST_MAX_CPU, describe(got, sizeof got, v));
		}
	}
}

static void set_msg(char *msg, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_msg(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!msg || cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
}

int request_parse(const char *body, size_t len, enum request_kind kind,
		  struct measure_request *out, struct request_errors *errs,
		  char *msg, size_t msgcap)
{
	struct measure_request r = { .cpu_core = -1 };
	struct sink s = { .errs = errs };
	json_error_t jerr;
	json_t *root;
	int rc;

	(void)kind; /* same schema for both endpoints, see the header */
	memset(out, 0, sizeof *out);
	out->cpu_core = -1;
	if (errs) {
		errs->n = 0;
		errs->dropped = 0;
	}
	set_msg(msg, msgcap, "ok");
	/* jansson 2.14 drops a raw NUL right after a number or literal ("1\0,"
	 * reads as "1,"): no NUL byte is JSON, so none gets that far */
	const char *nul = body ? memchr(body, '\0', len) : NULL;
	if (nul) {
		set_msg(msg, msgcap, "malformed JSON: a NUL byte at offset %zu", (size_t)(nul - body));
		return -EBADMSG;
	}
	root = json_loadb(body ? body : "", body ? len : 0,
			  JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		set_msg(msg, msgcap, "malformed JSON: %s (line %d, column %d)", jerr.text,
			jerr.line, jerr.column);
		return json_error_code(&jerr) == json_error_out_of_memory ? -ENOMEM : -EBADMSG;
	}
	if (!json_is_object(root)) {
		char got[48];
		add_err(&s, "", "request body must be a JSON object, got %s",
			describe(got, sizeof got, root));
		rc = -EINVAL;
		goto out;
	}
	check_unknown(&s, root, "", top_fields);
	rc = check_strings(&s, root, &r);
	if (!rc)
		rc = check_test_cases(&s, root, &r);
	if (rc)
		goto out;
	check_numbers(&s, root, &r);
	if (s.total > 0)
		rc = -EINVAL;
out:
	if (rc == -EINVAL)
		set_msg(msg, msgcap, "request failed validation (%zu field error%s; first: %s)",
			s.total, s.total == 1 ? "" : "s", s.first);
	else if (rc)
		set_msg(msg, msgcap, "%s", strerror(-rc));
	json_decref(root);
	if (rc) {
		request_free(&r);
		return rc;
	}
	*out = r;
	return 0;
}

void request_free(struct measure_request *r)
{
	if (!r)
		return;
	free(r->candidate_code);
	free(r->function_name);
	json_decref(r->test_cases);
	free(r->language);
	free(r->candidate_id);
	free(r->problem_name);
	memset(r, 0, sizeof *r);
	r->cpu_core = -1;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *request_to_json(const struct measure_request *r)
{
	json_t *o = json_object();
	char *out = NULL;

	if (!o || !r || !r->candidate_code || !r->function_name || !r->language ||
	    !json_is_array(r->test_cases)) {
		json_decref(o);
		errno = o ? EINVAL : ENOMEM;
		return NULL;
	}
	if (json_object_set_new(o, "candidate_code", json_string(r->candidate_code)) ||
	    json_object_set_new(o, "function_name", json_string(r->function_name)) ||
	    json_object_set_new(o, "language", json_string(r->language)) ||
	    json_object_set(o, "test_cases", r->test_cases) ||
	    json_object_set_new(o, "timeout_seconds", json_integer(r->timeout_seconds)) ||
	    json_object_set_new(o, "memory_limit_mb", json_integer(r->memory_limit_mb)) ||
	    json_object_set_new(o, "energy_measurement_trials",
				json_integer(r->energy_measurement_trials)) ||
	    json_object_set_new(o, "min_trials", json_integer(r->min_trials)) ||
	    json_object_set_new(o, "target_cv_percent", json_real(r->target_cv_percent)) ||
	    json_object_set_new(o, "warmup_trials", json_integer(r->warmup_trials)) ||
	    json_object_set_new(o, "min_trial_seconds", json_real(r->min_trial_seconds)) ||
	    json_object_set_new(o, "cpu_core",
				r->cpu_core_set ? json_integer(r->cpu_core) : json_null()) ||
	    json_object_set_new(o, "candidate_id", str_or_null(r->candidate_id)) ||
	    json_object_set_new(o, "problem_name", str_or_null(r->problem_name)))
		goto out;
	out = json_dumps(o, JSON_COMPACT);
out:
	json_decref(o);
	if (!out)
		errno = ENOMEM;
	return out;
}

int request_from_json(const char *json, size_t len, struct measure_request *out,
		      char *msg, size_t cap)
{
	struct request_errors *errs = calloc(1, sizeof *errs);
	int rc;

	if (!errs) {
		memset(out, 0, sizeof *out);
		set_msg(msg, cap, "out of memory");
		return -ENOMEM;
	}
	rc = request_parse(json, len, REQUEST_MEASURE, out, errs, msg, cap);
	if (rc == -EINVAL)
		set_msg(msg, cap, "stored request is invalid: %s: %s (%zu errors)",
			errs->n ? errs->items[0].field : "?",
			errs->n ? errs->items[0].message : "?", errs->n + errs->dropped);
	free(errs);
	return rc;
}
