# Unit tests: the kernel's pure-logic modules, built hosted with gcc and run
# under Check (the Debian package `check`).
#
#   make unit-test     build every tests/unit/test_*.c and run them all
#
# Each tests/unit/test_NAME.c becomes its own program, build/tests/unit/test_NAME,
# linked with the fakes (tests/unit/fake_*.c: printk that records lines, fake
# physical memory) and the kernel sources listed in unit_modules_test_NAME
# below. Every program prints Check's summary line
# ("100%: Checks: N, Failures: 0, Errors: 0"); the target fails if any fails.
#
# Hosted, the kernel modules see glibc's string.h and stdio.h (no
# -Ikernel/libc/include), and tests/unit/fake_interrupt_flag.h is force-included
# so that kernel/spinlock.h's interrupt masking (cli, sti) becomes a no-op.
#
# kernel/libc/format.c defines snprintf and vsnprintf itself. Linked as they
# are, they would replace glibc's for the whole test program, and the test
# could no longer compare them with the host's. So that one file is compiled
# with -Dvsnprintf=kernel_vsnprintf -Dsnprintf=kernel_snprintf: the
# preprocessor renames the definitions (and glibc's declarations of the same
# names in <stdio.h>, which keeps the prototypes consistent), and
# tests/unit/test_format.c calls kernel_snprintf beside snprintf.

UNIT_BUILD    := $(BUILD)/tests/unit
UNIT_CC       ?= gcc
UNIT_SANITIZE ?= -fsanitize=address,undefined -fno-sanitize-recover=all
UNIT_CFLAGS   := -std=gnu11 -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer $(UNIT_SANITIZE) \
                 -Ikernel -Itests/unit -include tests/unit/fake_interrupt_flag.h \
                 $(shell pkg-config --cflags check 2>/dev/null) -MMD -MP
UNIT_LDLIBS   := $(shell pkg-config --libs check 2>/dev/null)

UNIT_FAKES    := tests/unit/fake_printk.c tests/unit/fake_physical.c

# The kernel sources (and extra fakes) each test links besides itself and UNIT_FAKES.
unit_modules_test_boot_info := kernel/boot_info.c
unit_modules_test_cmdline   := kernel/cmdline.c net/net_config.c
unit_modules_test_pmm       := kernel/pmm.c
unit_modules_test_paging    := kernel/paging.c kernel/pmm.c tests/unit/fake_paging_hardware.c
unit_modules_test_acpi      := kernel/acpi.c
unit_modules_test_format    := kernel/libc/format.c
unit_modules_test_pci       := kernel/pci.c tests/unit/fake_pci_config.c
unit_modules_test_net_config := net/net_config.c
unit_modules_test_crc32     := net/crc32.c
$(UNIT_BUILD)/objects/tests/unit/test_crc32.o: UNIT_EXTRA_CFLAGS := -Inet
$(UNIT_BUILD)/objects/tests/unit/test_net_config.o: UNIT_EXTRA_CFLAGS := -Inet
unit_modules_test_e1000     := kernel/drivers/e1000.c tests/unit/fake_e1000_device.c

# Libraries a test links after its modules. kernel/cmdline.c reads gogc= and
# gomemlimit= with the runtime's own parsers (runtime_parse_gogc,
# runtime_parse_memory_limit), so its test links the hosted runtime library
# (mk/runtime.mk), from which the linker takes only what those need.
unit_libraries_test_cmdline := $(RUNTIME_LIBRARY) -pthread -ldl
$(UNIT_BUILD)/objects/kernel/cmdline.o: UNIT_EXTRA_CFLAGS := -Iruntime -Inet
$(UNIT_BUILD)/objects/tests/unit/test_cmdline.o: UNIT_EXTRA_CFLAGS := -Inet

UNIT_TESTS    := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test_*.c))
UNIT_PROGRAMS := $(UNIT_TESTS:%=$(UNIT_BUILD)/%)

$(UNIT_BUILD)/objects/%.o: %.c | unit-test-dependencies
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) $(UNIT_EXTRA_CFLAGS) -c $< -o $@

# format.c reaches va_arg through the kernel's <stdio.h>, which includes
# <stdarg.h>; glibc's <stdio.h> does not, so it is included here.
$(UNIT_BUILD)/objects/kernel/libc/format.o: UNIT_EXTRA_CFLAGS := -Dvsnprintf=kernel_vsnprintf -Dsnprintf=kernel_snprintf \
                                                                -include stdarg.h

define unit_test_program
$(UNIT_BUILD)/$(1): $(patsubst %.c,$(UNIT_BUILD)/objects/%.o,tests/unit/$(1).c $(UNIT_FAKES) $(unit_modules_$(1))) \
                    $(filter %.a,$(unit_libraries_$(1)))
	$$(UNIT_CC) $$(UNIT_CFLAGS) -o $$@ $$(filter-out %.a,$$^) $$(unit_libraries_$(1)) $$(UNIT_LDLIBS)
endef
$(foreach test,$(UNIT_TESTS),$(eval $(call unit_test_program,$(test))))

.PHONY: unit-test unit-test-build unit-test-dependencies
unit-test-build: $(UNIT_PROGRAMS)

# Every program runs even when an earlier one failed, so one make shows every
# failure; the status at the end says whether any did.
unit-test: $(UNIT_PROGRAMS)
	@status=0; \
	for program in $(UNIT_PROGRAMS); do \
	    echo "unit: $$program"; \
	    CK_VERBOSITY=$${CK_VERBOSITY:-normal} $$program || status=1; \
	done; \
	if [ $$status -ne 0 ]; then echo "unit: FAILED"; fi; \
	exit $$status

unit-test-dependencies:
	@pkg-config --exists check || { echo "unit tests need the Debian package 'check': run make deps" >&2; exit 1; }
