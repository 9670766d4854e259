/* CNI errors; see cni-error.h. */
#include "cni/cni-error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>


void cni_err_set(struct cni_err *err, int code, const char *fmt, ...)
{
    va_list args;

    err->code = code;
    va_start(args, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, args);
    va_end(args);
    err->details[0] = '\0';
}

void cni_err_details(struct cni_err *err, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vsnprintf(err->details, sizeof err->details, fmt, args);
    va_end(args);
}

json_t *cni_err_to_json(const struct cni_err *err, const char *cni_version)
{
    json_t *obj = json_object();

    json_object_set_new(obj, "cniVersion", json_string(cni_version));
    json_object_set_new(obj, "code", json_integer(err->code));
    json_object_set_new(obj, "msg", json_string(err->msg));
    if (err->details[0]) {
        json_object_set_new(obj, "details", json_string(err->details));
    }
    return obj;
}
