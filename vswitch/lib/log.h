/* Logging to stderr with a level, a timestamp and the module name, shared by every binary.
 * Thread-safe: each message is formatted first and written with one write(2). */
#ifndef VSWITCH_LIB_LOG_H
#define VSWITCH_LIB_LOG_H 1

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DBG };

void log_set_level(enum log_level);
/* Parses "error", "warn", "info", "debug"; returns 0 or -EINVAL. */
int log_level_from_name(const char *name, enum log_level *);
void log_set_program(const char *name);

void log_msg(enum log_level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Each file defines LOG_MODULE before including this header to name its messages. */
#ifndef LOG_MODULE
#define LOG_MODULE "vswitch"
#endif
#define LOG_ERR(...)  log_msg(LOG_LVL_ERR, LOG_MODULE, __VA_ARGS__)
#define LOG_WARN(...) log_msg(LOG_LVL_WARN, LOG_MODULE, __VA_ARGS__)
#define LOG_INFO(...) log_msg(LOG_LVL_INFO, LOG_MODULE, __VA_ARGS__)
#define LOG_DBG(...)  log_msg(LOG_LVL_DBG, LOG_MODULE, __VA_ARGS__)

#endif
