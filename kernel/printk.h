/*
 * printk: formatted kernel messages with a level, as in Linux.
 *
 * A message is printed when its level is at most log_level (the `loglevel=`
 * command-line option; default LOG_INFO). Lower numbers are more severe.
 * Warnings and errors carry a "warning: " / "error: " prefix so that they
 * stand out on the console; other lines are printed as they are (the more
 * severe levels are used for panics and exception reports, which say what
 * they are in their own first line).
 */
#ifndef HARDWAY_PRINTK_H
#define HARDWAY_PRINTK_H

enum log_level {
    LOG_EMERGENCY = 0,
    LOG_ALERT = 1,
    LOG_CRITICAL = 2,
    LOG_ERROR = 3,
    LOG_WARNING = 4,
    LOG_NOTICE = 5,
    LOG_INFO = 6,
    LOG_DEBUG = 7,
};

extern int log_level;

void printk(int level, const char *format, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...)   printk(LOG_ERROR, __VA_ARGS__)
#define log_warning(...) printk(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  printk(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    printk(LOG_INFO, __VA_ARGS__)
#define log_debug(...)   printk(LOG_DEBUG, __VA_ARGS__)
// Lines that are part of the kernel's interface -- "hardway ready: ...",
// self-test verdicts -- which tests and tools read: printed at every
// loglevel, without a prefix.
#define log_always(...)  printk(LOG_EMERGENCY, __VA_ARGS__)

#endif
