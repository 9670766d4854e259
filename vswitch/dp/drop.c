/* Names of the drop reasons, generated from drop-reasons.def so they never drift. */
#include "dp/drop.h"

static const char *const names[DROP_N_REASONS] = {
    [DROP_NONE] = "none",
#define DROP_REASON(NAME, STR, DESC) [DROP_##NAME] = STR,
#include "dp/drop-reasons.def"
#undef DROP_REASON
};

static const char *const descriptions[DROP_N_REASONS] = {
    [DROP_NONE] = "not dropped",
#define DROP_REASON(NAME, STR, DESC) [DROP_##NAME] = DESC,
#include "dp/drop-reasons.def"
#undef DROP_REASON
};

const char *drop_reason_name(enum drop_reason reason)
{
    return (unsigned) reason < DROP_N_REASONS ? names[reason] : "invalid";
}

const char *drop_reason_description(enum drop_reason reason)
{
    return (unsigned) reason < DROP_N_REASONS ? descriptions[reason] : "invalid";
}
