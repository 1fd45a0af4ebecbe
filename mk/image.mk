# mk/image.mk: bootable images, and booting them (make image, run, debug).
#
# One GRUB ISO serves every machine: grub-mkrescue writes a hybrid image that
# boots from BIOS (El Torito, or the MBR when it is used as a hard disk) and
# from UEFI (an EFI system partition inside the ISO). GRUB loads the kernel
# ELF with its multiboot2 loader and boot/grub.cfg. The VMware disk is that
# same ISO converted by qemu-img with an IDE adapter type (QEMU.md: the hybrid
# ISO boots as an IDE hard disk), and the .vmx is filled in from a template.
#
# make run boots the ISO under TCG by default. QEMU.md measured that KVM hangs
# booting a GRUB ISO on these (nested) machines, so KVM is opt-in:
# `make run ACCEL=kvm` for the ISO (works where KVM is not nested), or
# `make run-kernel ACCEL=kvm`, which boots the ELF with -kernel, the path that
# works under KVM here.
#
# make debug starts QEMU halted with a gdb server on 127.0.0.1:$(GDB_PORT),
# booting the ELF with -kernel under TCG, and attaches gdb stopped at
# kernel_main (see tools/debug-kernel and tools/debug.gdb).

ISO        := images/hardway.iso
VMDK       := images/hardway.vmdk
VMX        := images/hardway.vmx
ISO_ROOT   := $(BUILD)/iso-root

# The machine make run and the VMware template describe.
RUN_MEMORY_MB ?= 512
VMX_CPUS      ?= 2
# -smp: the host's CPU count, at least 2 (to exercise SMP), at most 4.
RUN_SMP       ?= auto
ACCEL         ?= tcg
# Command line for make run-kernel and make debug (the ISO's is in grub.cfg).
CMDLINE       ?= loglevel=info echo=7
GDB_PORT      ?= 1234
# The guest's echo service (echo=7 on both command lines) is forwarded from
# this port on the host's 127.0.0.1: `nc 127.0.0.1 7007` talks to it.
RUN_ECHO_PORT ?= 7007

.PHONY: image iso run run-kernel debug

image: $(ISO) $(VMDK) $(VMX)
iso: $(ISO)

# --locales= and --themes= leave out what a one-entry, no-menu boot never
# shows. The image is written to a temporary name first so that a failed run
# leaves no half-written ISO behind that make would take as up to date.
$(ISO): $(KERNEL_ELF) boot/grub.cfg
	@mkdir -p $(dir $@)
	rm -rf $(ISO_ROOT)
	mkdir -p $(ISO_ROOT)/boot/grub
	cp $(KERNEL_ELF) $(ISO_ROOT)/boot/hardway.elf
	cp boot/grub.cfg $(ISO_ROOT)/boot/grub/grub.cfg
	grub-mkrescue --locales= --themes= -o $@.tmp $(ISO_ROOT) 2> $(BUILD)/grub-mkrescue.log \
	    || { cat $(BUILD)/grub-mkrescue.log >&2; rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

# Converted under build/ and then moved: the disk's embedded descriptor names
# its own file, so the temporary file must already bear the final name.
$(VMDK): $(ISO)
	@mkdir -p $(BUILD)/vmdk
	qemu-img convert -f raw -O vmdk -o adapter_type=ide,subformat=monolithicSparse $< $(BUILD)/vmdk/$(notdir $@)
	mv $(BUILD)/vmdk/$(notdir $@) $@

$(VMX): images/hardway.vmx.in mk/image.mk
	sed -e 's|@NAME@|hardway|' \
	    -e 's|@MEMORY_MB@|$(RUN_MEMORY_MB)|' \
	    -e 's|@CPUS@|$(VMX_CPUS)|' \
	    -e 's|@DISK@|$(notdir $(VMDK))|' \
	    -e 's|@SERIAL_LOG@|hardway-serial.log|' \
	    $< > $@.tmp
	mv $@.tmp $@

# The ISO is built after deps so that grub-mkrescue is there on a fresh
# machine (a sub-make keeps that order under make -j as well).
run: deps
	@$(MAKE) --no-print-directory iso
	tools/run-qemu --interactive --iso $(ISO) --smp $(RUN_SMP) --memory $(RUN_MEMORY_MB) --accel $(ACCEL) \
	    --hostfwd tcp:127.0.0.1:$(RUN_ECHO_PORT)-:7

run-kernel: deps
	@$(MAKE) --no-print-directory kernel
	tools/run-qemu --interactive --kernel $(KERNEL_ELF) --append "$(CMDLINE)" \
	    --smp $(RUN_SMP) --memory $(RUN_MEMORY_MB) --accel $(ACCEL) --hostfwd tcp:127.0.0.1:$(RUN_ECHO_PORT)-:7

debug: deps
	@$(MAKE) --no-print-directory kernel
	GDB_PORT=$(GDB_PORT) tools/debug-kernel $(KERNEL_ELF) "$(CMDLINE)"
