/*
 * selftest=tlb: platform_release gives memory back, and no CPU keeps a
 * stale translation of it (kernel/platform.c, kernel/tlb.c).
 *
 *   give back  a reserved range is written on every CPU (page i first
 *              touched by CPU i mod N, so each CPU's faults map some of it),
 *              then read on every CPU, so that each caches every
 *              translation in its TLB. CPU 0 releases the range while the
 *              others sleep in `hlt`: the pmm must get exactly those pages
 *              back, none may stay mapped, and a shoot-down must have gone
 *              out;
 *   stale      the released pages are taken out of the pmm again and filled
 *              with a marker -- so that no fault can reuse them, zeroed,
 *              and hide a stale read -- and every CPU reads the whole range:
 *              each must see zeros, from fresh pages. A CPU whose TLB kept
 *              an old translation reads the marker instead;
 *   again      the fresh pages are released in turn, and come back too;
 *   running    the same, but the other CPUs stay busy (spinning, not
 *              halted) between caching the translations and reading again,
 *              while CPU 0 releases;
 *   concurrent every CPU at once, TLB_ROUNDS times: fill a range of its own,
 *              release it, check that it reads zero. Shoot-downs from
 *              several CPUs at once -- each sender answering the others'
 *              while it waits -- must all finish, and afterwards the pmm
 *              has every page back.
 *
 * Code runs on the other CPUs the way the runtime's Ms start there: a
 * function handed to smp_idle (struct cpu's start_entry) and a wake-up IPI.
 * It runs with interrupts on, on that CPU's kernel stack, and smp_idle
 * halts again when it returns. Every wait is bounded.
 *
 * Under TCG a CPU keeps its translations until told to drop them, so a
 * missing flush fails "stale" every time. Under KVM (nested here) the
 * hypervisor flushes on its own exits, and a broken shoot-down can go
 * unseen; the test then proves less.
 */
#include "cpu.h"
#include "lapic.h"
#include "paging.h"
#include "percpu.h"
#include "physical.h"
#include "pmm.h"
#include "printk.h"
#include "selftest.h"
#include "time.h"
#include "tlb.h"
#include "traps.h"
#include "platform.h"
#include <stdio.h>

#define TLB_PAGES 32
#define TLB_CONCURRENT_PAGES 16   // per CPU
#define TLB_ROUNDS 20
#define TLB_WORDS (PAGE_SIZE / sizeof(uint64_t))
#define TLB_WAIT_NS (30ull * 1000 * 1000 * 1000)
#define TLB_HOLD_MAX 65536
#define TLB_STALE_MARKER 0x5354414C45544C42ull

static uint64_t *tlb_range;              // TLB_PAGES pages
static uint64_t *tlb_concurrent_range;   // TLB_CONCURRENT_PAGES pages per CPU
static uint32_t tlb_cpus;
static void (*volatile tlb_phase)(uint32_t index);
static uint32_t tlb_done;

// Never zero, different in every word, page and round.
static uint64_t pattern(unsigned page, unsigned word, unsigned round)
{
    return 0x544C420000000001ull ^ ((uint64_t)round << 40) ^ ((uint64_t)page << 16) ^ ((uint64_t)word << 1);
}

static volatile uint64_t *page_words(uint64_t *range, unsigned page)
{
    return (volatile uint64_t *)(range + (size_t)page * TLB_WORDS);
}

/* --- Running a phase on every CPU --------------------------------------- */

static void tlb_worker(void *argument)
{
    (void)argument;
    tlb_phase(this_cpu()->index);
    __atomic_add_fetch(&tlb_done, 1, __ATOMIC_ACQ_REL);
}

// Runs phase(index) on every CPU at once, this one included, and waits for all.
static bool run_on_every_cpu(void (*phase)(uint32_t), const char *name, char *reason, size_t size)
{
    struct cpu *self = this_cpu();
    tlb_phase = phase;
    __atomic_store_n(&tlb_done, 0, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < tlb_cpus; i++) {
        struct cpu *cpu = cpus[i];
        if (cpu == self)
            continue;
        cpu->start_argument = NULL;
        void (*expected)(void *) = NULL;
        if (!__atomic_compare_exchange_n(&cpu->start_entry, &expected, tlb_worker, false, __ATOMIC_SEQ_CST,
                                         __ATOMIC_SEQ_CST)) {
            snprintf(reason, size, "cpu %u is busy: cannot run the %s phase there", i, name);
            return false;
        }
        lapic_send_ipi(cpu->apic_id, VECTOR_IPI_WAKE);
    }
    tlb_worker(NULL);
    uint64_t deadline = nanotime() + TLB_WAIT_NS;
    while (__atomic_load_n(&tlb_done, __ATOMIC_ACQUIRE) < tlb_cpus) {
        if (nanotime() > deadline) {
            snprintf(reason, size, "%s phase: only %u of %u CPUs finished within %llu s (a shoot-down stuck?)",
                     name, __atomic_load_n(&tlb_done, __ATOMIC_ACQUIRE), tlb_cpus,
                     (unsigned long long)(TLB_WAIT_NS / 1000000000ull));
            return false;
        }
        cpu_relax();   // interrupts on: the phase may shoot at this CPU
    }
    if (selftest_failed()) {
        snprintf(reason, size, "%s phase: %s", name, selftest_failure());
        return false;
    }
    return true;
}

/* --- Releasing, and keeping the released pages out of reach ------------- */

static unsigned mapped_pages(uint64_t *range, unsigned pages, uint64_t *physical)
{
    unsigned mapped = 0;
    for (unsigned page = 0; page < pages; page++) {
        uint64_t address;
        if (paging_translate((uint64_t)(uintptr_t)page_words(range, page), &address, NULL)) {
            mapped++;
            if (physical)
                physical[page] = address;
        }
    }
    return mapped;
}

static bool release_gives_back(uint64_t *range, unsigned pages, const char *what, char *reason, size_t size)
{
    uint64_t free_before = pmm_free_page_count();
    uint64_t shootdowns_before = tlb_shootdown_count();
    platform_release(range, (size_t)pages * PAGE_SIZE);
    uint64_t given_back = pmm_free_page_count() - free_before;
    if (given_back != pages) {
        snprintf(reason, size, "%s: the pmm got %llu pages back, not %u", what, (unsigned long long)given_back,
                 pages);
        return false;
    }
    unsigned still_mapped = mapped_pages(range, pages, NULL);
    if (still_mapped) {
        snprintf(reason, size, "%s: %u of %u pages still mapped after the release", what, still_mapped, pages);
        return false;
    }
    if (tlb_cpus > 1 && tlb_shootdown_count() == shootdowns_before) {
        snprintf(reason, size, "%s: the release sent no TLB shoot-down", what);
        return false;
    }
    return true;
}

// The physical pages behind tlb_range before its release, which of them
// are held out of the pmm now, and the other pages taken to reach them.
static uint64_t tlb_physical[TLB_PAGES];
static bool tlb_held[TLB_PAGES];
static uint64_t tlb_held_others;   // chained through their first word

// Takes pages from the pmm (lowest first) until all of tlb_physical are
// among them. Returns how many of those were found.
static unsigned hold_released_pages(void)
{
    unsigned held = 0;
    tlb_held_others = 0;
    for (unsigned taken = 0; held < TLB_PAGES && taken < TLB_HOLD_MAX; taken++) {
        uint64_t page = pmm_alloc_page();
        if (page == 0)
            break;
        unsigned i = 0;
        while (i < TLB_PAGES && tlb_physical[i] != page)
            i++;
        if (i < TLB_PAGES) {
            tlb_held[i] = true;
            held++;
        } else {
            *(uint64_t *)physical_to_virtual(page) = tlb_held_others;
            tlb_held_others = page;
        }
    }
    return held;
}

static void give_back_held_pages(void)
{
    for (unsigned i = 0; i < TLB_PAGES; i++)
        if (tlb_held[i])
            pmm_free_page(tlb_physical[i]);
    while (tlb_held_others) {
        uint64_t next = *(uint64_t *)physical_to_virtual(tlb_held_others);
        pmm_free_page(tlb_held_others);
        tlb_held_others = next;
    }
    for (unsigned i = 0; i < TLB_PAGES; i++)
        tlb_held[i] = false;
}

// Releases tlb_range, checks that its pages went back to the pmm, takes
// them out again and fills them with the marker: from now on a CPU reading
// the range through an old translation reads the marker, and no fault can
// get one of those pages (and zero it) to hide that.
static bool release_and_mark(const char *what, char *reason, size_t size)
{
    unsigned mapped = mapped_pages(tlb_range, TLB_PAGES, tlb_physical);
    if (mapped != TLB_PAGES) {
        snprintf(reason, size, "%s: only %u of %d written pages are mapped", what, mapped, TLB_PAGES);
        return false;
    }
    if (!release_gives_back(tlb_range, TLB_PAGES, what, reason, size))
        return false;
    unsigned held = hold_released_pages();
    if (held != TLB_PAGES) {
        give_back_held_pages();
        snprintf(reason, size, "%s: could take back only %u of the %d released pages from the pmm to mark them",
                 what, held, TLB_PAGES);
        return false;
    }
    for (unsigned page = 0; page < TLB_PAGES; page++) {
        uint64_t *words = physical_to_virtual(tlb_physical[page]);
        for (unsigned word = 0; word < TLB_WORDS; word++)
            words[word] = TLB_STALE_MARKER;
    }
    return true;
}

/* --- The phases ----------------------------------------------------------- */

static void phase_fill(uint32_t index)
{
    for (unsigned page = index; page < TLB_PAGES; page += tlb_cpus) {
        volatile uint64_t *words = page_words(tlb_range, page);
        for (unsigned word = 0; word < TLB_WORDS; word++)
            words[word] = pattern(page, word, 0);
    }
}

static void phase_read_pattern(uint32_t index)
{
    for (unsigned page = 0; page < TLB_PAGES; page++) {
        volatile uint64_t *words = page_words(tlb_range, page);
        for (unsigned word = 0; word < TLB_WORDS; word++) {
            uint64_t value = words[word];
            if (value != pattern(page, word, 0)) {
                selftest_fail("cpu %u page %u reads %#llx, not what was written", index, page,
                              (unsigned long long)value);
                return;
            }
        }
    }
}

static void check_zero(uint32_t index, uint64_t *range, unsigned pages, unsigned round)
{
    for (unsigned page = 0; page < pages; page++) {
        volatile uint64_t *words = page_words(range, page);
        for (unsigned word = 0; word < TLB_WORDS; word++) {
            uint64_t value = words[word];
            if (value == 0)
                continue;
            if (value == TLB_STALE_MARKER)
                selftest_fail("cpu %u page %u reads the released page's marker: a stale TLB entry", index, page);
            else if (value == pattern(page, word, round))
                selftest_fail("cpu %u page %u reads %#llx, the data from before the release", index, page,
                              (unsigned long long)value);
            else
                selftest_fail("cpu %u page %u reads %#llx after the release, not zero", index, page,
                              (unsigned long long)value);
            return;
        }
    }
}

static void phase_read_zero(uint32_t index)
{
    check_zero(index, tlb_range, TLB_PAGES, 0);
}

// "running": the CPU that started the test releases while the others spin.
static uint32_t tlb_coordinator;
static uint32_t tlb_arrived;
static uint32_t tlb_go;

static void phase_stale_running(uint32_t index)
{
    phase_read_pattern(index);   // caches the translations
    if (index == tlb_coordinator) {
        uint64_t deadline = nanotime() + TLB_WAIT_NS;
        while (__atomic_load_n(&tlb_arrived, __ATOMIC_ACQUIRE) < tlb_cpus - 1 && nanotime() < deadline)
            cpu_relax();
        char reason[120];
        if (__atomic_load_n(&tlb_arrived, __ATOMIC_ACQUIRE) < tlb_cpus - 1)
            selftest_fail("not every CPU arrived to wait");
        else if (!release_and_mark("release", reason, sizeof reason))
            selftest_fail("%s", reason);
        __atomic_store_n(&tlb_go, 1, __ATOMIC_RELEASE);
    } else {
        __atomic_add_fetch(&tlb_arrived, 1, __ATOMIC_ACQ_REL);
        uint64_t deadline = nanotime() + TLB_WAIT_NS;
        while (!__atomic_load_n(&tlb_go, __ATOMIC_ACQUIRE)) {
            if (nanotime() > deadline) {
                selftest_fail("cpu %u waited in vain for the release", index);
                return;
            }
            cpu_relax();   // busy, interrupts on: the shoot-down interrupts this loop
        }
    }
    if (!selftest_failed())
        check_zero(index, tlb_range, TLB_PAGES, 0);
}

static void phase_concurrent(uint32_t index)
{
    uint64_t *range = tlb_concurrent_range + (size_t)index * TLB_CONCURRENT_PAGES * TLB_WORDS;
    for (unsigned round = 1; round <= TLB_ROUNDS && !selftest_failed(); round++) {
        for (unsigned page = 0; page < TLB_CONCURRENT_PAGES; page++) {
            volatile uint64_t *words = page_words(range, page);
            for (unsigned word = 0; word < TLB_WORDS; word++)
                words[word] = pattern(page, word, round);
        }
        for (unsigned page = 0; page < TLB_CONCURRENT_PAGES; page++) {
            uint64_t value = page_words(range, page)[TLB_WORDS - 1];
            if (value != pattern(page, TLB_WORDS - 1, round)) {
                selftest_fail("cpu %u page %u reads %#llx, not what it wrote", index, page, (unsigned long long)value);
                return;
            }
        }
        platform_release(range, TLB_CONCURRENT_PAGES * PAGE_SIZE);
        check_zero(index, range, TLB_CONCURRENT_PAGES, round);
    }
    platform_release(range, TLB_CONCURRENT_PAGES * PAGE_SIZE);
}

/* --- The test ------------------------------------------------------------- */

bool selftest_tlb_run(char *reason, size_t size)
{
    tlb_cpus = __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE);
    tlb_coordinator = this_cpu()->index;
    tlb_range = platform_reserve(TLB_PAGES * PAGE_SIZE);
    tlb_concurrent_range = platform_reserve((size_t)tlb_cpus * TLB_CONCURRENT_PAGES * PAGE_SIZE);
    if (tlb_range == NULL || tlb_concurrent_range == NULL) {
        snprintf(reason, size, "platform_reserve failed");
        return false;
    }

    // give back, stale: the other CPUs halted while CPU 0 releases.
    if (!run_on_every_cpu(phase_fill, "fill", reason, size) ||
        !run_on_every_cpu(phase_read_pattern, "read", reason, size) ||
        !release_and_mark("release", reason, size))
        return false;
    bool zero = run_on_every_cpu(phase_read_zero, "stale", reason, size);
    give_back_held_pages();
    if (!zero)
        return false;

    // again
    if (!release_gives_back(tlb_range, TLB_PAGES, "second release", reason, size))
        return false;

    // running: the other CPUs busy while CPU 0 releases.
    if (!run_on_every_cpu(phase_fill, "fill", reason, size))
        return false;
    zero = run_on_every_cpu(phase_stale_running, "running", reason, size);
    give_back_held_pages();
    if (!zero || !release_gives_back(tlb_range, TLB_PAGES, "third release", reason, size))
        return false;

    // concurrent: touch every page once first, so that the page tables it
    // needs exist before the count starts.
    size_t concurrent_pages = (size_t)tlb_cpus * TLB_CONCURRENT_PAGES;
    for (size_t page = 0; page < concurrent_pages; page++)
        *page_words(tlb_concurrent_range, (unsigned)page) = 1;
    platform_release(tlb_concurrent_range, concurrent_pages * PAGE_SIZE);
    uint64_t free_before = pmm_free_page_count();
    uint64_t shootdowns_before = tlb_shootdown_count();
    if (!run_on_every_cpu(phase_concurrent, "concurrent", reason, size))
        return false;
    uint64_t free_after = pmm_free_page_count();
    if (free_after != free_before) {
        snprintf(reason, size, "concurrent phase: the pmm has %lld pages fewer than before",
                 (long long)(free_before - free_after));
        return false;
    }
    uint64_t shootdowns = tlb_shootdown_count() - shootdowns_before;
    if (tlb_cpus > 1 && shootdowns < (uint64_t)tlb_cpus * (TLB_ROUNDS + 1)) {
        snprintf(reason, size, "concurrent phase: %llu shoot-downs for %u releases",
                 (unsigned long long)shootdowns, tlb_cpus * (TLB_ROUNDS + 1));
        return false;
    }
    log_info("selftest tlb: %u CPUs; %d pages released three times, unseen by every CPU (halted or busy) "
             "and back in the pmm; %llu concurrent shoot-downs\n",
             tlb_cpus, TLB_PAGES, (unsigned long long)shootdowns);
    return true;
}
