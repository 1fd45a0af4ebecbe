"""Self-tests: the kernel runs one built-in test named by selftest=NAME,
prints its verdict and leaves QEMU through isa-debug-exit (status 1 = pass,
3 or more = failure).

timer, ipi and tlb need every CPU, so they run with -smp 4 (tlb: a page
one CPU gives back must be unreadable through every other CPU's TLB). gc
builds binary trees on all four CPUs with checkmark and gctrace on: its
console must carry Go's gctrace lines as well as the verdict. fault
provokes a page fault on purpose: the test passes when the kernel's fault
report is complete (exception name, CR2, registers, a symbolized backtrace
through selftest_fault) and QEMU exits with a failure status, as any fatal
fault must.
"""

import re

import pytest

from harness import KERNEL_ELF, TIMEOUT_KERNEL, boot

MEMORY_MIB = 256

# One line per collection, Go's GODEBUG=gctrace=1 format:
#   gc 3 @0.412s 4%: 0.051+12+0.083 ms clock, 0.20+1.1/9.8/0.40+0.33 ms cpu, 6->7->2 MB, 8 MB goal, ..., 4 P
MS = r"\d+(?:\.\d+)?"
GCTRACE_LINE = re.compile(
    rf"^gc (?P<cycle>\d+) @\d+\.\d{{3}}s \d+%: {MS}\+{MS}\+{MS} ms clock, "
    rf"{MS}\+{MS}/{MS}/{MS}\+{MS} ms cpu, \d+->\d+->\d+ MB, \d+ MB goal, .*\b(?P<procs>\d+) P(?: \(forced\))?$",
    re.MULTILINE)


@pytest.mark.parametrize("name", ["timer", "ipi", "ioapic", "sched", "malloc", "tlb", "pci"])
def test_selftest_passes(name):
    # Stop early if the verdict is printed but QEMU does not exit by itself.
    run = boot(kernel=KERNEL_ELF, append=f"selftest={name}", smp=4, memory=MEMORY_MIB,
               timeout=TIMEOUT_KERNEL, until=[rf"selftest {name}: (ok|FAIL)"], grace=5)
    verdicts = run.lines_containing(f"selftest {name}:")
    assert verdicts, f"no 'selftest {name}: ...' line (exit status {run.status})"
    assert any(re.search(rf"selftest {name}: ok\b", line) for line in verdicts), \
        f"self-test did not pass: {verdicts}"
    assert run.status == 1, (
        f"QEMU exit status {run.status}: expected 1, the isa-debug-exit encoding of a pass"
        + (" (the kernel did not exit through isa-debug-exit)" if run.status in (0, 124) else ""))


def test_selftest_gc_passes_and_traces_cycles():
    # Checkmark is on: a missed object would end the run with a fatal error
    # instead of the ok line. The trees allocate far past the first heap
    # goal, so there are paced cycles besides the self-test's two forced ones.
    run = boot(kernel=KERNEL_ELF, append="selftest=gc", smp=4, memory=MEMORY_MIB,
               timeout=TIMEOUT_KERNEL, until=[r"selftest gc: (ok|FAIL)"], grace=5)
    verdicts = run.lines_containing("selftest gc:", ": ok") + run.lines_containing("selftest gc: FAIL")
    fatal = run.lines_containing("fatal error:")
    assert verdicts, f"no 'selftest gc: ...' verdict (exit status {run.status}){': ' + fatal[0] if fatal else ''}"
    assert any(re.search(r"selftest gc: ok\b", line) for line in verdicts), f"self-test did not pass: {verdicts}"
    traces = list(GCTRACE_LINE.finditer(run.console))
    assert traces, "no gctrace line in Go's format ('gc N @T.TTTs P%: ... ms clock, ... ms cpu, A->B->C MB, ...')"
    assert all(trace["procs"] == "4" for trace in traces), \
        f"gctrace lines should say 4 P: {[trace.group(0) for trace in traces]}"
    cycles = [int(trace["cycle"]) for trace in traces]
    assert cycles == sorted(set(cycles)), f"gctrace cycle numbers do not count up: {cycles}"
    assert any(trace.group(0).endswith("(forced)") for trace in traces), "no '(forced)' line for runtime_gc's cycles"
    assert run.status == 1, f"QEMU exit status {run.status}: expected 1, the isa-debug-exit encoding of a pass"


def test_gogc_off_reaches_the_runtime():
    # gogc=off from the command line turns the pacer off in the runtime: no
    # cycle starts by itself, every gctrace line is one of runtime_gc's.
    run = boot(kernel=KERNEL_ELF, append="selftest=gc gogc=off", smp=4, memory=MEMORY_MIB,
               timeout=TIMEOUT_KERNEL, until=[r"selftest gc: (ok|FAIL)"], grace=5)
    assert run.lines_containing("selftest gc: ok"), \
        f"self-test did not pass: {run.lines_containing('selftest gc:') or run.lines_containing('fatal error:')}"
    traces = [trace.group(0) for trace in GCTRACE_LINE.finditer(run.console)]
    assert traces, "no gctrace line"
    assert all(trace.endswith("(forced)") for trace in traces), f"a cycle started by itself with gogc=off: {traces}"


def test_memstats_are_printed_with_the_verdict():
    # memstats=1: the allocator's statistics come before the verdict line,
    # and after selftest=malloc every manually allocated byte is back.
    run = boot(kernel=KERNEL_ELF, append="selftest=malloc memstats=1", smp=2, memory=MEMORY_MIB,
               timeout=TIMEOUT_KERNEL, until=[r"selftest malloc: (ok|FAIL)"], grace=5)
    totals = run.lines_containing("memstats: heap_alloc=")
    assert totals, "no 'memstats: heap_alloc=...' line"
    fields = dict(word.split("=", 1) for word in totals[0].split()[1:])
    for name in ("heap_sys", "heap_idle", "heap_inuse", "heap_released", "mallocs", "frees"):
        assert name in fields, f"memstats line lacks {name}: {totals[0]}"
    assert int(fields["heap_sys"]) == int(fields["heap_inuse"]) + int(fields["heap_idle"]), totals[0]
    assert run.lines_containing("memstats: class="), "no per-size-class lines"
    assert run.lines_containing("selftest malloc: ok"), "the self-test did not pass"


def test_selftest_fault_reports_page_fault():
    # The backtrace comes last; stop early if QEMU does not exit after it.
    run = boot(kernel=KERNEL_ELF, append="selftest=fault", smp=2, memory=MEMORY_MIB,
               timeout=TIMEOUT_KERNEL, until=["selftest_fault"], grace=5)
    console = run.console
    assert re.search(r"page fault", console, re.IGNORECASE), "the exception is not named 'page fault'"
    assert "CR2" in console.upper(), "no CR2 (the faulting address) in the report"
    for register in ("RIP", "RSP", "RAX"):
        assert re.search(rf"\b{register}\b", console, re.IGNORECASE), f"register {register} missing from the report"
    assert run.lines_containing("selftest_fault"), "no backtrace line naming selftest_fault"
    assert run.status >= 3 and run.status != 124, (
        f"QEMU exit status {run.status}: expected 3 or more, the isa-debug-exit encoding of a failure"
        + (" (QEMU timed out)" if run.status == 124 else ""))


def test_selftest_stack_overflow_is_reported():
    # Recursion runs the boot stack into its unmapped guard page. The page
    # fault runs on an interrupt stack of its own, so the report appears even
    # though the faulting stack is used up.
    run = boot(kernel=KERNEL_ELF, append="selftest=stack-overflow", smp=2, memory=MEMORY_MIB,
               timeout=TIMEOUT_KERNEL, until=["boot_entry64"], grace=5)
    assert run.lines_containing("Page Fault"), "the page fault was not reported"
    assert run.lines_containing("stack overflow"), "the report does not name the stack overflow"
    assert run.lines_containing("selftest_recurse"), "the backtrace does not show the recursion"
    assert run.lines_containing("kernel_main"), "the backtrace does not reach kernel_main"
    assert run.status >= 3 and run.status != 124, f"QEMU exit status {run.status}: expected a failure status"


def test_running_out_of_memory_is_reported():
    # Filling memory until the physical pages run out ends in a page fault
    # whose report says why, with a backtrace through the allocation.
    run = boot(kernel=KERNEL_ELF, append="selftest=out-of-memory", smp=2, memory=64,
               timeout=TIMEOUT_KERNEL, until=["kernel_main"], grace=5)
    assert run.lines_containing("cause: out of memory"), "the report does not say the machine is out of memory"
    assert run.lines_containing("backtrace:"), "no backtrace"
    assert run.lines_containing("kernel_main"), "the backtrace does not reach kernel_main"
    assert run.status >= 3 and run.status != 124, f"QEMU exit status {run.status}: expected a failure status"


def test_goroutine_stack_grows_then_overflows():
    # A goroutine's stack grows page by page (each first touch faults and
    # the kernel maps a page) until the guard page below its reservation:
    # that fault names the goroutine.
    run = boot(kernel=KERNEL_ELF, append="selftest=goroutine-stack-overflow", smp=2, memory=MEMORY_MIB,
               timeout=TIMEOUT_KERNEL, until=["goroutine 2 stack overflow"], grace=5)
    assert run.lines_containing("goroutine 2 stack overflow"), "the overflowing goroutine was not named"
    assert run.lines_containing("recurse_deeply"), "the backtrace does not show the recursion"
    assert run.status >= 3 and run.status != 124, f"QEMU exit status {run.status}: expected a failure status"
