"""The integration-test harness (helpers; conftest.py builds the images): boot hardway in QEMU and read its console.

Every test starts QEMU through tools/run-qemu (the same runner `make run` and
the benchmarks use) with a timeout, and judges the serial console and QEMU's
exit status. The kernel's interface (DESIGN.md) is what we test against:

  hardway ready: cpus=N mem=M MiB [key=value ...]    once booting is done
  selftest NAME: ok | selftest NAME: FAIL <reason>   with selftest=NAME
  isa-debug-exit: status 1 for a pass, 3 or more for a failure

Without a self-test the kernel stays up after "hardway ready" (running its
network services), so boot tests ask run-qemu to stop QEMU once that line
has been seen (--until). Network tests keep it running in the background
(`Guest`) while they talk to it through forwarded loopback ports. Self-test
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
import socket
import subprocess
import threading
import time

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


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Guest:
    """hardway running in QEMU in the background, for tests that talk to it
    over the network: `forwards` maps guest TCP ports to host ports on
    127.0.0.1 (QEMU's hostfwd). Use as a context manager; the console is
    collected as it comes and printed when the test is done (pytest shows
    it for failures)."""

    def __init__(self, *, append="", smp=2, memory=256, forwards=None, extra=(), timeout=600 * TIMEOUT_SCALE):
        self.forwards = dict(forwards or {})
        command = [RUN_QEMU, "--kernel", KERNEL_ELF, "--smp", str(smp), "--memory", str(memory),
                   "--timeout", str(timeout), "--accel", "tcg"]
        if append:
            command += ["--append", append]
        for guest_port, host_port in self.forwards.items():
            command += ["--hostfwd", f"tcp:127.0.0.1:{host_port}-:{guest_port}"]
        self.command = command + list(extra)
        self._lines = []
        self._changed = threading.Condition()

    def __enter__(self):
        self._process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, cwd=ROOT)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self):
        for raw in self._process.stdout:
            line = TERMINAL_ESCAPE.sub("", raw.decode("utf-8", errors="replace")).rstrip("\r\n")
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def console(self):
        with self._changed:
            return "\n".join(self._lines)

    def wait_for(self, pattern, timeout=TIMEOUT_KERNEL):
        """The first console line matching `pattern` (a regex), waiting up
        to `timeout` seconds for it; AssertionError if it never comes or
        QEMU ends first."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self._lines[seen:]:
                    found = regex.search(line)
                    if found:
                        return found
                seen = len(self._lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self._process.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no console line matching {pattern!r} "
                                         f"(QEMU {'ended' if self._process.poll() is not None else 'still running'})")
                self._changed.wait(min(left, 0.5))

    def __exit__(self, *exception):
        self._process.terminate()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=10)
        print("$ " + shlex.join(self.command))
        print("----- serial console -----")
        print(self.console)
        return False
