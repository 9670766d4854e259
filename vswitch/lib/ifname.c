/* Interface names; see ifname.h. */
#include "lib/ifname.h"

#include <ctype.h>
#include <net/if.h>
#include <string.h>

const char *ifname_problem(const char *name)
{
    if (!*name) {
        return "it is empty";
    }
    if (strlen(name) >= IF_NAMESIZE) {
        return "it is longer than 15 characters";
    }
    if (!strcmp(name, ".") || !strcmp(name, "..")) {
        return "it is . or ..";
    }
    for (const char *p = name; *p; p++) {
        if (*p == '/' || *p == ':' || isspace((unsigned char) *p)) {
            return "it contains '/', ':' or white space";
        }
    }
    return NULL;
}
