/* Network namespaces; see netns.h. */
#include "cni/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

int netns_open(const char *path, int *fd, struct cni_err *err)
{
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        int error = errno;

        cni_err_set(err, error == ENOENT ? CNI_ERR_UNKNOWN_CONTAINER : CNI_ERR_SYSTEM,
                    "cannot open network namespace %s: %s", path, strerror(error));
        return -error;
    }
    return 0;
}

struct netns_job {
    int fd;
    int (*fn)(void *, struct cni_err *);
    void *arg;
    struct cni_err *err;
    int ret;
};

static void *netns_thread(void *job_)
{
    struct netns_job *job = job_;

    if (setns(job->fd, CLONE_NEWNET)) {
        int error = errno;

        cni_err_set(job->err, CNI_ERR_SYSTEM, "cannot enter the pod's network namespace: %s%s",
                    strerror(error), error == EINVAL ? " (not a network namespace?)" : "");
        job->ret = -error;
    } else {
        job->ret = job->fn(job->arg, job->err);
    }
    /* The thread ends here, in the pod's namespace: it is never reused. */
    return NULL;
}

int netns_run(int fd, int (*fn)(void *arg, struct cni_err *err), void *arg,
              struct cni_err *err)
{
    struct netns_job job = { .fd = fd, .fn = fn, .arg = arg, .err = err };
    pthread_t thread;
    int error;

    error = pthread_create(&thread, NULL, netns_thread, &job);
    if (error) {
        cni_err_set(err, CNI_ERR_SYSTEM, "cannot start a thread: %s", strerror(error));
        return -error;
    }
    pthread_join(thread, NULL);
    return job.ret;
}
