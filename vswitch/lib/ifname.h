/* Linux interface names, checked by the kernel's rule (dev_valid_name()): 1 to 15 bytes, not
 * "." or "..", no '/', ':' or white space.  vswitchd checks the names of add-port with it and
 * the CNI plugin CNI_IFNAME, so a name one accepts the other does too.
 *
 * Thread: any. */
#ifndef VSWITCH_LIB_IFNAME_H
#define VSWITCH_LIB_IFNAME_H 1

/* NULL if 'name' is a valid interface name, else what is wrong with it, as a sentence about
 * "it": "it is empty", "it is longer than 15 characters", "it is . or ..", "it contains '/',
 * ':' or white space". */
const char *ifname_problem(const char *name);

#endif
