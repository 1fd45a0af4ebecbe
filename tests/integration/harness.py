"""The integration-test harness (helpers; conftest.py builds the images): boot hardway in QEMU and read its console.

Every test starts QEMU through tools/run-qemu (the same runner `make run` and
the benchmarks use) with a timeout, and judges the serial console and QEMU's
exit status. The kernel's interface (DESIGN.md) is what we test against:

  hardway ready: cpus=N mem=M MiB [key=value ...]    once booting is done
  selftest NAME: ok | selftest NAME: FAIL <reason>   with selftest=NAME
  isa-debug-exit: status 1 for a pass, 3 or more for a failure

Without a self-test the kernel stays up after "hardway ready", so boot tests
ask run-qemu to stop QEMU once that line has been seen (--until). Self-test
runs end by themselves through isa-debug-exit; the harness stops them only
if they overrun.

On failure pytest shows what the run printed: `boot()` prints the console
and run-qemu's own messages, which pytest captures and reports for failing
tests only.

Knobs (environment):
  HARDWAY_TEST_NO_BUILD=1       do not run `make kernel image` first
                                (make test has just done it)
  HARDWAY_TEST_TIMEOUT_SCALE=F  multiply every timeout by F (a slow machine)
"""

import dataclasses
import os
import re
import shlex
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RUN_QEMU = os.path.join(ROOT, "tools", "run-qemu")
KERNEL_ELF = os.path.join(ROOT, "build", "kernel", "hardway.elf")
ISO = os.path.join(ROOT, "images", "hardway.iso")
VMDK = os.path.join(ROOT, "images", "hardway.vmdk")

# Terminal control sequences (SeaBIOS, OVMF and GRUB clear and colour the
# screen), removed so that the console reads as text.
TERMINAL_ESCAPE = re.compile(r"\x1b(\[[0-9;?=]*[A-Za-z]|[@-Z\\-_])")

READY_PATTERN = r"hardway ready: cpus=\d+ mem=\d+ MiB"
READY_LINE = re.compile(r"^.*hardway ready: cpus=(?P<cpus>\d+) mem=(?P<mem>\d+) MiB(?P<rest>.*)$", re.MULTILINE)

# Generous bounds, for a loaded two-core CI machine running TCG; a healthy
# boot takes a small fraction of them (-kernel ~0.2 s, BIOS ISO ~1 s, UEFI
# ~6 s). They only cost time when something hangs.
TIMEOUT_SCALE = float(os.environ.get("HARDWAY_TEST_TIMEOUT_SCALE", "1"))
TIMEOUT_KERNEL = 30 * TIMEOUT_SCALE
TIMEOUT_BIOS = 60 * TIMEOUT_SCALE
TIMEOUT_UEFI = 120 * TIMEOUT_SCALE


@dataclasses.dataclass
class Run:
    """What one QEMU run left behind."""

    status: int           # run-qemu's exit status: QEMU's, 0 after --until, 124 on timeout
    console: str = dataclasses.field(repr=False)   # serial output, no CRs or terminal escapes
    messages: str = dataclasses.field(repr=False)  # run-qemu's and QEMU's own stderr
    command: list = dataclasses.field(repr=False)

    @property
    def timed_out(self):
        return self.status == 124

    def ready(self):
        """The fields of the "hardway ready" line as a dict of strings (cpus,
        mem, and any extra key=value), or None when the line never came."""
        found = READY_LINE.search(self.console)
        if not found:
            return None
        fields = {"cpus": found["cpus"], "mem": found["mem"]}
        for word in found["rest"].split():
            key, equals, value = word.partition("=")
            if equals:
                fields[key] = value
        return fields

    def lines_containing(self, *needles):
        return [line for line in self.console.splitlines() if all(needle in line for needle in needles)]


def boot(*, kernel=None, iso=None, vmdk=None, uefi=False, append=None, smp=2, memory=256,
         timeout=TIMEOUT_KERNEL, until=(), grace=0.3, extra=()):
    """Boot one medium with tools/run-qemu and return a Run."""
    command = [RUN_QEMU, "--smp", str(smp), "--memory", str(memory), "--timeout", str(timeout),
               "--grace", str(grace), "--accel", "tcg"]
    if kernel:
        command += ["--kernel", kernel]
        if append is not None:
            command += ["--append", append]
    elif iso:
        command += ["--iso", iso]
    elif vmdk:
        command += ["--vmdk", vmdk]
    if uefi:
        command += ["--uefi"]
    for pattern in until:
        command += ["--until", pattern]
    command += list(extra)

    # run-qemu enforces the timeout; the margin here only guards against the
    # runner itself wedging.
    finished = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout + 30, cwd=ROOT)
    run = Run(status=finished.returncode,
              console=TERMINAL_ESCAPE.sub("", finished.stdout.decode("utf-8", errors="replace")).replace("\r", ""),
              messages=finished.stderr.decode("utf-8", errors="replace"),
              command=command)
    # Shown by pytest only when the test fails.
    print("$ " + shlex.join(command))
    print("----- serial console -----")
    print(run.console)
    print("----- run-qemu / QEMU messages -----")
    print(run.messages)
    print(f"----- exit status {run.status} -----")
    return run


def boot_until_ready(**options):
    """Boot, and stop QEMU shortly after the "hardway ready" line."""
    return boot(until=[READY_PATTERN], **options)


def assert_ready(run, cpus, memory):
    """The run reached "hardway ready" with cpus == -smp and mem consistent
    with -m: firmware and loader keep some RAM for themselves (the BIOS area
    below 1 MiB, ACPI tables, UEFI runtime services), so allow 90-100 %."""
    fields = run.ready()
    assert fields is not None, (
        "no 'hardway ready: cpus=N mem=M MiB' line "
        + ("(QEMU timed out)" if run.timed_out else f"(QEMU exited with status {run.status})")
        + "; the console is in the captured output below")
    assert int(fields["cpus"]) == cpus, f"ready line says cpus={fields['cpus']}, QEMU had -smp {cpus}"
    mem = int(fields["mem"])
    assert 0.9 * memory <= mem <= memory, f"ready line says mem={mem} MiB, QEMU had -m {memory}: not within 90-100 %"
