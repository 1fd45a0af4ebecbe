"""Boot tests: every medium and firmware hardway ships for reaches "hardway
ready" with as many CPUs as QEMU was given and the RAM it was given.

  ISO under BIOS (SeaBIOS, El Torito CD)     -smp 1 and -smp 4
  ISO under UEFI (OVMF)                      -smp 4
  VMware disk under BIOS (IDE hard disk)     -smp 2
  the ELF through QEMU's -kernel (multiboot1) -smp 2

Each boot also says which screen console it chose: VGA text under BIOS, the
framebuffer GRUB passes under UEFI. Every CPU announces itself online.
"""

import pytest

from harness import (ISO, KERNEL_ELF, TIMEOUT_BIOS, TIMEOUT_KERNEL, TIMEOUT_UEFI, VMDK,
                     assert_ready, boot_until_ready)

MEMORY_MIB = 256


@pytest.mark.parametrize("cpus", [1, 4])
def test_iso_boots_under_bios(cpus):
    run = boot_until_ready(iso=ISO, smp=cpus, memory=MEMORY_MIB, timeout=TIMEOUT_BIOS)
    assert_ready(run, cpus, MEMORY_MIB)
    assert run.lines_containing("screen: VGA text"), "the BIOS boot did not choose the VGA text console"
    for cpu in range(cpus):
        assert run.lines_containing(f"cpu {cpu} online"), f"cpu {cpu} never said it was online"


def test_iso_boots_under_uefi():
    run = boot_until_ready(iso=ISO, uefi=True, smp=4, memory=MEMORY_MIB, timeout=TIMEOUT_UEFI)
    assert_ready(run, 4, MEMORY_MIB)
    assert run.lines_containing("multiboot2, UEFI"), "the kernel did not see that UEFI booted it"
    assert run.lines_containing("screen: framebuffer"), "the UEFI boot did not get GRUB's framebuffer"


def test_vmdk_boots_under_bios():
    run = boot_until_ready(vmdk=VMDK, smp=2, memory=MEMORY_MIB, timeout=TIMEOUT_BIOS)
    assert_ready(run, 2, MEMORY_MIB)


def test_elf_boots_with_qemu_kernel():
    run = boot_until_ready(kernel=KERNEL_ELF, append="loglevel=info", smp=2, memory=MEMORY_MIB,
                           timeout=TIMEOUT_KERNEL)
    assert_ready(run, 2, MEMORY_MIB)


def test_boots_without_a_pit():
    # No 8254 PIT (as on some modern machines): the TSC and APIC timer are
    # measured against the ACPI PM timer instead, and the boot says so.
    run = boot_until_ready(kernel=KERNEL_ELF, smp=2, memory=MEMORY_MIB, timeout=TIMEOUT_KERNEL,
                           extra=["--", "-machine", "pc,pit=off"])
    assert_ready(run, 2, MEMORY_MIB)
    assert run.lines_containing("measuring with the ACPI PM timer"), "no word of the fallback clock"
