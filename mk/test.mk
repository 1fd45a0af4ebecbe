# mk/test.mk: make test, everything a clean clone needs to prove it works.
#
#   1. tools/install-deps: the Debian packages (nothing hand-installed counts);
#   2. the kernel and the images (the ISO and the VMware disk are booted);
#   3. the unit tests (make unit-test, from mk/unit.mk) over the hosted build,
#      and the goroutine runtime's tests (make runtime-test, mk/runtime.mk),
#      also against a ThreadSanitizer build (make runtime-test-race), and the
#      network code's (make net-test, mk/net.mk: lwIP on the hosted runtime);
#   4. the integration tests: tests/integration, run by Debian's pytest under
#      /usr/bin/python3 (the python3 first on PATH may lack pytest).
#
# Unit and integration tests both run even when the first fails, so one CI
# run reports every failure; make test fails if either did.

PYTEST       := /usr/bin/python3 -m pytest
PYTEST_FLAGS ?= -v

.PHONY: test integration-test

test: deps
	@$(MAKE) --no-print-directory kernel image
	@status=0; \
	$(MAKE) --no-print-directory unit-test || status=1; \
	$(MAKE) --no-print-directory runtime-test || status=1; \
	$(MAKE) --no-print-directory runtime-test-race || status=1; \
	$(MAKE) --no-print-directory net-test || status=1; \
	$(MAKE) --no-print-directory integration-test HARDWAY_TEST_NO_BUILD=1 || status=1; \
	exit $$status

# The integration tests alone (they build the kernel and images themselves
# unless HARDWAY_TEST_NO_BUILD=1).
integration-test:
	HARDWAY_TEST_NO_BUILD=$(HARDWAY_TEST_NO_BUILD) $(PYTEST) $(PYTEST_FLAGS) tests/integration
