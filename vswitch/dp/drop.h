/* Drop reasons: the enum, names and descriptions generated from drop-reasons.def. */
#ifndef VSWITCH_DP_DROP_H
#define VSWITCH_DP_DROP_H 1

enum drop_reason {
    DROP_NONE = 0,
#define DROP_REASON(NAME, STR, DESC) DROP_##NAME,
#include "dp/drop-reasons.def"
#undef DROP_REASON
    DROP_N_REASONS
};

/* "runt_frame" etc.; "none" for DROP_NONE. */
const char *drop_reason_name(enum drop_reason);
const char *drop_reason_description(enum drop_reason);

#endif
