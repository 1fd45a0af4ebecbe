/*
 * How the kernel reaches physical memory.
 *
 * hardway identity-maps physical memory: physical address P is virtual
 * address P. Code that follows physical pointers (boot information, ACPI
 * tables, page tables) still goes through physical_to_virtual, for two
 * reasons: it says in the code which addresses are physical, and the hosted
 * unit tests set physical_memory_offset to the start of a buffer that plays
 * the part of physical memory.
 */
#ifndef HARDWAY_PHYSICAL_H
#define HARDWAY_PHYSICAL_H

#include <stdint.h>

#define PAGE_SIZE 4096ull

// 0 in the kernel (kernel/physical.c); a fake memory's base in unit tests.
extern uintptr_t physical_memory_offset;

static inline void *physical_to_virtual(uint64_t physical)
{
    return (void *)(uintptr_t)(physical + physical_memory_offset);
}

static inline uint64_t virtual_to_physical(const void *pointer)
{
    return (uint64_t)((uintptr_t)pointer - physical_memory_offset);
}

#endif
