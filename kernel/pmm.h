/*
 * The physical page allocator: 4 KiB pages of RAM, handed out and taken back.
 * See kernel/pmm.c for how it decides which pages are RAM it may use.
 */
#ifndef HARDWAY_PMM_H
#define HARDWAY_PMM_H

#include "boot_info.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// A range of physical addresses, [start, end).
struct physical_range {
    uint64_t start;
    uint64_t end;
};

// Builds the allocator from the boot memory map. `excluded` lists ranges that
// look free in the map but are in use: the kernel image, the boot modules,
// anything else the caller still needs. The first 1 MiB is never handed out.
// Call once, on the boot CPU, after boot_info_parse.
void pmm_init(const struct boot_info *info, const struct physical_range *excluded, size_t excluded_count);

// One page's physical address, or 0 when no page is left. The page's
// contents are whatever was there before.
uint64_t pmm_alloc_page(void);

// `count` physically contiguous pages (the lowest run that fits), or 0 when
// there is no such run.
uint64_t pmm_alloc_pages(size_t count);

// Gives pages back. Freeing a page that is not allocated (a double free, a
// page the allocator never owned, an address outside memory or not
// page-aligned) is a bug in the caller: it is reported with log_error naming
// the address, nothing is freed, and the result is false. The kernel may
// panic on false; the allocator itself stays consistent either way.
bool pmm_free_pages(uint64_t address, size_t count);
bool pmm_free_page(uint64_t address);

// Pages free now, and pages the allocator manages (free or allocated).
uint64_t pmm_free_page_count(void);
uint64_t pmm_total_page_count(void);

// Where the allocator keeps its own bitmaps (excluded from allocation).
struct physical_range pmm_bitmap_range(void);

#endif
