/*
 * The kernel command line: `key=value` words, as in Linux.
 *
 * Every option lives in one table in kernel/cmdline.c (name, kind, default,
 * accepted values, meaning, and where the value is stored). The parser and
 * the boot's printout of the effective options are read off that table, and
 * a unit test holds docs/cmdline.md to it, so an option is added in one place
 * (plus its row in the document, which the test demands). The values end up in the
 * `kernel_options` structure, which the rest of the kernel reads.
 */
#ifndef HARDWAY_CMDLINE_H
#define HARDWAY_CMDLINE_H

#include "net_config.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMDLINE_SELFTEST_MAX 32   // bytes, including the terminating NUL
#define CMDLINE_DOWNLOAD_MAX 128  // bytes, including the terminating NUL

// The parsed options. Valid after cmdline_parse (which first fills in every
// default from the table, then applies the words of the command line).
struct kernel_options {
    int procs;                              // number of Ps (GOMAXPROCS); 0 = one per CPU
    bool bootchart;                         // print the per-step boot timing table
    char selftest[CMDLINE_SELFTEST_MAX];    // "" = run no self-test
    int log_level;                          // printk threshold, 0 (emergency) .. 7 (debug)
    int schedtrace;                         // ms between scheduler trace lines; 0 = none
    bool mallocdebug;                       // check every free (double free, foreign pointer)
    bool memstats;                          // print the allocator's statistics after a self-test
    // The garbage collector (runtime/gc.h), handed to the runtime by
    // kernel/platform.c's platform_runtime_defaults.
    int gogc;                               // GOGC percent; -1 = off
    uint64_t gomemlimit;                    // soft heap limit in bytes (GOMEMLIMIT); 0 = none
    bool gctrace;                           // one line per collection, Go's gctrace format
    bool gccheckmark;                       // re-mark stop-the-world after each cycle and verify
    int gcstress;                           // 0 off; 1 = a cycle every 1000 collected allocations; N > 1: every N
    // The network (net/).
    struct net_config ip;                   // ip=: DHCP, or a static address
    int echo_port;                          // echo=: a TCP echo service on this port; 0 = none
    int netbench_port;                      // netbench=: make bench-net's guest service on this port; 0 = none
    char download[CMDLINE_DOWNLOAD_MAX];    // download=HOST:PORT: read it all, print its CRC-32; "" = none
};

extern struct kernel_options kernel_options;

enum cmdline_option_kind {
    CMDLINE_INTEGER,    // decimal, within [minimum, maximum]; `names` may give words for values
    CMDLINE_BOOLEAN,    // 0|1 (also no|yes, off|on, false|true); a bare word means 1
    CMDLINE_STRING,     // any text without spaces, shorter than string_size
    CMDLINE_GOGC,       // a percentage or "off" (-1), read by the runtime's own runtime_parse_gogc,
                        // within [minimum, maximum]
    CMDLINE_SIZE,       // bytes with an optional B, KiB, MiB, GiB or TiB suffix, read by the
                        // runtime's runtime_parse_memory_limit; `value` is a uint64_t *
    CMDLINE_NETWORK,    // dhcp or ADDR/PREFIX[,gw=ADDR][,dns=ADDR]..., read by net/net_config.c's
                        // net_config_parse; `value` is a struct net_config *
};

struct cmdline_option {
    const char *name;
    enum cmdline_option_kind kind;
    const char *default_value;      // as it would be typed; parsed by the same code as the words
    const char *values;             // what is accepted, for people: "0..256", "0|1", ...
    const char *description;        // one sentence
    void *value;                    // int *, bool *, char[string_size] or uint64_t *, inside kernel_options
    int minimum, maximum;           // CMDLINE_INTEGER, CMDLINE_GOGC
    const char *const *names;       // CMDLINE_INTEGER: names[v] spells value minimum + v; NULL-ended
    size_t string_size;             // CMDLINE_STRING: size of the buffer `value` points at
};

// Resets kernel_options to the defaults, then applies every word of `line`
// (NULL or "" means no words). Unknown options and bad values are warnings
// that name the word; the option keeps its default. Never fails. Also sets
// printk's log_level from the loglevel= option.
void cmdline_parse(const char *line);

// The option table, for printing and documentation: index 0 .. count - 1.
size_t cmdline_option_count(void);
const struct cmdline_option *cmdline_option_at(size_t index);
const struct cmdline_option *cmdline_option_find(const char *name, size_t name_length);

// Writes the option's current value as it would be typed ("4", "1", "ipi").
// Returns what snprintf returns.
int cmdline_format_value(const struct cmdline_option *option, char *buffer, size_t size);

// One log_info line with every option's effective value: "cmdline: procs=0 ...".
void cmdline_print_options(void);

#endif
