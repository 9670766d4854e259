/* The text form of a Batch, as `vsctl batch FILE` reads it: one operation per line, in
 * vsctl's own syntax, so a file can be written by hand or by a script and checked one line
 * at a time:
 *
 *     # comment
 *     add-lb 10.96.0.10:80/tcp 10.244.1.5:8080 10.244.2.7:8080 --name default/web:http
 *     add-lb 10.96.0.53:53/udp 10.244.1.9:53 --affinity-timeout 10800 --no-dsr
 *     del-lb 10.96.0.11:443/tcp
 *     add-peer 192.168.50.2 10.244.2.0/24
 *     del-peer 192.168.50.3
 *
 * Words are separated by blanks; options may also be written --name=VALUE.  The commands,
 * their operands and options are vsctl's own (ctl/commands.h), and as there only the shape
 * of each line is checked: the values are vswitchd's to check, so every client gets the
 * same messages.
 *
 * Thread: any; a ctl_batch belongs to one thread. */
#ifndef VSWITCH_CTL_BATCH_H
#define VSWITCH_CTL_BATCH_H 1

#include <stddef.h>

#include "proto/vswitch.pb-c.h"

struct ctl_batch {
    Vswitch__Batch msg;             /* The operations so far; send it as it is. */
    size_t *lines;                  /* Line number of each operation. */
    size_t cap;
};

void ctl_batch_init(struct ctl_batch *);
/* Accepts a batch that was only initialised. */
void ctl_batch_destroy(struct ctl_batch *);

/* Adds the operation on 'line' (its terminating newline, if any, is ignored), numbered
 * 'lineno' for messages.  A blank line or one whose first word starts with '#' adds
 * nothing.  Returns 0, or -EINVAL with what is wrong in 'err' ("add-peer: missing
 * argument; usage: add-peer NODE_IP POD_CIDR"). */
int ctl_batch_add_line(struct ctl_batch *, const char *line, size_t lineno, char *err,
                       size_t errlen);

#endif
