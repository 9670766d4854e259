/* Running code inside a pod's network namespace.
 *
 * setns() changes the namespace of the calling thread only, and a thread that has switched
 * must never run anything that assumes the original one.  So the work is done on a thread of
 * its own that joins the namespace, runs one function and exits: the main thread never
 * leaves the node's namespace (the CNI reference plugins' pkg/ns explains the hazards). */
#ifndef CNI_NETNS_H
#define CNI_NETNS_H 1

#include "cni/cni-error.h"

/* Opens the namespace file 'path' (CNI_NETNS).  Returns 0 with '*fd' set, or a negative
 * errno with 'err' set (code 3 when it does not exist). */
int netns_open(const char *path, int *fd, struct cni_err *err);

/* Runs 'fn(arg, err)' on a new thread inside the network namespace open as 'fd' and returns
 * what it returns, or a negative errno with 'err' set if the thread cannot enter the
 * namespace.  Blocks until 'fn' has returned. */
int netns_run(int fd, int (*fn)(void *arg, struct cni_err *err), void *arg,
              struct cni_err *err);

#endif
