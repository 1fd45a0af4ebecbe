# mk/net.mk: the network code's hosted tests.
#
#   make net-test    build and run every tests/net/test_*.c
#
# Each test is a program linked with lwIP and its port built hosted
# ($(LWIP_HOSTED_LIBRARY), mk/lwip.mk) and the hosted runtime
# ($(RUNTIME_LIBRARY), mk/runtime.mk): the same lwIP, configured by the same
# net/lwip/lwipopts.h, that the kernel links, with no NIC -- the tests talk
# over lwIP's loopback interface.

NET_TESTS       := $(patsubst tests/net/%.c,$(BUILD)/tests/net/%,$(wildcard tests/net/test_*.c))
NET_TEST_CFLAGS  = $(RUNTIME_TEST_CFLAGS) $(LWIP_INCLUDES) -Inet -Itests/runtime

.PHONY: net-test

# Second expansion: mk/runtime.mk, which names $(RUNTIME_LIBRARY), is read
# after this file.
.SECONDEXPANSION:
$(BUILD)/tests/net/%: tests/net/%.c $$(LWIP_HOSTED_LIBRARY) $$(RUNTIME_LIBRARY) $$(wildcard tests/runtime/*.h tests/net/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(NET_TEST_CFLAGS) $< -o $@ $(LWIP_HOSTED_LIBRARY) $(RUNTIME_LIBRARY) $(RUNTIME_TEST_LIBS)

net-test: $(NET_TESTS)
	@status=0; for test in $(NET_TESTS); do \
	    echo "net: $$test"; $$test || status=1; \
	done; exit $$status
