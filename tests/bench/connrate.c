/* tests/bench/connrate.c — new TCP connections per second, for `make bench` (tests/bench/run.sh
 * compiles it with cc into the build directory).
 *
 *   connrate server PORT
 *       accepts connections on PORT forever; writes one byte to each and closes it (the
 *       server closes first, so TIME_WAIT stays on the server and the client's ports are free
 *       again at once).  Prints "listening" once it listens.
 *   connrate client IP PORT SECONDS [THREADS]
 *       THREADS (default 4) threads, each in a loop: socket, blocking connect, read to EOF,
 *       close.  A connection counts when its byte arrived and the server's FIN followed;
 *       anything else (refused, reset, 2 s timeout) counts as failed.  Prints
 *       "conns N failed N seconds S rate R" with R = N / S.
 *
 * Every connection goes through the full path under test: SYN to the VIP, backend choice,
 * DNAT, SYN-ACK back un-DNAT'd, data, FINs both ways.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in target;
static atomic_bool stop;
static atomic_ulong n_ok, n_failed;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int serve(const char *port)
{
    int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(atoi(port)) };

    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
        || bind(ls, (struct sockaddr *) &sin, sizeof sin) < 0 || listen(ls, 4096) < 0) {
        perror("connrate server");
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        if (write(fd, "x", 1) < 0) {
            /* The client went away: nothing to do but close. */
        }
        close(fd);
    }
}

/* One connection: true when the server's byte and then its FIN arrived. */
static bool one_conn(void)
{
    struct timeval tv = { .tv_sec = 2 };
    char buf[16];
    ssize_t n, got = 0;
    bool ok = false;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return false;
    }
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);    /* bounds connect() */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *) &target, sizeof target) == 0) {
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            got += n;
        }
        ok = n == 0 && got == 1;
    }
    close(fd);
    return ok;
}

static void *client_thread(void *arg)
{
    (void) arg;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        if (one_conn()) {
            atomic_fetch_add_explicit(&n_ok, 1, memory_order_relaxed);
        } else {
            atomic_fetch_add_explicit(&n_failed, 1, memory_order_relaxed);
        }
    }
    return NULL;
}

static int client(const char *ip, const char *port, const char *seconds, const char *threads)
{
    int n = threads ? atoi(threads) : 4;
    double secs = atof(seconds), t0, t1;
    pthread_t tid[256];

    target.sin_family = AF_INET;
    target.sin_port = htons(atoi(port));
    if (inet_pton(AF_INET, ip, &target.sin_addr) != 1 || n < 1 || n > 256 || secs <= 0) {
        fprintf(stderr, "connrate client: bad arguments\n");
        return 2;
    }
    t0 = now();
    for (int i = 0; i < n; i++) {
        if (pthread_create(&tid[i], NULL, client_thread, NULL)) {
            fprintf(stderr, "connrate client: pthread_create failed\n");
            return 1;
        }
    }
    struct timespec ts = { .tv_sec = (time_t) secs,
                           .tv_nsec = (long) ((secs - (time_t) secs) * 1e9) };
    nanosleep(&ts, NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < n; i++) {
        pthread_join(tid[i], NULL);
    }
    t1 = now();
    printf("conns %lu failed %lu seconds %.3f rate %.0f\n", atomic_load(&n_ok),
           atomic_load(&n_failed), t1 - t0, atomic_load(&n_ok) / (t1 - t0));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "server")) {
        return serve(argv[2]);
    }
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "client")) {
        return client(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
    }
    fprintf(stderr, "usage: connrate server PORT\n"
                    "       connrate client IP PORT SECONDS [THREADS]\n");
    return 2;
}
