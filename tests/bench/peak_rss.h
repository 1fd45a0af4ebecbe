/*
 * The peak memory figure every C benchmark program prints (bench-sched,
 * bench-alloc, bench-gc; through bench_common.c's bench_peak_rss_kib): VmHWM, the high-water mark of this program's own address
 * space, in KiB. Not getrusage's ru_maxrss, which also counts the parent's
 * memory at fork time: the kernel carries it across exec. The Go programs
 * read the same line.
 */
#ifndef HARDWAY_TESTS_BENCH_PEAK_RSS_H
#define HARDWAY_TESTS_BENCH_PEAK_RSS_H

#include <stdio.h>

// 0 when /proc/self/status cannot be read or has no VmHWM line.
static inline unsigned long long peak_rss_kib(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    if (status == NULL)
        return 0;
    char line[256];
    unsigned long long kib = 0;
    while (fgets(line, sizeof line, status))
        if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
            break;
    fclose(status);
    return kib;
}

#endif
