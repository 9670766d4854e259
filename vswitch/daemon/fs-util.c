/* File-system helpers; see fs-util.h. */
#include "daemon/fs-util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/util.h"

int fs_make_parent_dir(const char *path, mode_t mode, char *err, size_t errlen)
{
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    int error = 0;

    if (!slash || slash == dir) {
        goto out;               /* Relative name in the working directory, or under "/". */
    }
    *slash = '\0';
    /* Walk down from the root so each ancestor exists before its child is made. */
    for (char *p = dir + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;

            *p = '\0';
            if (mkdir(dir, mode) < 0 && errno != EEXIST) {
                error = -errno;
                snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(errno));
                goto out;
            }
            *p = c;
            if (!c) {
                break;
            }
        }
    }
out:
    free(dir);
    return error;
}
