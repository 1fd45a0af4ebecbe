# hardway: one entry point.
#
#   make          build build/kernel/hardway.elf
#   make run      install what is missing, build the ISO, boot it in QEMU
#   make test     install what is missing, build, run every test
#   make image    images/hardway.iso, images/hardway.vmdk, images/hardway.vmx
#   make debug    QEMU halted with its gdb server, and gdb attached
#   make bench    every benchmark; make bench-boot for one suite
#   make deps     install the Debian packages the build and tests need
#
# Fragments under mk/ add the image, test and bench targets; this file holds
# the kernel build.

BUILD       := build
KERNEL_ELF  := $(BUILD)/kernel/hardway.elf

CC          := gcc
LD          := ld
# The kernel is freestanding: no host headers (only the compiler's own
# freestanding ones: stdint.h, stddef.h, stdarg.h, stdbool.h), no red zone
# (interrupts push onto the current stack), no SSE registers (the kernel does
# not save them on every interrupt), frame pointers kept for backtraces.
KERNEL_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
        -ffreestanding -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
        -Ikernel/libc/include -Ikernel -Iruntime -Inet \
        -fno-stack-protector -fstack-clash-protection -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only \
        -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
        -fno-asynchronous-unwind-tables -fno-strict-aliasing -MMD -MP
KERNEL_ASFLAGS := -g -Ikernel -MMD -MP
KERNEL_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --no-warn-rwx-segments -T boot/kernel.ld

# Fragments may add to KERNEL_EXTRA_OBJECTS (generated objects such as the
# console font), so they are read before the object list is fixed.
.DEFAULT_GOAL := all
-include mk/*.mk

KERNEL_C_SOURCES := $(wildcard kernel/*.c kernel/libc/*.c kernel/drivers/*.c)
KERNEL_S_SOURCES := $(wildcard boot/*.S kernel/*.S)
# The goroutine runtime, built freestanding into the kernel (its Linux port
# stays out), and kernel/platform.c, its kernel port. Their code is moved into
# the section runtime_text, which boot/kernel.ld brackets with symbols:
# asynchronous preemption never stops a goroutine there (runtime/preempt.c).
RUNTIME_KERNEL_SOURCES := $(filter-out runtime/platform_linux.c,$(wildcard runtime/*.c)) runtime/context_amd64.S
RUNTIME_KERNEL_OBJECTS := $(patsubst runtime/%,$(BUILD)/runtime/kernel/%.o,$(RUNTIME_KERNEL_SOURCES))
KERNEL_OBJECTS   := $(KERNEL_S_SOURCES:%.S=$(BUILD)/%.o) $(KERNEL_C_SOURCES:%.c=$(BUILD)/%.o) \
                    $(RUNTIME_KERNEL_OBJECTS) $(KERNEL_EXTRA_OBJECTS)
# All of a function's code must land in runtime_text: no cold parts split off.
# The generated size class table (mk/runtime.mk) is on the runtime's include path.
RUNTIME_KERNEL_CFLAGS  := -Iruntime -I$(RUNTIME_GENERATED_DIR) -fno-reorder-blocks-and-partition -fno-reorder-functions
RENAME_TO_RUNTIME_TEXT := objcopy --rename-section .text=runtime_text,alloc,load,readonly,code,contents

.PHONY: all kernel deps clean
all: kernel
kernel: $(KERNEL_ELF)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) -c $< -o $@
	$(RENAME_AFTER)

$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_ASFLAGS) -c $< -o $@

$(BUILD)/runtime/kernel/%.c.o: runtime/%.c | $(SIZE_CLASSES_TABLE)
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) $(RUNTIME_KERNEL_CFLAGS) -c $< -o $@
	$(RENAME_TO_RUNTIME_TEXT) $@

$(BUILD)/runtime/kernel/%.S.o: runtime/%.S
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_ASFLAGS) -c $< -o $@
	$(RENAME_TO_RUNTIME_TEXT) $@

$(BUILD)/kernel/platform.o: kernel/platform.c | $(SIZE_CLASSES_TABLE)
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) $(RUNTIME_KERNEL_CFLAGS) -c $< -o $@
	$(RENAME_TO_RUNTIME_TEXT) $@

# What the runtime calls in the kernel -- the string functions, snprintf,
# nanotime -- is not preemptible either: a goroutine preempted inside them
# would return into runtime code that may have kept this M's state in its
# locals.
$(BUILD)/kernel/libc/%.o $(BUILD)/kernel/time.o: RENAME_AFTER = $(RENAME_TO_RUNTIME_TEXT) $@
$(BUILD)/kernel/libc/%.o $(BUILD)/kernel/time.o: KERNEL_CFLAGS += $(RUNTIME_KERNEL_CFLAGS)

# Two links: the first with an empty symbol table, the second with the table
# generated from the first (see tools/kernel-symbols).
$(BUILD)/kernel/symbols-empty.S: tools/kernel-symbols
	@mkdir -p $(dir $@)
	tools/kernel-symbols - > $@
$(BUILD)/kernel/hardway-pass1.elf: $(KERNEL_OBJECTS) $(BUILD)/kernel/symbols-empty.o boot/kernel.ld
	$(LD) $(KERNEL_LDFLAGS) -o $@ $(KERNEL_OBJECTS) $(BUILD)/kernel/symbols-empty.o
$(BUILD)/kernel/symbols.S: $(BUILD)/kernel/hardway-pass1.elf tools/kernel-symbols
	tools/kernel-symbols $< > $@
$(KERNEL_ELF): $(KERNEL_OBJECTS) $(BUILD)/kernel/symbols.o boot/kernel.ld
	$(LD) $(KERNEL_LDFLAGS) -o $@ $(KERNEL_OBJECTS) $(BUILD)/kernel/symbols.o
	@tools/check-symbols $(BUILD)/kernel/hardway-pass1.elf $@

deps:
	@tools/install-deps

clean:
	rm -rf $(BUILD) images/hardway.iso images/hardway.vmdk images/hardway.vmx

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
