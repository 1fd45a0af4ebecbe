/*
 * The paging hardware for the unit tests, in place of
 * kernel/paging_hardware.c: CR3 is a variable, invlpg appends to a list the
 * test can search, and whether the CPU has NX is up to the test.
 */
#include "fakes.h"
#include "paging.h"

uint64_t fake_paging_root;
size_t fake_paging_activations;
bool fake_paging_no_execute = true;
uint64_t fake_paging_flushes[FAKE_PAGING_FLUSHES_MAX];
size_t fake_paging_flush_count;

void paging_hardware_flush(uint64_t virtual_address)
{
    if (fake_paging_flush_count < FAKE_PAGING_FLUSHES_MAX)
        fake_paging_flushes[fake_paging_flush_count] = virtual_address;
    fake_paging_flush_count++;
}

void paging_hardware_activate(uint64_t root_physical)
{
    fake_paging_root = root_physical;
    fake_paging_activations++;
}

uint64_t paging_hardware_root(void)
{
    return fake_paging_root;
}

bool paging_hardware_no_execute_supported(void)
{
    return fake_paging_no_execute;
}

void fake_paging_hardware_reset(void)
{
    fake_paging_root = 0;
    fake_paging_activations = 0;
    fake_paging_no_execute = true;
    fake_paging_flush_count = 0;
}

bool fake_paging_flushed(uint64_t virtual_address)
{
    for (size_t i = 0; i < fake_paging_flush_count && i < FAKE_PAGING_FLUSHES_MAX; i++) {
        if (fake_paging_flushes[i] == virtual_address)
            return true;
    }
    return false;
}
