"""pytest setup for the integration tests: build what they boot, once.

The helpers the tests use (boot, assert_ready, ...) are in harness.py.
"""

import os
import subprocess
import sys

import pytest

from harness import ISO, KERNEL_ELF, ROOT, VMDK


@pytest.fixture(scope="session", autouse=True)
def built_images():
    """Build the kernel and the images once per session (make test has done
    it already and says so through HARDWAY_TEST_NO_BUILD)."""
    if os.environ.get("HARDWAY_TEST_NO_BUILD") != "1":
        result = subprocess.run(["make", "--no-print-directory", "kernel", "image"], cwd=ROOT,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if result.returncode != 0:
            sys.stdout.write(result.stdout)
            sys.stderr.write(result.stderr)
            pytest.exit("make kernel image failed; see above", returncode=1)
    for path in (KERNEL_ELF, ISO, VMDK):
        if not os.path.isfile(path):
            pytest.exit(f"{path} is missing: run make image", returncode=1)
