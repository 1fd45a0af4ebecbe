/*
 * The kernel's page tables.
 *
 * hardway runs in one address space, shared by every CPU and goroutine.
 * boot/entry.S starts the CPU on the smallest tables that reach long mode: 4
 * GiB identity-mapped with 2 MiB pages, everything writable and executable.
 * paging_init replaces them with tables that say what each page is for:
 *
 *   - physical memory identity-mapped (virtual address == physical address)
 *     from 0 up to the end of RAM or 4 GiB, whichever is higher. RAM means
 *     the available and ACPI regions of the memory map; reserved regions
 *     above 4 GiB are device windows, mapped when a driver asks
 *     (paging_map_mmio), not up front. Below 4 GiB everything is mapped,
 *     holes included, because that is where the devices the kernel finds by
 *     fixed address live (VGA text memory, LAPIC, IOAPIC, HPET) and the boot
 *     tables mapped it too. Writable, never executable, 2 MiB pages
 *     wherever a whole 2 MiB is alike (fewer tables, fewer TLB misses);
 *   - page 0 not mapped, so a NULL pointer dereference faults instead of
 *     reading the real-mode interrupt table;
 *   - the kernel image in 4 KiB pages with W^X rights: text read+execute,
 *     rodata read-only, data and bss read+write; all but text no-execute.
 *     A stray write into code, or a jump into data, now faults where it
 *     happens. (boot/kernel.ld starts each part on a page boundary.)
 *
 * Cacheability: RAM is write-back. The identity map covers device holes as
 * write-back too; on PCs the firmware's MTRRs mark those ranges uncacheable,
 * and that wins, but drivers still call paging_map_mmio, which sets the
 * page-level cache-disable bits, so that correctness does not rest on the
 * firmware. paging_map_mmio changes a whole 2 MiB page in place when the
 * device covers it (a framebuffer) and splits it otherwise (the LAPIC's 4
 * KiB).
 *
 * The tables themselves are pmm pages, zeroed, reached through
 * physical_to_virtual: in the kernel that is the identity map (and the pmm
 * hands out its lowest pages first, so the first tables lie inside the boot
 * tables' 4 GiB); in the unit tests, a buffer that plays physical memory.
 * Intermediate entries (PML4, PDPT, directory pointing at a table) are
 * always present+write+user and never no-execute: the CPU combines the
 * rights of every level, so permissive upper levels leave the decision to
 * the leaf entry, and changing one page's rights is one entry's change.
 *
 * Splitting: mapping or unmapping a 4 KiB page inside a 2 MiB page first
 * replaces the 2 MiB entry with a table of 512 entries that map exactly what
 * it mapped, with the same rights (the PAT bit moves from bit 12 to bit 7
 * on the way), then changes the one entry. Both tables map the same memory
 * at the moment of the switch, so another CPU using the old translation is
 * not disturbed.
 *
 * TLB: changing or removing a present entry is followed by
 * paging_hardware_flush (invlpg) on this CPU. Adding an entry needs no flush:
 * x86 does not cache non-present translations. Other CPUs are not told
 * here: whoever unmaps memory that other CPUs may have used calls
 * tlb_shootdown (kernel/tlb.c) once, after all its edits and outside the
 * lock, before reusing what was unmapped -- as platform_release does. Not
 * here: a shoot-down waits until every other CPU has taken an interrupt,
 * and this lock is held with interrupts off, by us and by any CPU spinning
 * for it, which could then never answer. (And an IPI per page would cost.)
 * The unmaps at boot -- stack guard pages, before the APs start -- need
 * none.
 *
 * Every table edit happens under one spinlock with interrupts off, because
 * the page fault hook (the runtime's demand-paged goroutine stacks) maps
 * pages from inside a trap. So one CPU may unmap a page (platform_release)
 * while another's fault handler maps a neighbour in the same table: the
 * lock orders the two edits, each entry is written with one aligned 8-byte
 * store that another CPU's page walker sees whole, and nothing here waits
 * for another CPU while holding the lock. Tables are never freed, even when
 * their last entry goes, so no CPU can be walking a table that is reused.
 *
 * The instructions themselves (invlpg, CR3, EFER.NXE) are in
 * kernel/paging_hardware.c, which the unit tests replace with fakes.
 */
#include "paging.h"
#include "physical.h"
#include "pmm.h"
#include "printk.h"
#include "spinlock.h"
#include <string.h>

#define PAGING_ENTRIES 512
#define PAGING_ADDRESS_MASK        0x000FFFFFFFFFF000ull   // a table or 4 KiB page
#define PAGING_LARGE_ADDRESS_MASK  0x000FFFFFFFE00000ull   // a 2 MiB page
#define PAGING_HUGE_ADDRESS_MASK   0x000FFFFFC0000000ull   // a 1 GiB page
#define PAGING_LARGE_PAT           (1ull << 12)   // the PAT bit of a 2 MiB or 1 GiB entry
#define PAGING_SMALL_PAT           (1ull << 7)    // the PAT bit of a 4 KiB entry (PAGE_HUGE's place)
#define PAGING_INTERMEDIATE_FLAGS  (PAGE_PRESENT | PAGE_WRITE | PAGE_USER)
#define PAGING_MAPPING_FLAGS \
    (PAGE_WRITE | PAGE_USER | PAGE_WRITE_THROUGH | PAGE_CACHE_DISABLE | PAGE_GLOBAL | PAGE_NO_EXECUTE)
#define PAGING_CPU_FLAGS           (PAGE_ACCESSED | PAGE_DIRTY)
#define PAGING_IDENTITY_MINIMUM    (4ull << 30)
// Identity-mapped addresses must be canonical lower-half addresses.
#define PAGING_IDENTITY_MAXIMUM    (1ull << 47)

// Levels, counted from the leaf: 0 = page table (4 KiB pages), 1 = page
// directory (2 MiB), 2 = page directory pointer table (1 GiB), 3 = PML4.
enum { PAGING_LEVEL_TABLE = 0, PAGING_LEVEL_DIRECTORY = 1, PAGING_LEVEL_POINTER = 2, PAGING_LEVEL_ROOT = 3 };

enum paging_result { PAGING_OK, PAGING_CONFLICT, PAGING_OUT_OF_MEMORY };

static struct spinlock paging_lock = SPINLOCK_INITIALIZER;
static uint64_t paging_kernel_root;      // 0 until paging_init
static uint64_t paging_identity_end;
static uint64_t paging_allowed_flags;    // PAGING_MAPPING_FLAGS, less NX on CPUs without it
static bool paging_allowed_flags_known;
static page_fault_hook paging_fault_hook;

static uint64_t paging_level_size(int level)
{
    return PAGE_SIZE << (9 * level);
}

static unsigned paging_index(uint64_t virtual_address, int level)
{
    return (unsigned)(virtual_address >> (12 + 9 * level)) & (PAGING_ENTRIES - 1);
}

static uint64_t *paging_table(uint64_t entry_or_address)
{
    return physical_to_virtual(entry_or_address & PAGING_ADDRESS_MASK);
}

static uint64_t paging_leaf_address_mask(int level)
{
    return level == PAGING_LEVEL_TABLE ? PAGING_ADDRESS_MASK
         : level == PAGING_LEVEL_DIRECTORY ? PAGING_LARGE_ADDRESS_MASK
                                           : PAGING_HUGE_ADDRESS_MASK;
}

static bool paging_is_canonical(uint64_t virtual_address)
{
    uint64_t upper = virtual_address >> 47;
    return upper == 0 || upper == 0x1FFFF;
}

// The flags a caller asked for, reduced to what a leaf may carry here.
static uint64_t paging_leaf_flags(uint64_t flags)
{
    if (!paging_allowed_flags_known) {
        paging_allowed_flags = PAGING_MAPPING_FLAGS;
        if (!paging_hardware_no_execute_supported())
            paging_allowed_flags &= ~PAGE_NO_EXECUTE;
        paging_allowed_flags_known = true;
    }
    return (flags & paging_allowed_flags) | PAGE_PRESENT;
}

// The root in use: the kernel's once built, the boot tables before.
static uint64_t paging_current_root(void)
{
    return paging_kernel_root ? paging_kernel_root : paging_hardware_root() & PAGING_ADDRESS_MASK;
}

// Only a root the CPU is using can have stale TLB entries.
static void paging_flush_if_live(uint64_t root, uint64_t virtual_address)
{
    if (root == paging_current_root())
        paging_hardware_flush(virtual_address);
}

static uint64_t paging_new_table(void)
{
    uint64_t table = pmm_alloc_page();
    if (table != 0)
        memset(physical_to_virtual(table), 0, PAGE_SIZE);
    return table;
}

// Finds the leaf that maps `virtual_address`, without changing anything.
static bool paging_lookup(uint64_t root, uint64_t virtual_address, uint64_t *physical_address, uint64_t *flags,
                          int *level)
{
    uint64_t *table = paging_table(root);
    for (int current = PAGING_LEVEL_ROOT; current >= PAGING_LEVEL_TABLE; current--) {
        uint64_t entry = table[paging_index(virtual_address, current)];
        if (!(entry & PAGE_PRESENT))
            return false;
        bool leaf = current == PAGING_LEVEL_TABLE || (current <= PAGING_LEVEL_POINTER && (entry & PAGE_HUGE));
        if (leaf) {
            uint64_t mask = paging_leaf_address_mask(current);
            *physical_address = (entry & mask) + (virtual_address & (paging_level_size(current) - 1));
            *flags = entry & ~mask;
            *level = current;
            return true;
        }
        table = paging_table(entry);
    }
    return false;
}

// Replaces a 2 MiB (level 1) or 1 GiB (level 2) entry by a table of 512
// entries one level down that map the same memory with the same rights.
static bool paging_split(uint64_t root, uint64_t *entry, int level, uint64_t virtual_address)
{
    uint64_t table = paging_new_table();
    if (table == 0)
        return false;
    uint64_t *children = paging_table(table);
    uint64_t base = *entry & paging_leaf_address_mask(level);
    uint64_t pat = *entry & PAGING_LARGE_PAT;
    uint64_t flags = *entry & ~PAGING_ADDRESS_MASK;   // bits 0-11 and 52-63
    uint64_t child_flags = level == PAGING_LEVEL_DIRECTORY ? (flags & ~PAGE_HUGE) | (pat ? PAGING_SMALL_PAT : 0)
                                                           : flags | pat;
    uint64_t child_size = paging_level_size(level - 1);
    for (unsigned i = 0; i < PAGING_ENTRIES; i++)
        children[i] = (base + i * child_size) | child_flags;
    *entry = table | PAGING_INTERMEDIATE_FLAGS;
    // One invlpg anywhere in a large page drops its whole translation.
    paging_flush_if_live(root, virtual_address & ~(paging_level_size(level) - 1));
    return true;
}

// The entry at `level` for `virtual_address`, creating missing tables and
// splitting large pages above that level. NULL when out of memory.
static uint64_t *paging_entry(uint64_t root, uint64_t virtual_address, int level)
{
    uint64_t *table = paging_table(root);
    for (int current = PAGING_LEVEL_ROOT; current > level; current--) {
        uint64_t *entry = &table[paging_index(virtual_address, current)];
        if (!(*entry & PAGE_PRESENT)) {
            uint64_t child = paging_new_table();
            if (child == 0)
                return NULL;
            *entry = child | PAGING_INTERMEDIATE_FLAGS;
        } else if (current <= PAGING_LEVEL_POINTER && (*entry & PAGE_HUGE)) {
            if (!paging_split(root, entry, current, virtual_address))
                return NULL;
        }
        table = paging_table(*entry);
    }
    return &table[paging_index(virtual_address, level)];
}

// Sets a leaf entry that must map `physical_address`: a free entry is
// filled, an entry already pointing there gets the new flags, an entry
// pointing elsewhere is a conflict.
static enum paging_result paging_set_leaf(uint64_t root, uint64_t *entry, uint64_t virtual_address,
                                          uint64_t physical_address, uint64_t address_mask, uint64_t wanted)
{
    if (*entry & PAGE_PRESENT) {
        if ((*entry & address_mask) != physical_address)
            return PAGING_CONFLICT;
        if ((*entry & ~PAGING_CPU_FLAGS) != wanted) {
            *entry = wanted;
            paging_flush_if_live(root, virtual_address);
        }
        return PAGING_OK;
    }
    *entry = wanted;
    return PAGING_OK;
}

static enum paging_result paging_map_page_locked(uint64_t root, uint64_t virtual_address, uint64_t physical_address,
                                                 uint64_t flags)
{
    // Already mapped exactly so by a large page: nothing to split.
    uint64_t existing_physical, existing_flags;
    int level;
    if (paging_lookup(root, virtual_address, &existing_physical, &existing_flags, &level) &&
        level > PAGING_LEVEL_TABLE && existing_physical == physical_address &&
        (existing_flags & ~(PAGE_HUGE | PAGING_CPU_FLAGS)) == flags)
        return PAGING_OK;

    uint64_t *entry = paging_entry(root, virtual_address, PAGING_LEVEL_TABLE);
    if (entry == NULL)
        return PAGING_OUT_OF_MEMORY;
    return paging_set_leaf(root, entry, virtual_address, physical_address, PAGING_ADDRESS_MASK,
                           physical_address | flags);
}

// Maps one 2 MiB page. When the directory entry already points at a page
// table, *use_small_pages tells the caller to map the 512 pages one by one.
static enum paging_result paging_map_large_locked(uint64_t root, uint64_t virtual_address, uint64_t physical_address,
                                                  uint64_t flags, bool *use_small_pages)
{
    uint64_t *entry = paging_entry(root, virtual_address, PAGING_LEVEL_DIRECTORY);
    if (entry == NULL)
        return PAGING_OUT_OF_MEMORY;
    if ((*entry & PAGE_PRESENT) && !(*entry & PAGE_HUGE)) {
        *use_small_pages = true;
        return PAGING_OK;
    }
    return paging_set_leaf(root, entry, virtual_address, physical_address, PAGING_LARGE_ADDRESS_MASK,
                           physical_address | flags | PAGE_HUGE);
}

static enum paging_result paging_map_range_locked(uint64_t root, uint64_t virtual_address, uint64_t physical_address,
                                                  uint64_t size, uint64_t flags, uint64_t *failed_at)
{
    uint64_t offset = 0;
    while (offset < size) {
        uint64_t virtual_page = virtual_address + offset, physical_page = physical_address + offset;
        enum paging_result result;
        if (virtual_page % LARGE_PAGE_SIZE == 0 && physical_page % LARGE_PAGE_SIZE == 0 &&
            size - offset >= LARGE_PAGE_SIZE) {
            bool use_small_pages = false;
            result = paging_map_large_locked(root, virtual_page, physical_page, flags, &use_small_pages);
            for (uint64_t small = 0; result == PAGING_OK && use_small_pages && small < LARGE_PAGE_SIZE;
                 small += PAGE_SIZE)
                result = paging_map_page_locked(root, virtual_page + small, physical_page + small, flags);
            offset += LARGE_PAGE_SIZE;
        } else {
            result = paging_map_page_locked(root, virtual_page, physical_page, flags);
            offset += PAGE_SIZE;
        }
        if (result != PAGING_OK) {
            *failed_at = virtual_page;
            return result;
        }
    }
    return PAGING_OK;
}

static bool paging_check_arguments(const char *operation, uint64_t virtual_address, uint64_t physical_address,
                                   uint64_t size)
{
    if (virtual_address % PAGE_SIZE || physical_address % PAGE_SIZE || size % PAGE_SIZE) {
        log_error("paging: %s %#llx -> %#llx (%#llx bytes): not page-aligned\n", operation,
                  (unsigned long long)virtual_address, (unsigned long long)physical_address,
                  (unsigned long long)size);
        return false;
    }
    uint64_t last = virtual_address + (size ? size - 1 : 0);
    if (last < virtual_address || !paging_is_canonical(virtual_address) || !paging_is_canonical(last) ||
        (virtual_address >> 47) != (last >> 47)) {
        log_error("paging: %s %#llx (%#llx bytes): not a canonical address range\n", operation,
                  (unsigned long long)virtual_address, (unsigned long long)size);
        return false;
    }
    if (physical_address > PAGING_ADDRESS_MASK || size > PAGING_ADDRESS_MASK - physical_address + 1) {
        log_error("paging: %s: physical %#llx is beyond what page tables can address\n", operation,
                  (unsigned long long)physical_address);
        return false;
    }
    return true;
}

static void paging_report(const char *operation, enum paging_result result, uint64_t virtual_address)
{
    if (result == PAGING_OUT_OF_MEMORY)
        log_error("paging: %s %#llx: no memory left for a page table\n", operation,
                  (unsigned long long)virtual_address);
    else if (result == PAGING_CONFLICT)
        log_error("paging: %s %#llx: already mapped to a different physical page\n", operation,
                  (unsigned long long)virtual_address);
}

bool paging_map(uint64_t virtual_address, uint64_t physical_address, uint64_t flags)
{
    if (!paging_check_arguments("map", virtual_address, physical_address, PAGE_SIZE))
        return false;
    uint64_t lock_flags = spinlock_lock_irqsave(&paging_lock);
    enum paging_result result =
        paging_map_page_locked(paging_current_root(), virtual_address, physical_address, paging_leaf_flags(flags));
    spinlock_unlock_irqrestore(&paging_lock, lock_flags);
    // A conflict is an answer, not an error: two CPUs faulting on the same
    // stack page race to map it, and the loser gives its page back.
    if (result == PAGING_OUT_OF_MEMORY)
        paging_report("map", result, virtual_address);
    return result == PAGING_OK;
}

bool paging_map_range(uint64_t virtual_address, uint64_t physical_address, uint64_t size, uint64_t flags)
{
    if (!paging_check_arguments("map", virtual_address, physical_address, size))
        return false;
    uint64_t failed_at = 0;
    uint64_t lock_flags = spinlock_lock_irqsave(&paging_lock);
    enum paging_result result = paging_map_range_locked(paging_current_root(), virtual_address, physical_address,
                                                         size, paging_leaf_flags(flags), &failed_at);
    spinlock_unlock_irqrestore(&paging_lock, lock_flags);
    if (result == PAGING_OUT_OF_MEMORY)
        paging_report("map", result, failed_at);
    return result == PAGING_OK;
}

bool paging_map_mmio(uint64_t physical_address, uint64_t size)
{
    if (size == 0)
        return true;
    uint64_t start = physical_address & ~(PAGE_SIZE - 1);
    uint64_t end = physical_address + size;
    if (end < physical_address || end > PAGING_IDENTITY_MAXIMUM) {
        log_error("paging: device registers at %#llx (%#llx bytes) cannot be identity-mapped\n",
                  (unsigned long long)physical_address, (unsigned long long)size);
        return false;
    }
    end = (end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    uint64_t failed_at = 0;
    uint64_t lock_flags = spinlock_lock_irqsave(&paging_lock);
    enum paging_result result =
        paging_map_range_locked(paging_current_root(), start, start, end - start,
                                paging_leaf_flags(PAGE_WRITE | PAGE_NO_EXECUTE | PAGE_UNCACHED), &failed_at);
    spinlock_unlock_irqrestore(&paging_lock, lock_flags);
    paging_report("map device registers at", result, failed_at);
    return result == PAGING_OK;
}

bool paging_unmap(uint64_t virtual_address)
{
    if (virtual_address % PAGE_SIZE || !paging_is_canonical(virtual_address)) {
        log_error("paging: unmap %#llx: not a page-aligned canonical address\n", (unsigned long long)virtual_address);
        return false;
    }
    uint64_t lock_flags = spinlock_lock_irqsave(&paging_lock);
    uint64_t root = paging_current_root();
    uint64_t physical_address, flags;
    int level;
    bool mapped = paging_lookup(root, virtual_address, &physical_address, &flags, &level);
    uint64_t *entry = mapped ? paging_entry(root, virtual_address, PAGING_LEVEL_TABLE) : NULL;
    if (entry != NULL) {
        *entry = 0;
        paging_flush_if_live(root, virtual_address);
    }
    spinlock_unlock_irqrestore(&paging_lock, lock_flags);
    if (mapped && entry == NULL)
        log_error("paging: unmap %#llx: no memory left to split its large page\n",
                  (unsigned long long)virtual_address);
    return entry != NULL;
}

bool paging_probe_unlocked(uint64_t virtual_address)
{
    if (!paging_is_canonical(virtual_address))
        return false;
    uint64_t physical_address, flags;
    int level;
    return paging_lookup(paging_current_root(), virtual_address, &physical_address, &flags, &level);
}

bool paging_translate(uint64_t virtual_address, uint64_t *physical_address, uint64_t *flags)
{
    if (!paging_is_canonical(virtual_address))
        return false;
    uint64_t found_physical = 0, found_flags = 0;
    int level;
    uint64_t lock_flags = spinlock_lock_irqsave(&paging_lock);
    bool mapped = paging_lookup(paging_current_root(), virtual_address, &found_physical, &found_flags, &level);
    spinlock_unlock_irqrestore(&paging_lock, lock_flags);
    if (mapped && physical_address)
        *physical_address = found_physical;
    if (mapped && flags)
        *flags = found_flags;
    return mapped;
}

// The rights of one page of the identity map's first 2 MiB pages that hold
// the kernel image: W^X by section, ordinary memory around it.
static uint64_t paging_kernel_page_flags(const struct paging_layout *layout, uint64_t page)
{
    uint64_t text_end = (layout->text_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    uint64_t rodata_end = (layout->rodata_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    if (page >= layout->kernel_start && page < text_end)
        return 0;                                  // read + execute
    if (page >= text_end && page < rodata_end)
        return PAGE_NO_EXECUTE;                    // read only
    return PAGE_WRITE | PAGE_NO_EXECUTE;           // data, bss, and all other memory
}

static uint64_t paging_choose_identity_limit(const struct boot_info *info)
{
    uint64_t limit = PAGING_IDENTITY_MINIMUM;
    for (size_t i = 0; i < info->memory_region_count; i++) {
        const struct memory_region *region = &info->memory_map[i];
        bool ram = region->type == MEMORY_AVAILABLE || region->type == MEMORY_ACPI_RECLAIMABLE ||
                   region->type == MEMORY_ACPI_NVS;
        uint64_t end = region->base + region->length;
        if (!ram || end < region->base)
            continue;
        if (end > PAGING_IDENTITY_MAXIMUM) {
            log_warning("paging: memory above %llu TiB is not mapped\n",
                        (unsigned long long)(PAGING_IDENTITY_MAXIMUM >> 40));
            end = PAGING_IDENTITY_MAXIMUM;
        }
        if (end > limit)
            limit = end;
    }
    return (limit + LARGE_PAGE_SIZE - 1) & ~(LARGE_PAGE_SIZE - 1);
}

bool paging_init(const struct paging_layout *layout, const struct boot_info *info)
{
    if (layout->kernel_start % PAGE_SIZE != 0 || layout->kernel_start < PAGE_SIZE ||
        layout->text_end < layout->kernel_start || layout->rodata_end < layout->text_end ||
        layout->kernel_end < layout->rodata_end) {
        log_error("paging: the kernel layout is inconsistent (start %#llx, text end %#llx, rodata end %#llx, "
                  "end %#llx)\n",
                  (unsigned long long)layout->kernel_start, (unsigned long long)layout->text_end,
                  (unsigned long long)layout->rodata_end, (unsigned long long)layout->kernel_end);
        return false;
    }
    paging_allowed_flags_known = false;   // ask the hardware again: this is the CPU's state now
    uint64_t limit = paging_choose_identity_limit(info);
    uint64_t kernel_first = layout->kernel_start;
    uint64_t kernel_last = (layout->kernel_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    uint64_t data_flags = paging_leaf_flags(PAGE_WRITE | PAGE_NO_EXECUTE);

    uint64_t lock_flags = spinlock_lock_irqsave(&paging_lock);
    uint64_t root = paging_new_table();
    enum paging_result result = root ? PAGING_OK : PAGING_OUT_OF_MEMORY;
    for (uint64_t chunk = 0; result == PAGING_OK && chunk < limit; chunk += LARGE_PAGE_SIZE) {
        bool holds_page_zero = chunk == 0;
        bool holds_kernel = chunk < kernel_last && kernel_first < chunk + LARGE_PAGE_SIZE;
        if (!holds_page_zero && !holds_kernel) {
            bool use_small_pages = false;
            result = paging_map_large_locked(root, chunk, chunk, data_flags, &use_small_pages);
            continue;
        }
        for (uint64_t page = chunk; result == PAGING_OK && page < chunk + LARGE_PAGE_SIZE; page += PAGE_SIZE) {
            if (page == 0)
                continue;
            result = paging_map_page_locked(root, page, page, paging_leaf_flags(paging_kernel_page_flags(layout, page)));
        }
    }
    if (result == PAGING_OK) {
        paging_kernel_root = root;
        paging_identity_end = limit;
    }
    spinlock_unlock_irqrestore(&paging_lock, lock_flags);

    if (result != PAGING_OK) {
        // The pages already taken stay taken: the boot cannot go on anyway.
        log_error("paging: out of memory while building the kernel's page tables; still on the boot tables\n");
        return false;
    }
    paging_hardware_activate(root);
    log_info("paging: %llu MiB identity-mapped; kernel text %#llx-%#llx read+execute, the rest no-execute%s\n",
             (unsigned long long)(limit >> 20), (unsigned long long)layout->kernel_start,
             (unsigned long long)layout->text_end,
             (paging_allowed_flags & PAGE_NO_EXECUTE) ? "" : " (no NX on this CPU: not enforced)");
    return true;
}

uint64_t paging_root(void)
{
    return paging_kernel_root;
}

void paging_activate(void)
{
    if (paging_kernel_root)
        paging_hardware_activate(paging_kernel_root);
}

uint64_t paging_identity_limit(void)
{
    return paging_identity_end;
}

void paging_set_fault_hook(page_fault_hook hook)
{
    __atomic_store_n(&paging_fault_hook, hook, __ATOMIC_RELEASE);
}

bool paging_handle_fault(uint64_t address, uint64_t error_code)
{
    page_fault_hook hook = __atomic_load_n(&paging_fault_hook, __ATOMIC_ACQUIRE);
    return hook != NULL && hook(address, error_code);
}
