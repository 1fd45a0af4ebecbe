/*
 * The kernel's page tables: 4-level x86-64 paging over one address space.
 * See kernel/paging.c for the layout paging_init builds and why.
 */
#ifndef HARDWAY_PAGING_H
#define HARDWAY_PAGING_H

#include "boot_info.h"
#include <stdbool.h>
#include <stdint.h>

// Page table entry bits. A mapping's flags are any of PAGE_WRITE, PAGE_USER,
// PAGE_UNCACHED (or its two halves), PAGE_GLOBAL and PAGE_NO_EXECUTE;
// PAGE_PRESENT is implied. Without PAGE_WRITE a page is read-only, and
// without PAGE_NO_EXECUTE it is executable.
#define PAGE_PRESENT        (1ull << 0)
#define PAGE_WRITE          (1ull << 1)
#define PAGE_USER           (1ull << 2)
#define PAGE_WRITE_THROUGH  (1ull << 3)
#define PAGE_CACHE_DISABLE  (1ull << 4)
#define PAGE_ACCESSED       (1ull << 5)    // set by the CPU
#define PAGE_DIRTY          (1ull << 6)    // set by the CPU
#define PAGE_HUGE           (1ull << 7)    // in a directory entry: a 2 MiB page (1 GiB in a PDPT entry)
#define PAGE_GLOBAL         (1ull << 8)    // kept in the TLB across CR3 loads (with CR4.PGE)
#define PAGE_NO_EXECUTE     (1ull << 63)   // needs EFER.NXE; dropped on CPUs without NX
// Memory-mapped device registers: every access goes to the device, in order.
#define PAGE_UNCACHED       (PAGE_CACHE_DISABLE | PAGE_WRITE_THROUGH)

#define LARGE_PAGE_SIZE     (2ull * 1024 * 1024)

// Bits of a page-fault error code (the CPU pushes it with vector 14).
#define PAGE_FAULT_PRESENT      (1ull << 0)   // 0: the page was not present; 1: a rights violation
#define PAGE_FAULT_WRITE        (1ull << 1)
#define PAGE_FAULT_USER         (1ull << 2)
#define PAGE_FAULT_RESERVED     (1ull << 3)   // a reserved bit was set in an entry: a page table bug
#define PAGE_FAULT_INSTRUCTION  (1ull << 4)   // an instruction fetch (no-execute)

// Where the kernel image's parts lie (boot/kernel.ld's symbols): text
// [kernel_start, text_end), rodata up to rodata_end, then data and bss up to
// kernel_end. Each part starts on a page boundary.
struct paging_layout {
    uint64_t kernel_start;   // _kernel_start
    uint64_t text_end;       // _kernel_text_end
    uint64_t rodata_end;     // _kernel_rodata_end
    uint64_t kernel_end;     // _kernel_end
};

// Builds the kernel's page tables (identity map of physical memory, W^X
// kernel image, page 0 unmapped) from pmm pages and switches this CPU to
// them. Call on the boot CPU after pmm_init. Returns false (the boot tables
// stay in use) if the layout is inconsistent or page tables cannot be
// allocated.
bool paging_init(const struct paging_layout *layout, const struct boot_info *info);

// The root (PML4) of the kernel's tables, and loading it on the calling CPU:
// each AP calls paging_activate once it runs kernel code in long mode.
uint64_t paging_root(void);
void paging_activate(void);
// Physical memory below this address is identity-mapped by paging_init.
uint64_t paging_identity_limit(void);

// Maps one 4 KiB page. Both addresses must be page-aligned and `virtual_address`
// canonical. Mapping a page to where it already points only updates its
// flags; a page inside a 2 MiB page is split out of it. Returns false when the
// page is mapped to a different physical page, or when no memory is left for
// a page table.
bool paging_map(uint64_t virtual_address, uint64_t physical_address, uint64_t flags);

// Maps [virtual_address, virtual_address + size) to consecutive physical pages,
// with 2 MiB pages wherever both addresses are 2 MiB-aligned. Stops at the
// first page that fails and returns false (earlier pages stay mapped).
bool paging_map_range(uint64_t virtual_address, uint64_t physical_address, uint64_t size, uint64_t flags);

// Identity-maps device registers [physical, physical + size) uncached,
// writable and never executable. Idempotent: mapping the same device twice,
// or a device the identity map already covers, is fine.
bool paging_map_mmio(uint64_t physical_address, uint64_t size);

// Removes the mapping of one 4 KiB page (splitting a 2 MiB page if needed)
// and flushes it from this CPU's TLB. Returns false if it was not mapped.
// Other CPUs' TLBs are the caller's to flush: tlb_shootdown (kernel/tlb.c)
// once all edits are done, before the page's memory is reused.
bool paging_unmap(uint64_t virtual_address);

// Looks up a virtual address: the physical address it reaches (offset
// included) and the flags of the entry that maps it (PAGE_HUGE for a large
// page). Either pointer may be NULL. Returns false when nothing is mapped.
bool paging_translate(uint64_t virtual_address, uint64_t *physical_address, uint64_t *flags);
// Whether an address is mapped, without the paging lock: for fault reports,
// which must not wait for a lock the faulting code may hold. A racing
// change can make the answer stale; nothing else should use it.
bool paging_probe_unlocked(uint64_t virtual_address);

// The runtime's demand-paged stacks: a page fault is offered to the hook
// first. The hook returns true when it fixed the fault (mapped the page),
// and the faulting instruction is retried.
typedef bool (*page_fault_hook)(uint64_t address, uint64_t error_code);
void paging_set_fault_hook(page_fault_hook hook);
// Called by the trap handler with CR2 and the error code; true if handled.
bool paging_handle_fault(uint64_t address, uint64_t error_code);

// The hardware underneath (kernel/paging_hardware.c in the kernel; fakes in
// the unit tests).
void paging_hardware_flush(uint64_t virtual_address);     // invlpg
void paging_hardware_activate(uint64_t root_physical);   // write CR3
uint64_t paging_hardware_root(void);                     // read CR3
bool paging_hardware_no_execute_supported(void);         // EFER.NXE is on

#endif
