"""Ending a run: power-off without QEMU's test device, reboot, and bad self-test names.

Without isa-debug-exit the kernel cannot hand QEMU an exit status, so after a
self-test it powers the machine off through ACPI (S5: the SLP_TYP values from
the DSDT's \\_S5 object written to the FADT's PM1 control register). QEMU
then exits by itself with status 0. A self-test name the kernel does not know
is a failure with a message, not a hang.
"""

from harness import KERNEL_ELF, TIMEOUT_KERNEL, boot


def test_acpi_power_off_ends_the_run():
    run = boot(kernel=KERNEL_ELF, append="selftest=timer", smp=2, memory=256,
               timeout=TIMEOUT_KERNEL, extra=["--no-debug-exit"])
    assert run.lines_containing("selftest timer: ok"), "the self-test did not pass"
    assert not run.timed_out, "QEMU kept running: the ACPI power-off did not happen"
    assert run.status == 0, f"QEMU exit status {run.status}: a powered-off guest leaves QEMU with 0"
    assert not run.lines_containing("power-off did not happen"), "the kernel reported that power-off failed"


def test_unknown_selftest_fails_with_a_reason():
    run = boot(kernel=KERNEL_ELF, append="selftest=no-such-test", smp=1, memory=256,
               timeout=TIMEOUT_KERNEL)
    verdicts = run.lines_containing("selftest no-such-test: FAIL")
    assert verdicts and "no such self-test" in verdicts[0], f"no clear failure line: {verdicts}"
    assert run.status == 3, f"QEMU exit status {run.status}: expected 3, the isa-debug-exit encoding of a failure"


def test_reboot_boots_the_kernel_again():
    # QEMU normally runs with -no-reboot; here a reset restarts the machine,
    # and QEMU's -kernel loader starts hardway again: a second ready line.
    run = boot(kernel=KERNEL_ELF, append="selftest=reboot", smp=2, memory=256, timeout=TIMEOUT_KERNEL,
               until=[r"(?s)hardway ready.*selftest reboot: resetting.*hardway ready"],
               extra=["--allow-reboot", "--no-debug-exit"])
    assert not run.timed_out, "the machine did not come back after the reset"
    assert len(run.lines_containing("hardway ready")) >= 2, "the kernel did not boot a second time"
    assert not run.lines_containing("selftest reboot: FAIL"), "the kernel says the reset failed"
