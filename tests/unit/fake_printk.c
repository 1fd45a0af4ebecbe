/*
 * printk for the unit tests: records each message with its level instead of
 * writing to a console. Set FAKE_PRINTK_ECHO=1 in the environment to see the
 * messages on stderr as well.
 */
#include "fakes.h"
#include "printk.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int log_level = LOG_INFO;

#define FAKE_PRINTK_LINES_MAX 256
#define FAKE_PRINTK_LINE_SIZE 512

static struct {
    int level;
    char text[FAKE_PRINTK_LINE_SIZE];
} fake_printk_lines[FAKE_PRINTK_LINES_MAX];
static size_t fake_printk_line_count;
static char fake_printk_everything[FAKE_PRINTK_LINES_MAX * 64];

void printk(int level, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    if (fake_printk_line_count < FAKE_PRINTK_LINES_MAX) {
        fake_printk_lines[fake_printk_line_count].level = level;
        vsnprintf(fake_printk_lines[fake_printk_line_count].text, FAKE_PRINTK_LINE_SIZE, format, arguments);
        if (getenv("FAKE_PRINTK_ECHO"))
            fprintf(stderr, "printk<%d> %s", level, fake_printk_lines[fake_printk_line_count].text);
        fake_printk_line_count++;
    }
    va_end(arguments);
}

void fake_printk_reset(void)
{
    fake_printk_line_count = 0;
}

size_t fake_printk_count(int level)
{
    size_t count = 0;
    for (size_t i = 0; i < fake_printk_line_count; i++)
        count += fake_printk_lines[i].level == level;
    return count;
}

bool fake_printk_has(int level, ...)
{
    for (size_t i = 0; i < fake_printk_line_count; i++) {
        if (fake_printk_lines[i].level != level)
            continue;
        va_list texts;
        va_start(texts, level);
        bool all = true;
        for (const char *text = va_arg(texts, const char *); text; text = va_arg(texts, const char *))
            all = all && strstr(fake_printk_lines[i].text, text) != NULL;
        va_end(texts);
        if (all)
            return true;
    }
    return false;
}

const char *fake_printk_all(void)
{
    size_t used = 0;
    fake_printk_everything[0] = '\0';
    for (size_t i = 0; i < fake_printk_line_count && used < sizeof fake_printk_everything; i++)
        used += (size_t)snprintf(fake_printk_everything + used, sizeof fake_printk_everything - used, "<%d> %s",
                                 fake_printk_lines[i].level, fake_printk_lines[i].text);
    return fake_printk_everything;
}
