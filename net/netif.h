/*
 * netif.h: a network card as lwIP's network interface, driven from a
 * goroutine.
 *
 * Every NIC driver (the e1000 now; vmxnet3 and virtio-net later, one file
 * each) fills in a struct net_device: its MAC address and a few operations
 * on its rings. net_device_start gives it to lwIP as an Ethernet interface
 * and starts the goroutine that runs it, NAPI-style:
 *
 *   the card's interrupt  the driver's handler masks the card's interrupts
 *                         and calls netpoll_signal(&device->interrupt) --
 *                         nothing else runs in the interrupt
 *   the goroutine         wakes, takes lwIP's core lock, hands every
 *                         received frame to lwIP (up to a budget at a time,
 *                         yielding between batches), collects finished
 *                         transmissions, looks at the link, and unmasks
 *
 * so a busy card raises no interrupts and an idle machine halts. Frames go
 * out from whichever goroutine holds the core lock when lwIP sends them
 * (its linkoutput is the driver's transmit).
 *
 * The address comes from DHCP or from a static configuration (ip=,
 * net/net_config.h); the console says which address the interface got, and
 * keeps saying that it is still asking while no DHCP server answers.
 */
#ifndef HARDWAY_NET_NETIF_H
#define HARDWAY_NET_NETIF_H

#include "checksum_offload.h"
#include "net_config.h"
#include "netpoll.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct net_device;

// What a driver does for the goroutine. Every operation runs with lwIP's
// core lock held, so the driver needs no lock of its own for them.
struct net_device_operations {
    // Queues one Ethernet frame (without the CRC) for sending; false when
    // the card's ring is full or the frame is unacceptable. With `checksum`
    // not NULL (only when the device has transmit_checksum) the card
    // finishes the frame's TCP checksum (checksum_offload.h).
    bool (*transmit)(struct net_device *device, const void *frame, size_t length,
                     const struct net_transmit_checksum *checksum);
    // Hands up to `budget` received frames to `deliver`, in order; returns
    // how many. The frame is valid only during the call; `verified` holds
    // the NET_VERIFIED_* bits for the checksums the card found right.
    size_t (*receive)(struct net_device *device,
                      void (*deliver)(void *context, const void *frame, size_t length, unsigned verified),
                      void *context, size_t budget);
    // Collects finished transmissions (frees their descriptors).
    void (*reclaim)(struct net_device *device);
    // Whether the link is up.
    bool (*link_up)(struct net_device *device);
    // Unmasks the card's interrupts (its interrupt handler masked them).
    void (*interrupts_enable)(struct net_device *device);
};

struct net_device {
    const char *name;                            // "e1000", for messages
    uint8_t mac[6];
    uint16_t mtu;                                // 1500 for Ethernet
    bool transmit_checksum;                      // the card can finish TCP checksums
    const struct net_device_operations *operations;
    void *driver;                                // the driver's own state
    // Signalled by the driver's interrupt handler (netpoll.h).
    struct netpoll_event interrupt;
};

// Adds `device` to lwIP (net_init must have started it) as the default
// interface, configured as `config` says, and starts its goroutine. False,
// with a sentence in `error`, when lwIP refuses the interface.
bool net_device_start(struct net_device *device, const struct net_config *config, char *error, size_t error_size);

// Parks the calling goroutine until the interface net_device_start added
// has an address (at once with a static one; with DHCP, once a lease
// comes, which may be never).
void net_device_wait_address(void);

#endif
