# mk/lwip.mk: lwIP 2.1.3 from Debian's source package, built twice.
#
#   make lwip            fetch and unpack the sources, build both libraries
#
# The sources are never committed: tools/fetch-source unpacks Debian's
# source package `lwip` (upstream 2.1.3, with Debian's patches) into
# $(LWIP_DIR) the first time a build needs them, through a private apt
# configuration under $(BUILD)/third_party/apt.
#
# We compile only the parts hardway uses -- the core, IPv4, Ethernet and
# lwIP's thread (api/tcpip.c) -- with our own configuration:
# net/lwip/lwipopts.h, net/lwip/arch/cc.h and the OS layer on the goroutine
# runtime, net/lwip/sys_arch.c. Debian's own port (port/, a Unix one) is not
# used.
#
#   kernel   freestanding, with the kernel's flags: objects linked into the
#            image (KERNEL_EXTRA_OBJECTS)
#   hosted   against glibc and the hosted runtime, as a library,
#            $(LWIP_HOSTED_LIBRARY), for the unit tests of the net API
#
# lwIP's code is built with our warnings but they do not stop the build:
# it is not ours to change.

LWIP_VERSION := 2.1.3
LWIP_DIR     := $(BUILD)/third_party/lwip
LWIP_STAMP   := $(LWIP_DIR)/.hardway-source

LWIP_SOURCES := \
    core/init.c core/def.c core/dns.c core/inet_chksum.c core/ip.c core/mem.c core/memp.c core/netif.c \
    core/pbuf.c core/raw.c core/stats.c core/sys.c core/tcp.c core/tcp_in.c core/tcp_out.c core/timeouts.c \
    core/udp.c \
    core/ipv4/dhcp.c core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c core/ipv4/ip4_addr.c \
    core/ipv4/ip4_frag.c \
    api/err.c api/tcpip.c \
    netif/ethernet.c
# Our network code, built beside lwIP and against its headers: the port
# (net/lwip/) and what is built on it (net/).
LWIP_PORT_SOURCES := $(wildcard net/*.c net/lwip/*.c)
LWIP_INCLUDES     := -Inet/lwip -I$(LWIP_DIR)/src/include -Iruntime
LWIP_THIRD_PARTY_FLAGS := -Wno-error -Wno-unused-parameter -Wno-address

LWIP_KERNEL_DIR          := $(BUILD)/lwip/kernel
LWIP_KERNEL_LWIP_OBJECTS := $(LWIP_SOURCES:%.c=$(LWIP_KERNEL_DIR)/lwip/%.o)
LWIP_KERNEL_OBJECTS      := $(LWIP_KERNEL_LWIP_OBJECTS) $(LWIP_PORT_SOURCES:%.c=$(LWIP_KERNEL_DIR)/%.o)
LWIP_HOSTED_DIR          := $(BUILD)/lwip/hosted
LWIP_HOSTED_LWIP_OBJECTS := $(LWIP_SOURCES:%.c=$(LWIP_HOSTED_DIR)/lwip/%.o)
LWIP_HOSTED_OBJECTS      := $(LWIP_HOSTED_LWIP_OBJECTS) $(LWIP_PORT_SOURCES:%.c=$(LWIP_HOSTED_DIR)/%.o)
LWIP_HOSTED_LIBRARY      := $(BUILD)/lwip/liblwip_hosted.a
# (=, not :=: the runtime's generated directory is set in mk/runtime.mk,
# read after this file.)
LWIP_HOSTED_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -Werror -pthread -fno-omit-frame-pointer -mno-red-zone \
                       -fstack-clash-protection -I$(RUNTIME_GENERATED_DIR) -MMD -MP

KERNEL_EXTRA_OBJECTS += $(LWIP_KERNEL_OBJECTS)

.PHONY: lwip
lwip: $(LWIP_KERNEL_OBJECTS) $(LWIP_HOSTED_LIBRARY)

$(LWIP_STAMP): tools/fetch-source
	tools/fetch-source lwip $(LWIP_VERSION) $(LWIP_DIR)

# lwIP's own files: the stamp stands for all of them (they appear together).
# Static pattern rules, so that make never tries them for anything else
# (such as remaking an included .d file).
$(LWIP_KERNEL_LWIP_OBJECTS): $(LWIP_KERNEL_DIR)/lwip/%.o: $(LWIP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) $(LWIP_INCLUDES) $(LWIP_THIRD_PARTY_FLAGS) -c $(LWIP_DIR)/src/$*.c -o $@

$(LWIP_HOSTED_LWIP_OBJECTS): $(LWIP_HOSTED_DIR)/lwip/%.o: $(LWIP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LWIP_HOSTED_CFLAGS) $(LWIP_INCLUDES) $(LWIP_THIRD_PARTY_FLAGS) -c $(LWIP_DIR)/src/$*.c -o $@

# Our code: our warnings are errors.
$(LWIP_KERNEL_DIR)/net/%.o: net/%.c $(LWIP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(KERNEL_CFLAGS) $(LWIP_INCLUDES) -c $< -o $@

$(LWIP_HOSTED_DIR)/net/%.o: net/%.c $(LWIP_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(LWIP_HOSTED_CFLAGS) $(LWIP_INCLUDES) -c $< -o $@

$(LWIP_HOSTED_LIBRARY): $(LWIP_HOSTED_OBJECTS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^
