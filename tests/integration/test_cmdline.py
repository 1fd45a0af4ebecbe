"""Bad command-line input never stops the boot: unknown keys, values that do
not parse and words without a key each earn a warning naming the word, and
the kernel still reaches "hardway ready"."""

from harness import KERNEL_ELF, TIMEOUT_KERNEL, assert_ready, boot_until_ready

MEMORY_MIB = 256


def test_bad_cmdline_warns_and_boots():
    run = boot_until_ready(kernel=KERNEL_ELF, append="bogus=1 procs=abc =x loglevel=99", smp=2,
                           memory=MEMORY_MIB, timeout=TIMEOUT_KERNEL)
    assert_ready(run, 2, MEMORY_MIB)
    for word in ("bogus=1", "procs=abc"):
        assert run.lines_containing("warning: cmdline:", word), f"no 'warning: cmdline: ...' line naming {word}"
