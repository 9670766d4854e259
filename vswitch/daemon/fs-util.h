/* File-system helpers for vswitchd's start-up: the directories of its database and control
 * socket (/var/lib/vswitch, /run/vswitch) may not exist on a fresh node. */
#ifndef VSWITCH_DAEMON_FS_UTIL_H
#define VSWITCH_DAEMON_FS_UTIL_H 1

#include <stddef.h>
#include <sys/types.h>

/* Creates the directory that contains 'path', and its missing ancestors, with 'mode'.
 * Returns 0 (also when it exists) or a negative errno with a message in 'err'. */
int fs_make_parent_dir(const char *path, mode_t mode, char *err, size_t errlen);

#endif
