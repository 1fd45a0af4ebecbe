# mk/runtime.mk: the goroutine runtime built as a Linux library, and its tests.
#
#   make runtime-test    build build/runtime/libhardway_runtime.a and run the
#                        Check suites in tests/runtime/
#
# The runtime's objects have their code moved into a section of its own,
# runtime_text (objcopy --rename-section), so the linker defines
# __start_runtime_text and __stop_runtime_text around it: asynchronous
# preemption must never stop a goroutine inside the runtime
# (runtime/preempt.c). For that range to hold all of the runtime's code, GCC
# must not split functions into .text.unlikely/.text.hot, hence
# -fno-reorder-blocks-and-partition -fno-reorder-functions.
#
# Everything that runs on goroutine stacks -- the runtime, the tests -- is
# built without the red zone (preemption uses the stack below RSP) and with
# stack clash protection (a frame larger than a page touches each page on
# the way down, so it cannot jump over a stack's guard page).
#
# The allocator's size class table is generated: tools/mksizeclasses writes
# sizeclasses_table.h (included by runtime/sizeclasses.h) into
# $(RUNTIME_GENERATED_DIR), which is on the include path of every build of
# the runtime -- hosted, race, the kernel's (Makefile) -- and of its tests.
# Every runtime object waits for the table (order-only: a clean build makes
# it first; from then on the .d files say which objects include it); the
# tests, built without .d files, depend on it outright.

RUNTIME_GENERATED_DIR := $(BUILD)/generated/runtime
SIZE_CLASSES_TABLE    := $(RUNTIME_GENERATED_DIR)/sizeclasses_table.h
# The allocator's page: 8 KiB, as Go's.
SIZE_CLASS_PAGE_SHIFT := 13

RUNTIME_HOSTED_DIR     := $(BUILD)/runtime/hosted
RUNTIME_LIBRARY        := $(BUILD)/runtime/libhardway_runtime.a
RUNTIME_HOSTED_SOURCES := $(wildcard runtime/*.c) runtime/context_amd64.S
RUNTIME_HOSTED_OBJECTS := $(patsubst runtime/%,$(RUNTIME_HOSTED_DIR)/%.o,$(RUNTIME_HOSTED_SOURCES))
RUNTIME_HOSTED_CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread \
                          -fno-omit-frame-pointer -mno-red-zone -fstack-clash-protection \
                          -fno-reorder-blocks-and-partition -fno-reorder-functions -I$(RUNTIME_GENERATED_DIR) -MMD -MP
RUNTIME_TEST_CFLAGS    := -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread \
                          -fno-omit-frame-pointer -mno-red-zone -fstack-clash-protection -Iruntime -I$(RUNTIME_GENERATED_DIR) \
                          $(shell pkg-config --cflags check 2>/dev/null)
RUNTIME_TEST_LIBS      := -pthread -rdynamic $(shell pkg-config --libs check 2>/dev/null) -ldl
RUNTIME_TESTS          := $(patsubst tests/runtime/%.c,$(BUILD)/tests/runtime/%,$(wildcard tests/runtime/test_*.c))

.PHONY: runtime runtime-test
runtime: $(RUNTIME_LIBRARY)

$(SIZE_CLASSES_TABLE): tools/mksizeclasses mk/runtime.mk
	@mkdir -p $(dir $@)
	/usr/bin/python3 tools/mksizeclasses --page-shift $(SIZE_CLASS_PAGE_SHIFT) --output $@

$(RUNTIME_HOSTED_DIR)/%.c.o: runtime/%.c | $(SIZE_CLASSES_TABLE)
	@mkdir -p $(dir $@)
	$(CC) $(RUNTIME_HOSTED_CFLAGS) -c $< -o $@
	objcopy --rename-section .text=runtime_text,alloc,load,readonly,code,contents $@

$(RUNTIME_HOSTED_DIR)/%.S.o: runtime/%.S
	@mkdir -p $(dir $@)
	$(CC) -g -c $< -o $@
	objcopy --rename-section .text=runtime_text,alloc,load,readonly,code,contents $@

$(RUNTIME_LIBRARY): $(RUNTIME_HOSTED_OBJECTS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^
	@if objdump -h $^ | grep -qE ' \.text\.(unlikely|hot|startup)'; then \
	    echo "runtime: code outside runtime_text; preemption could stop the runtime" >&2; exit 1; fi

$(BUILD)/tests/runtime/%: tests/runtime/%.c $(RUNTIME_LIBRARY) $(wildcard tests/runtime/*.h) $(SIZE_CLASSES_TABLE)
	@mkdir -p $(dir $@)
	$(CC) $(RUNTIME_TEST_CFLAGS) $< -o $@ $(RUNTIME_LIBRARY) $(RUNTIME_TEST_LIBS)

runtime-test: $(RUNTIME_TESTS)
	@status=0; for test in $(RUNTIME_TESTS); do \
	    echo "runtime: $$test"; $$test || status=1; \
	done; exit $$status

-include $(wildcard $(RUNTIME_HOSTED_DIR)/*.d)

# make runtime-test-race: the same suites against a ThreadSanitizer build of
# the runtime (runtime/race.h tells TSan about goroutine stacks). Tests that
# need asynchronous preemption are left out there (race.h says why).
RUNTIME_RACE_DIR     := $(BUILD)/runtime/race
RUNTIME_RACE_LIBRARY := $(BUILD)/runtime/libhardway_runtime_race.a
RUNTIME_RACE_OBJECTS := $(patsubst runtime/%,$(RUNTIME_RACE_DIR)/%.o,$(RUNTIME_HOSTED_SOURCES))
RUNTIME_RACE_TESTS   := $(patsubst tests/runtime/%.c,$(BUILD)/tests/runtime-race/%,$(wildcard tests/runtime/test_*.c))

.PHONY: runtime-test-race
$(RUNTIME_RACE_DIR)/%.c.o: runtime/%.c | $(SIZE_CLASSES_TABLE)
	@mkdir -p $(dir $@)
	$(CC) $(RUNTIME_HOSTED_CFLAGS) -fsanitize=thread -c $< -o $@
	objcopy --rename-section .text=runtime_text,alloc,load,readonly,code,contents $@

$(RUNTIME_RACE_DIR)/%.S.o: runtime/%.S
	@mkdir -p $(dir $@)
	$(CC) -g -c $< -o $@
	objcopy --rename-section .text=runtime_text,alloc,load,readonly,code,contents $@

$(RUNTIME_RACE_LIBRARY): $(RUNTIME_RACE_OBJECTS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/tests/runtime-race/%: tests/runtime/%.c $(RUNTIME_RACE_LIBRARY) $(wildcard tests/runtime/*.h) $(SIZE_CLASSES_TABLE)
	@mkdir -p $(dir $@)
	$(CC) $(RUNTIME_TEST_CFLAGS) -fsanitize=thread $< -o $@ $(RUNTIME_RACE_LIBRARY) $(RUNTIME_TEST_LIBS)

runtime-test-race: $(RUNTIME_RACE_TESTS)
	@status=0; for test in $(RUNTIME_RACE_TESTS); do \
	    echo "runtime (ThreadSanitizer): $$test"; \
	    TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)" $$test || status=1; \
	done; exit $$status

-include $(wildcard $(RUNTIME_RACE_DIR)/*.d)
