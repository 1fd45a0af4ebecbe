/*
 * The instructions under kernel/paging.c, kept apart so that the page table
 * logic can be unit-tested on the host with fakes in their place
 * (tests/unit/fake_paging_hardware.c). Each is one instruction or register.
 *
 * TLB flushes are for the calling CPU only. Other CPUs are flushed by
 * kernel/tlb.c's shoot-down, which callers ask for once per batch of unmaps
 * (see kernel/paging.c for why not here).
 */
#include "paging.h"
#include "cpu.h"

#define EFER_NO_EXECUTE_ENABLE (1ull << 11)

void paging_hardware_flush(uint64_t virtual_address)
{
    invlpg(virtual_address);
}

void paging_hardware_activate(uint64_t root_physical)
{
    write_cr3(root_physical);
}

uint64_t paging_hardware_root(void)
{
    return read_cr3();
}

// boot/entry.S turns EFER.NXE on when CPUID says the CPU has NX. Without
// it, bit 63 of an entry is reserved and setting it makes every access to
// the page fault, so paging.c leaves it out.
bool paging_hardware_no_execute_supported(void)
{
    return (rdmsr(MSR_EFER) & EFER_NO_EXECUTE_ENABLE) != 0;
}
