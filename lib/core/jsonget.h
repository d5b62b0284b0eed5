/*
 * jsonget.h — reading members of JSON documents built elsewhere (a task
 * reply, a seal, a comparison), where any member may be absent or of another
 * type: an absent number is NAN (never a made-up 0), an absent string NULL.
 *
 * Borrowed pointers only; o may be NULL or not an object (then NAN / NULL).
 * Thread safety: pure.
 */
#ifndef JT_JSONGET_H
#define JT_JSONGET_H

#include <jansson.h>
#include <stddef.h>

/* o[k] as a number, NAN when absent or not a number. */
double jsonget_num(const json_t *o, const char *k);
/* o[k][i] as a number, NAN when absent or not a number. */
double jsonget_at(const json_t *o, const char *k, size_t i);
/* o[k] as a string, NULL when absent or not a string. */
const char *jsonget_str(const json_t *o, const char *k);

#endif
