/*
 * The kernel command line.
 *
 * hardway is configured the way Linux is: the boot loader passes one line of
 * `key=value` words separated by spaces (`procs=4 loglevel=debug`). A word
 * without `=` is a boolean switched on (`bootchart` means `bootchart=1`).
 *
 * One table, cmdline_options below, is the single source of truth: it says
 * each option's name, kind, default, accepted values, meaning, and which
 * field of `kernel_options` receives it. The parser, the printout of the
 * effective options (cmdline_print_options) and docs/cmdline.md all follow
 * the table; a unit test checks that the document names every option. To add
 * an option: add a field to struct kernel_options (cmdline.h), add a row here,
 * add a row to docs/cmdline.md. Integers, booleans and strings need no code;
 * an option with its own syntax adds a kind, as `ip=` does.
 *
 * The collector's settings are such kinds: gogc= ("100", "off") and
 * gomemlimit= ("512MiB") are read by the runtime's own parsers,
 * runtime_parse_gogc and runtime_parse_memory_limit, which also read the
 * hosted build's GOGC and GOMEMLIMIT, so the two spell them alike.
 *
 * Defaults are written as text and parsed by the same code as the words, so a
 * default can never be something the command line could not say.
 *
 * Mistakes are never fatal. A machine that boots with a typo should boot, say
 * clearly what it ignored (naming the whole word, so the user can find it),
 * and keep the default; a kernel that stops on a typo in a VM's configuration
 * is much harder to fix. The console already works when cmdline_parse runs,
 * so the warnings are seen.
 *
 * QEMU's -kernel puts the kernel image's path first: it prepends the file
 * name to what -append gave. (GRUB's multiboot2 passes only the words after
 * the path; multiboot1 loaders may pass the path too.) That first word is
 * skipped when it contains no '=' but contains '/' or '.',
 * which no option name does.
 */
#include "cmdline.h"
#include "printk.h"
#include "runtime_internal.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct kernel_options kernel_options;

// The words `loglevel=` accepts besides 0..7, in the order of enum log_level.
static const char *const cmdline_log_level_names[] = {
    "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug", NULL,
};

static const struct cmdline_option cmdline_options[] = {
    {
        .name = "procs",
        .kind = CMDLINE_INTEGER,
        .default_value = "0",
        .values = "0..256",
        .description = "Number of Ps (Go's GOMAXPROCS): how many goroutines run at once. "
                       "0 means one per CPU.",
        .value = &kernel_options.procs,
        .minimum = 0,
        .maximum = 256,
    },
    {
        .name = "bootchart",
        .kind = CMDLINE_BOOLEAN,
        .default_value = "0",
        .values = "0|1",
        .description = "Print the time each boot step took, as a table, when booting is done.",
        .value = &kernel_options.bootchart,
    },
    {
        .name = "selftest",
        .kind = CMDLINE_STRING,
        .default_value = "",
        .values = "NAME (up to 31 characters)",
        .description = "Run the built-in self-test NAME and print `selftest NAME: ok` or "
                       "`selftest NAME: FAIL <reason>`.",
        .value = kernel_options.selftest,
        .string_size = sizeof kernel_options.selftest,
    },
    {
        .name = "schedtrace",
        .kind = CMDLINE_INTEGER,
        .default_value = "0",
        .values = "0..3600000",
        .description = "Every N milliseconds, print a line on the goroutine scheduler's state, like Go's "
                       "GODEBUG=schedtrace=N. 0 means never.",
        .value = &kernel_options.schedtrace,
        .minimum = 0,
        .maximum = 3600000,
    },
    {
        .name = "mallocdebug",
        .kind = CMDLINE_BOOLEAN,
        .default_value = "0",
        .values = "0|1",
        .description = "Check every free of manually allocated memory: a double free or a pointer malloc "
                       "never returned stops the machine with a clear message; freed memory is poisoned.",
        .value = &kernel_options.mallocdebug,
    },
    {
        .name = "memstats",
        .kind = CMDLINE_BOOLEAN,
        .default_value = "0",
        .values = "0|1",
        .description = "Print the memory allocator's statistics (like Go's runtime.MemStats) when a "
                       "self-test ends or the main goroutine returns.",
        .value = &kernel_options.memstats,
    },
    {
        .name = "gogc",
        .kind = CMDLINE_GOGC,
        .default_value = "100",
        .values = "1..1000000 or off",
        .description = "The garbage collector's GOGC: a collection starts when the heap has grown by this "
                       "percentage over what the last one found live. off turns the collector off.",
        .value = &kernel_options.gogc,
        .minimum = 1,
        .maximum = 1000000,
    },
    {
        .name = "gomemlimit",
        .kind = CMDLINE_SIZE,
        .default_value = "0",
        .values = "bytes, or with a KiB, MiB, GiB or TiB suffix",
        .description = "A soft limit on the heap, like Go's GOMEMLIMIT: the collector runs more often "
                       "as the heap nears it. 0 means no limit.",
        .value = &kernel_options.gomemlimit,
    },
    {
        .name = "gctrace",
        .kind = CMDLINE_BOOLEAN,
        .default_value = "0",
        .values = "0|1",
        .description = "Print one line per garbage collection, in the format of Go's GODEBUG=gctrace=1.",
        .value = &kernel_options.gctrace,
    },
    {
        .name = "gccheckmark",
        .kind = CMDLINE_BOOLEAN,
        .default_value = "0",
        .values = "0|1",
        .description = "After each collection's concurrent mark, mark again with the world stopped and stop "
                       "the machine with a clear message if the first mark missed a reachable object; "
                       "freed objects are poisoned. Slow: for testing the collector.",
        .value = &kernel_options.gccheckmark,
    },
    {
        .name = "gcstress",
        .kind = CMDLINE_INTEGER,
        .default_value = "0",
        .values = "0..1000000000",
        .description = "Start a garbage collection every N collected allocations (1 means every 1000). "
                       "0 means never. For testing the collector.",
        .value = &kernel_options.gcstress,
        .minimum = 0,
        .maximum = 1000000000,
    },
    {
        .name = "ip",
        .kind = CMDLINE_NETWORK,
        .default_value = "dhcp",
        .values = "dhcp, or ADDR/PREFIX[,gw=ADDR][,dns=ADDR[,dns=ADDR]]",
        .description = "How the network interface gets its IPv4 address: from a DHCP server, or the static "
                       "address, gateway and DNS servers given, as in ip=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3.",
        .value = &kernel_options.ip,
    },
    {
        .name = "echo",
        .kind = CMDLINE_INTEGER,
        .default_value = "0",
        .values = "0..65535",
        .description = "Serve TCP echo on this port (everything a client sends comes back): a way to check "
                       "the network. 0 means no echo service.",
        .value = &kernel_options.echo_port,
        .minimum = 0,
        .maximum = 65535,
    },
    {
        .name = "netbench",
        .kind = CMDLINE_INTEGER,
        .default_value = "0",
        .values = "0..65535",
        .description = "Serve make bench-net's requests on this port (receive or send a given number of "
                       "bytes). 0 means none.",
        .value = &kernel_options.netbench_port,
        .minimum = 0,
        .maximum = 65535,
    },
    {
        .name = "download",
        .kind = CMDLINE_STRING,
        .default_value = "",
        .values = "HOST:PORT (up to 127 characters)",
        .description = "Connect to HOST:PORT (a name is looked up by DNS), read until the server closes, and "
                       "print the byte count and CRC-32, or what went wrong: a way to check the way out.",
        .value = kernel_options.download,
        .string_size = sizeof kernel_options.download,
    },
    {
        .name = "loglevel",
        .kind = CMDLINE_INTEGER,
        .default_value = "6",
        .values = "0..7 or emergency, alert, critical, error, warning, notice, info, debug",
        .description = "Print kernel messages up to this level; 7 (debug) prints everything.",
        .value = &kernel_options.log_level,
        .minimum = 0,
        .maximum = 7,
        .names = cmdline_log_level_names,
    },
};

#define CMDLINE_OPTION_COUNT (sizeof cmdline_options / sizeof cmdline_options[0])

// Which options a word of the current parse has set: a rejected value then
// says whether the default or an earlier word's value stays in force.
static bool cmdline_option_was_set[CMDLINE_OPTION_COUNT];

size_t cmdline_option_count(void)
{
    return CMDLINE_OPTION_COUNT;
}

const struct cmdline_option *cmdline_option_at(size_t index)
{
    return index < CMDLINE_OPTION_COUNT ? &cmdline_options[index] : NULL;
}

const struct cmdline_option *cmdline_option_find(const char *name, size_t name_length)
{
    for (size_t i = 0; i < CMDLINE_OPTION_COUNT; i++) {
        const char *candidate = cmdline_options[i].name;
        if (strlen(candidate) == name_length && memcmp(candidate, name, name_length) == 0)
            return &cmdline_options[i];
    }
    return NULL;
}

// The kernel's libc has no memchr; words are not NUL-terminated, so strchr
// will not do.
static const char *cmdline_find_character(const char *text, size_t length, char character)
{
    for (size_t i = 0; i < length; i++) {
        if (text[i] == character)
            return &text[i];
    }
    return NULL;
}

static bool cmdline_is_space(char character)
{
    return character == ' ' || character == '\t' || character == '\n' || character == '\r';
}

static char cmdline_lower(char character)
{
    return character >= 'A' && character <= 'Z' ? (char)(character - 'A' + 'a') : character;
}

// Case-insensitive: "loglevel=DEBUG" is as clear as "loglevel=debug".
static bool cmdline_equals_word(const char *text, size_t length, const char *word)
{
    size_t i = 0;
    for (; i < length; i++) {
        if (word[i] == '\0' || cmdline_lower(text[i]) != cmdline_lower(word[i]))
            return false;
    }
    return word[i] == '\0';
}

// A decimal number with an optional '-', and nothing after it. Rejects values
// that do not fit in an int rather than wrapping them.
static bool cmdline_parse_decimal(const char *text, size_t length, int *result)
{
    bool negative = false;
    size_t i = 0;
    if (i < length && (text[i] == '-' || text[i] == '+')) {
        negative = text[i] == '-';
        i++;
    }
    if (i == length)
        return false;
    int64_t magnitude = 0;
    for (; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        magnitude = magnitude * 10 + (text[i] - '0');
        if (magnitude > INT32_MAX)
            return false;
    }
    *result = (int)(negative ? -magnitude : magnitude);
    return true;
}

// A word's value, NUL-terminated, into `copy` (the runtime's parsers read
// NUL-terminated text, string options keep it so); false if there is no
// value or it does not fit.
static bool cmdline_copy_value(const char *text, size_t length, char *copy, size_t size)
{
    if (text == NULL || length >= size)
        return false;
    memcpy(copy, text, length);
    copy[length] = '\0';
    return true;
}

// Parses `text` (not NUL-terminated; NULL for a bare word) for `option` and,
// when it is acceptable, stores it. Otherwise writes what was expected into
// `expected` and leaves the stored value alone.
static bool cmdline_apply_value(const struct cmdline_option *option, const char *text, size_t length,
                                char *expected, size_t expected_size)
{
    switch (option->kind) {
    case CMDLINE_BOOLEAN: {
        bool value;
        if (text == NULL || cmdline_equals_word(text, length, "1") || cmdline_equals_word(text, length, "yes") ||
            cmdline_equals_word(text, length, "on") || cmdline_equals_word(text, length, "true"))
            value = true;
        else if (cmdline_equals_word(text, length, "0") || cmdline_equals_word(text, length, "no") ||
                 cmdline_equals_word(text, length, "off") || cmdline_equals_word(text, length, "false"))
            value = false;
        else {
            snprintf(expected, expected_size, "0 or 1");
            return false;
        }
        *(bool *)option->value = value;
        return true;
    }
    case CMDLINE_INTEGER: {
        int value = 0;
        bool parsed = text != NULL && cmdline_parse_decimal(text, length, &value) && value >= option->minimum &&
                      value <= option->maximum;
        for (int i = 0; !parsed && text != NULL && option->names && option->names[i]; i++) {
            if (cmdline_equals_word(text, length, option->names[i])) {
                value = option->minimum + i;
                parsed = true;
            }
        }
        if (!parsed) {
            int used = snprintf(expected, expected_size, "a number %d..%d", option->minimum, option->maximum);
            for (int i = 0; option->names && option->names[i] && used > 0 && (size_t)used < expected_size; i++)
                used += snprintf(expected + used, expected_size - (size_t)used, "%s%s", i == 0 ? " or a name: " : ", ",
                                 option->names[i]);
            return false;
        }
        *(int *)option->value = value;
        return true;
    }
    case CMDLINE_GOGC: {
        char copy[32];
        int value = 0;
        // runtime_parse_gogc keeps to the range the table's minimum and
        // maximum describe; off is -1.
        if (!cmdline_copy_value(text, length, copy, sizeof copy) || !runtime_parse_gogc(copy, &value)) {
            snprintf(expected, expected_size, "a percentage %d..%d or off", option->minimum, option->maximum);
            return false;
        }
        *(int *)option->value = value;
        return true;
    }
    case CMDLINE_SIZE: {
        char copy[32];
        uint64_t value = 0;
        if (!cmdline_copy_value(text, length, copy, sizeof copy) || !runtime_parse_memory_limit(copy, &value)) {
            snprintf(expected, expected_size, "a size in bytes, or with a KiB, MiB, GiB or TiB suffix");
            return false;
        }
        *(uint64_t *)option->value = value;
        return true;
    }
    case CMDLINE_NETWORK: {
        char error[160];
        if (text == NULL) {
            snprintf(expected, expected_size, "dhcp or ADDR/PREFIX[,gw=ADDR][,dns=ADDR]");
            return false;
        }
        if (!net_config_parse(text, length, option->value, error, sizeof error)) {
            snprintf(expected, expected_size, "dhcp or ADDR/PREFIX[,gw=ADDR][,dns=ADDR]: %s", error);
            return false;
        }
        return true;
    }
    case CMDLINE_STRING:
        if (!cmdline_copy_value(text, length, option->value, option->string_size)) {
            snprintf(expected, expected_size, "text of at most %zu characters", option->string_size - 1);
            return false;
        }
        return true;
    }
    snprintf(expected, expected_size, "nothing: the option table is wrong");
    return false;
}

static void cmdline_apply_word(const char *word, size_t length)
{
    const char *equals = cmdline_find_character(word, length, '=');
    size_t key_length = equals ? (size_t)(equals - word) : length;
    int printable_length = (int)length;

    if (key_length == 0) {
        log_warning("cmdline: option '%.*s' has no name; ignored\n", printable_length, word);
        return;
    }
    const struct cmdline_option *option = cmdline_option_find(word, key_length);
    if (option == NULL) {
        log_warning("cmdline: unknown option '%.*s' ignored\n", printable_length, word);
        return;
    }
    size_t index = (size_t)(option - cmdline_options);
    const char *value = equals ? equals + 1 : NULL;
    size_t value_length = equals ? length - key_length - 1 : 0;
    char expected[256];
    if (cmdline_apply_value(option, value, value_length, expected, sizeof expected)) {
        cmdline_option_was_set[index] = true;
        return;
    }
    char current[96];
    cmdline_format_value(option, current, sizeof current);
    log_warning("cmdline: bad value in '%.*s': expected %s; keeping the %s '%s'\n", printable_length, word,
                expected, cmdline_option_was_set[index] ? "earlier value" : "default", current);
}

static void cmdline_set_defaults(void)
{
    for (size_t i = 0; i < CMDLINE_OPTION_COUNT; i++) {
        const struct cmdline_option *option = &cmdline_options[i];
        char expected[160];
        cmdline_option_was_set[i] = false;
        if (!cmdline_apply_value(option, option->default_value, strlen(option->default_value), expected,
                                 sizeof expected))
            log_error("cmdline: the default '%s=%s' does not parse (expected %s)\n", option->name,
                      option->default_value, expected);
    }
}

// The boot loader's path of the kernel image: a first word that is no option.
static bool cmdline_is_image_path(const char *word, size_t length)
{
    if (cmdline_find_character(word, length, '=') != NULL)
        return false;
    return cmdline_find_character(word, length, '/') != NULL || cmdline_find_character(word, length, '.') != NULL;
}

void cmdline_parse(const char *line)
{
    cmdline_set_defaults();
    bool first = true;
    for (const char *cursor = line ? line : ""; *cursor;) {
        while (cmdline_is_space(*cursor))
            cursor++;
        if (*cursor == '\0')
            break;
        const char *word = cursor;
        while (*cursor && !cmdline_is_space(*cursor))
            cursor++;
        size_t length = (size_t)(cursor - word);
        if (!(first && cmdline_is_image_path(word, length)))
            cmdline_apply_word(word, length);
        first = false;
    }
    log_level = kernel_options.log_level;
}

int cmdline_format_value(const struct cmdline_option *option, char *buffer, size_t size)
{
    switch (option->kind) {
    case CMDLINE_BOOLEAN: return snprintf(buffer, size, "%d", *(const bool *)option->value ? 1 : 0);
    case CMDLINE_INTEGER: return snprintf(buffer, size, "%d", *(const int *)option->value);
    case CMDLINE_STRING: return snprintf(buffer, size, "%s", (const char *)option->value);
    case CMDLINE_GOGC: {
        int value = *(const int *)option->value;
        return value < 0 ? snprintf(buffer, size, "off") : snprintf(buffer, size, "%d", value);
    }
    case CMDLINE_SIZE: {
        // The largest suffix that says the value exactly: 512MiB, not 536870912.
        static const char *const suffixes[] = { "", "KiB", "MiB", "GiB", "TiB" };
        uint64_t value = *(const uint64_t *)option->value;
        size_t unit = 0;
        while (value != 0 && value % 1024 == 0 && unit + 1 < sizeof suffixes / sizeof suffixes[0]) {
            value /= 1024;
            unit++;
        }
        return snprintf(buffer, size, "%llu%s", (unsigned long long)value, suffixes[unit]);
    }
    case CMDLINE_NETWORK: return net_config_format(option->value, buffer, size);
    }
    return snprintf(buffer, size, "?");
}

void cmdline_print_options(void)
{
    char line[400];
    size_t used = (size_t)snprintf(line, sizeof line, "cmdline:");
    for (size_t i = 0; i < CMDLINE_OPTION_COUNT && used < sizeof line; i++) {
        char value[96];
        cmdline_format_value(&cmdline_options[i], value, sizeof value);
        used += (size_t)snprintf(line + used, sizeof line - used, " %s=%s", cmdline_options[i].name, value);
    }
    log_info("%s\n", line);
}
