"""Bad command-line input never stops the boot: unknown keys, values that do
not parse and words without a key each earn a warning naming the word, and
the kernel still reaches "hardway ready". The boot's "cmdline:" line shows
every option's effective value, the collector's (gogc=, gomemlimit=,
gctrace=, gccheckmark=, gcstress=) included."""

from harness import KERNEL_ELF, TIMEOUT_KERNEL, assert_ready, boot_until_ready

MEMORY_MIB = 256


def test_bad_cmdline_warns_and_boots():
    run = boot_until_ready(kernel=KERNEL_ELF, append="bogus=1 procs=abc =x loglevel=99", smp=2,
                           memory=MEMORY_MIB, timeout=TIMEOUT_KERNEL)
    assert_ready(run, 2, MEMORY_MIB)
    for word in ("bogus=1", "procs=abc"):
        assert run.lines_containing("warning: cmdline:", word), f"no 'warning: cmdline: ...' line naming {word}"


def test_bad_collector_values_warn_and_keep_the_defaults():
    run = boot_until_ready(kernel=KERNEL_ELF, append="gogc=lots gomemlimit=64M gcstress=-1 gctrace=2", smp=2,
                           memory=MEMORY_MIB, timeout=TIMEOUT_KERNEL)
    assert_ready(run, 2, MEMORY_MIB)
    for word, expected in (("gogc=lots", "or off"), ("gomemlimit=64M", "MiB"), ("gcstress=-1", "0.."),
                           ("gctrace=2", "0 or 1")):
        assert run.lines_containing("warning: cmdline:", f"'{word}'", expected), \
            f"no 'warning: cmdline: ...' line naming {word} and saying what is expected ({expected})"
    options = _printed_options(run)
    assert (options["gogc"], options["gomemlimit"], options["gctrace"], options["gcstress"]) == ("100", "0", "0", "0"), \
        f"the defaults did not stay: {options}"


def test_collector_options_are_printed():
    run = boot_until_ready(kernel=KERNEL_ELF, append="gogc=off gomemlimit=512MiB gctrace=1 gccheckmark gcstress=7",
                           smp=2, memory=MEMORY_MIB, timeout=TIMEOUT_KERNEL)
    assert_ready(run, 2, MEMORY_MIB)
    assert not run.lines_containing("warning: cmdline:"), "good values were warned about"
    options = _printed_options(run)
    expected = {"gogc": "off", "gomemlimit": "512MiB", "gctrace": "1", "gccheckmark": "1", "gcstress": "7"}
    assert {key: options.get(key) for key in expected} == expected, f"the cmdline: line says {options}"


def _printed_options(run):
    """The options of the boot's "cmdline: key=value ..." line, as a dict."""
    lines = run.lines_containing("cmdline: procs=")
    assert lines, "no 'cmdline: procs=...' line"
    words = lines[0].split("cmdline: ", 1)[1].split()
    return dict(word.partition("=")[::2] for word in words)
