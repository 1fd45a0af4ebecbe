"""make debug works: QEMU halted with its gdb server, gdb with the kernel's
symbols, a hardware breakpoint on kernel_main that survives the loader's copy
of the kernel and the switch from 32-bit to long mode (tools/debug.gdb says
why each of those matters). Checked non-interactively with gdb's batch mode
through the same script make debug runs."""

import os
import socket
import subprocess

from harness import KERNEL_ELF, ROOT, TIMEOUT_KERNEL


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_gdb_stops_at_kernel_main(tmp_path):
    environment = dict(os.environ, GDB_PORT=str(free_port()), DEBUG_TIMEOUT=str(TIMEOUT_KERNEL),
                       DEBUG_SERIAL_LOG=str(tmp_path / "serial.log"))
    result = subprocess.run([os.path.join(ROOT, "tools", "debug-kernel"), "--batch", KERNEL_ELF, "loglevel=info"],
                            cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=TIMEOUT_KERNEL + 30)
    print(result.stdout)
    print(result.stderr)
    assert result.returncode == 0, "gdb did not stop at kernel_main"
    assert "kernel_main" in result.stdout
