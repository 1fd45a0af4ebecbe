/*
 * The e1000 as the kernel's network card (kernel/drivers/e1000_pci.c).
 */
#ifndef HARDWAY_E1000_ATTACH_H
#define HARDWAY_E1000_ATTACH_H

#include <stddef.h>

struct net_device;

// Finds an e1000 on PCI, starts it and routes its interrupt. Returns the
// card as a net_device (net/netif.h), or NULL with a sentence in `error`
// when there is none or it would not start. Call once, from a goroutine
// (the interrupt goes to the CPU that runs it).
struct net_device *e1000_attach(char *error, size_t error_size);

#endif
