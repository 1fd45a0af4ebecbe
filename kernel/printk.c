/*
 * printk: format into a line buffer on the stack, then hand the whole text to
 * the console in one write, so that concurrent CPUs never mix their lines.
 * A message longer than the buffer is cut and ends with "...".
 */
#include "printk.h"
#include "console.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PRINTK_LINE_MAX 512

int log_level = LOG_INFO;

void printk(int level, const char *format, ...)
{
    if (level > log_level)
        return;
    char line[PRINTK_LINE_MAX];
    size_t length = 0;
    if (level == LOG_ERROR)
        length = (size_t)snprintf(line, sizeof line, "error: ");
    else if (level == LOG_WARNING)
        length = (size_t)snprintf(line, sizeof line, "warning: ");

    va_list arguments;
    va_start(arguments, format);
    int wanted = vsnprintf(line + length, sizeof line - length, format, arguments);
    va_end(arguments);
    length += (size_t)wanted;
    if (length >= sizeof line) {
        length = sizeof line - 1;
        memcpy(line + length - 4, "...\n", 4);
    }
    console_write(line, length);
}
