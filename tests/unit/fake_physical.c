/*
 * Fake physical memory for the unit tests. physical_memory_offset (the
 * kernel's is 0, in kernel/physical.c) points at an anonymous mapping, so
 * physical address P is byte P of the mapping. MAP_NORESERVE and the kernel's
 * lazy allocation mean that only pages a test touches use real memory: a test
 * can describe a machine with several GiB and pay for a few pages.
 */
#include "fakes.h"
#include "physical.h"
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

uintptr_t physical_memory_offset;

static void *fake_physical_base;
static uint64_t fake_physical_size;

void *fake_physical_memory_create(uint64_t size)
{
    fake_physical_memory_destroy();
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        perror("fake physical memory: mmap");
        abort();
    }
    fake_physical_base = base;
    fake_physical_size = size;
    physical_memory_offset = (uintptr_t)base;
    return base;
}

void fake_physical_memory_destroy(void)
{
    if (fake_physical_base)
        munmap(fake_physical_base, fake_physical_size);
    fake_physical_base = NULL;
    fake_physical_size = 0;
    physical_memory_offset = 0;
}

uint64_t fake_physical_memory_size(void)
{
    return fake_physical_size;
}
