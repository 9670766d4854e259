/* vsctl's output: each reply printed as text for people (one line per port, peer, flow or
 * flow pair; policies as Windows VFP rule dumps) or as JSON for scripts (--json).  The text
 * and JSON forms are part of the contract (DESIGN.md): change them only with it.
 *
 * Thread: main()'s. */
#ifndef VSWITCH_CTL_PRINT_H
#define VSWITCH_CTL_PRINT_H 1

#include <stdbool.h>

#include "proto/vswitch.pb-c.h"

/* Prints the successful 'resp' on stdout: as JSON if 'json' (an empty object for a command
 * that has nothing to say), else as text (nothing for such a command). */
void print_reply(const Vswitch__Response *resp, bool json);

#endif
