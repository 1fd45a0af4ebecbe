/*
 * lwipopts.h: how hardway configures lwIP 2.1.3. Every option lwIP's
 * defaults (src/include/lwip/opt.h) would get wrong for us is set here,
 * each with the reason.
 *
 * The shape: lwIP runs on the goroutine runtime (NO_SYS 0; the OS layer is
 * net/lwip/sys_arch.c) with one big core lock. Goroutines call into the
 * stack directly while holding it (LWIP_TCPIP_CORE_LOCKING), instead of
 * sending each call as a message to lwIP's own thread and waiting for the
 * answer; the NIC driver's goroutine feeds received frames in the same way. lwIP's thread is left with its timers
 * (TCP retransmission, ARP, DHCP, DNS). hardway's own net API (net/)
 * stands in for lwIP's netconn and socket layers.
 */
#ifndef HARDWAY_LWIPOPTS_H
#define HARDWAY_LWIPOPTS_H

/* --- Operating system ------------------------------------------------------ */

// Threads, semaphores, mailboxes: goroutines, channels, runtime mutexes.
#define NO_SYS 0
// Callers take the core lock and call in; no message round trip per call.
#define LWIP_TCPIP_CORE_LOCKING 1
// tcpip_input hands a frame to the stack at once, under the core lock,
// instead of queueing it for lwIP's thread: one goroutine switch less per
// packet. (The NIC glue, net/netif.c, goes further: it holds the lock for a
// batch of frames and calls ethernet_input itself.)
#define LWIP_TCPIP_CORE_LOCKING_INPUT 1
// Every call into lwIP holds the core lock (the net API and the driver
// glue take it), so lwIP's own short critical sections, which exist for
// calls from several threads or interrupts at once, are not needed.
#define SYS_LIGHTWEIGHT_PROT 0
// ...and that rule is checked on every entry: a call without the lock is
// a fatal assertion naming the function, not a rare corruption. (Until
// lwIP's thread starts, tcpip_init's own setup runs alone and unlocked.)
#define LWIP_ASSERT_CORE_LOCKED()                                                                                     \
    LWIP_ASSERT("lwIP called without the core lock (LOCK_TCPIP_CORE)", sys_arch_core_locked())
#define LWIP_MARK_TCPIP_THREAD() sys_arch_mark_tcpip_thread()
// lwIP's thread's mailbox: timers and callbacks posted with
// tcpip_callback. The thread's priority and stack size mean nothing to
// goroutines (stacks grow).
#define TCPIP_MBOX_SIZE 128
#define TCPIP_THREAD_NAME "lwip"
#define TCPIP_THREAD_STACKSIZE 0
#define TCPIP_THREAD_PRIO 0
#define DEFAULT_THREAD_STACKSIZE 0
#define DEFAULT_RAW_RECVMBOX_SIZE 16
#define DEFAULT_UDP_RECVMBOX_SIZE 16
#define DEFAULT_TCP_RECVMBOX_SIZE 16
#define DEFAULT_ACCEPTMBOX_SIZE 16

/* --- Memory ---------------------------------------------------------------- */

// lwIP's heap is the runtime's manual heap (runtime_malloc, the same spans
// as every C library in the image), not a static array of its own: memory
// lwIP does not use stays available to everything else.
#define MEM_LIBC_MALLOC 1
#define mem_clib_malloc runtime_malloc
#define mem_clib_free runtime_free
#define mem_clib_calloc runtime_calloc
#include "malloc.h"
// Its fixed-size pools (PCBs, segments, timeouts) come from that heap too:
// MEMP_NUM_* below are then limits, not reservations.
#define MEMP_MEM_MALLOC 1
// The allocator aligns everything to at least 8 bytes.
#define MEM_ALIGNMENT 8
// Not used with MEM_LIBC_MALLOC, but opt.h checks it against the pools.
#define MEM_SIZE (1024 * 1024)

/* --- Protocols ------------------------------------------------------------- */

#define LWIP_IPV4 1
// IPv6 is not part of the first network issue.
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_TCP 1
// DHCP by default (net/), and DNS for host names.
#define LWIP_DHCP 1
// Probe an offered address with ARP before using it (RFC 2131 says SHOULD).
#define DHCP_DOES_ARP_CHECK 1
#define LWIP_DNS 1
#define DNS_MAX_SERVERS 2
// AutoIP and IGMP: not asked for.
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
// Reassembly and fragmentation: a peer may send fragments; we send none
// bigger than the MTU, but lwIP fragments correctly if asked.
#define IP_REASSEMBLY 1
#define IP_FRAG 1
// 127.0.0.1 inside the image: local connections, and the hosted unit tests
// of the net API, which run over this loopback interface with no NIC.
#define LWIP_HAVE_LOOPIF 1
#define LWIP_NETIF_LOOPBACK 1
// Frames the loopback interface has queued wait for lwIP's thread to
// deliver them; the queue is bounded by memory, not by a count (0).
#define LWIP_LOOPBACK_MAX_PBUFS 0
// The net glue learns of address, link and up/down changes by callbacks
// (the console line with the address, DHCP retries).
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK 1
#define LWIP_NETIF_HOSTNAME 1

/* --- TCP ------------------------------------------------------------------- */

#define TCP_MSS 1460
// Windows sized for throughput on a LAN: 64 KiB receive window scaled by
// window scaling would need LWIP_WND_SCALE; 16 segments keep it simple and
// already fill QEMU's user networking.
#define TCP_WND (16 * TCP_MSS)
#define TCP_SND_BUF (16 * TCP_MSS)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
// The tests open 100 connections at once; a server keeps some in TIME-WAIT
// as well.
#define MEMP_NUM_TCP_PCB 512
#define MEMP_NUM_TCP_PCB_LISTEN 32
#define MEMP_NUM_TCP_SEG 1024
#define MEMP_NUM_UDP_PCB 16
#define MEMP_NUM_PBUF 256
#define PBUF_POOL_SIZE 512
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 8)
// Keepalive probes are asked for per connection (SO_KEEPALIVE's flag).
#define LWIP_TCP_KEEPALIVE 1
// SOF_REUSEADDR exists: net_listen sets it on every listener, as Go does,
// so that a server may listen again on a port where its old connections
// still wait in TIME-WAIT (a second listener is still refused).
#define SO_REUSE 1
// Out-of-order segments are kept rather than dropped and resent.
#define TCP_QUEUE_OOSEQ 1
#define LWIP_TCP_SACK_OUT 0

/* --- Checksums and statistics ---------------------------------------------- */

// Which checksums lwIP computes and checks is set per interface, so that a
// card that computes TCP checksums, or verified a frame's, spares lwIP the
// work (net/netif.c, net/checksum_offload.c); the loopback interface does
// everything in software.
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
#define LWIP_CHKSUM_ALGORITHM 3
// lwIP's counters: off (the net API and the driver keep their own).
#define LWIP_STATS 0
// lwIP's own errno values (cc.h: the kernel has no errno.h).
#define LWIP_PROVIDE_ERRNO 1

/* --- APIs ------------------------------------------------------------------ */

// hardway's net API (net/) replaces lwIP's netconn and BSD socket layers.
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_NETIF_API 0

/* --- Debugging ------------------------------------------------------------- */

// Off; LWIP_DEBUG plus a module's *_DEBUG LWIP_DBG_ON prints its trace
// through LWIP_PLATFORM_DIAG (cc.h).
#define LWIP_DBG_TYPES_ON LWIP_DBG_ON
#define LWIP_DBG_MIN_LEVEL LWIP_DBG_LEVEL_ALL

#include "arch/sys_arch.h"

#endif
