/*
 * The out-of-line half of bench_common.h, compiled into every C benchmark
 * program: bench_fail and the pieces of main that every suite's main.c
 * shares. Nothing here depends on the side (ours or a peer), so this file
 * is the same in every program.
 */
#include "bench_common.h"
#include "peak_rss.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *program_name;

void bench_set_program_name(const char *path)
{
    program_name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
}

void bench_fail(const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "%s: ", program_name);
    vfprintf(stderr, format, arguments);
    fputc('\n', stderr);
    va_end(arguments);
    fflush(stdout);
    _Exit(1);
}

unsigned long long bench_parse_n(const char *text)
{
    char *end;
    unsigned long long n = strtoull(text, &end, 10);
    if (*end != '\0' || n == 0)
        bench_fail("N must be a positive number, not \"%s\"", text);
    return n;
}

unsigned long long bench_peak_rss_kib(void)
{
    unsigned long long peak = peak_rss_kib();
    if (peak == 0)
        bench_fail("cannot read VmHWM from /proc/self/status");
    return peak;
}
