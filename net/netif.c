/*
 * netif.c: a network card as lwIP's interface, run by a goroutine
 * (netif.h says how the pieces meet).
 *
 * Receive: the goroutine holds the core lock for a batch of at most
 * NET_DEVICE_BUDGET frames, copies each into a pbuf from lwIP's pool and
 * calls ethernet_input itself (not tcpip_input, which would take the lock
 * again), then yields the lock and the processor before the next batch.
 *
 * Transmit: lwIP calls linkoutput with the core lock held; a frame in one
 * pbuf goes to the driver as it is, a chained one is gathered first.
 *
 * Checksums: when the card can finish TCP checksums, lwIP leaves them out
 * and linkoutput hands each segment to the card with its pseudo-header
 * summed in (checksum_offload.c). On receive the card says per frame which
 * checksums it verified; the interface's check flags are set for that
 * frame alone before it goes up, which is safe because lwIP handles the
 * frame to the end within ethernet_input, under the core lock we hold.
 *
 * Addresses: DHCP (lwIP's client, which retries by itself) or the static
 * configuration. The status callback prints the address once the interface
 * has one; a watcher goroutine says, every NET_DHCP_REMINDER_NS, that no
 * lease has come yet.
 */
#include "netif.h"
#include "chan.h"
#include "lwip/dhcp.h"
#include "lwip/dns.h"
#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/tcpip.h"
#include "netif/ethernet.h"
#include "runtime.h"
#include <stdio.h>
#include <string.h>

// Frames handed to lwIP per hold of the core lock.
#define NET_DEVICE_BUDGET 64
// The largest Ethernet frame we send or take: 1500 bytes of payload and the
// 14-byte header (the card strips and adds the CRC).
#define NET_FRAME_MAX 1514
// How often the console is told that DHCP has not answered yet.
#define NET_DHCP_REMINDER_NS (10ull * 1000 * 1000 * 1000)
// How often the goroutine looks at the link and collects transmissions
// even without an interrupt: a lost interrupt costs at most this.
#define NET_DEVICE_POLL_NS (500ull * 1000 * 1000)

// One card for now; the structure allows more.
static struct netif net_interface;
// The interface's lwIP checksum flags between received frames.
static uint16_t net_interface_checksum_flags;
// Closed (under the core lock) once the interface has an address.
static struct chan *net_interface_addressed;
static bool net_interface_addressed_closed;

static ip4_addr_t ip4_from_number(uint32_t address)
{
    ip4_addr_t result;
    IP4_ADDR(&result, address >> 24, address >> 16 & 0xff, address >> 8 & 0xff, address & 0xff);
    return result;
}

/* --- Frames out ------------------------------------------------------------ */

static err_t net_device_linkoutput(struct netif *netif, struct pbuf *p)
{
    struct net_device *device = netif->state;
    if (p->tot_len > NET_FRAME_MAX)
        return ERR_BUF;
    uint8_t *frame = p->payload;
    if (p->next != NULL) {
        static uint8_t gathered[NET_FRAME_MAX];   // the core lock serialises us
        pbuf_copy_partial(p, gathered, p->tot_len, 0);
        frame = gathered;
    }
    // lwIP rewrites a segment's checksum field each time it sends it, so
    // seeding it in place leaves nothing behind for a retransmission.
    struct net_transmit_checksum checksum;
    bool offload = device->transmit_checksum && net_checksum_offload_prepare(frame, p->tot_len, &checksum);
    bool sent = device->operations->transmit(device, frame, p->tot_len, offload ? &checksum : NULL);
    // A full ring: lwIP drops the frame (the driver counts it) and TCP resends.
    return sent ? ERR_OK : ERR_MEM;
}

/* --- Frames in ----------------------------------------------------------- */

static void net_device_deliver(void *context, const void *frame, size_t length, unsigned verified)
{
    struct netif *netif = context;
    if (length > NET_FRAME_MAX + 4)
        return;   // (a VLAN tag is four bytes more; lwIP drops what it cannot read)
    struct pbuf *p = pbuf_alloc(PBUF_RAW, (u16_t)length, PBUF_POOL);
    if (p == NULL)
        return;   // no memory: dropped, as the wire may drop it; TCP resends
    pbuf_take(p, frame, (u16_t)length);
    NETIF_SET_CHECKSUM_CTRL(netif, net_checksum_offload_receive_flags(net_interface_checksum_flags, verified));
    if (netif->input(p, netif) != ERR_OK)
        pbuf_free(p);
    NETIF_SET_CHECKSUM_CTRL(netif, net_interface_checksum_flags);
}

static void net_device_check_link(struct net_device *device)
{
    bool up = device->operations->link_up(device);
    if (up && !netif_is_link_up(&net_interface))
        netif_set_link_up(&net_interface);
    else if (!up && netif_is_link_up(&net_interface))
        netif_set_link_down(&net_interface);
}

// Signals the device's event now and then, so that the loop below also
// runs without interrupts: the link is looked at and transmissions are
// collected even on a quiet card.
static void net_device_ticker(void *argument)
{
    struct net_device *device = argument;
    for (;;) {
        gosleep(NET_DEVICE_POLL_NS);
        netpoll_signal(&device->interrupt);
    }
}

static void net_device_loop(void *argument)
{
    struct net_device *device = argument;
    for (;;) {
        netpoll_wait(&device->interrupt);
        size_t received;
        do {
            LOCK_TCPIP_CORE();
            received = device->operations->receive(device, net_device_deliver, &net_interface, NET_DEVICE_BUDGET);
            device->operations->reclaim(device);
            net_device_check_link(device);
            UNLOCK_TCPIP_CORE();
            if (received == NET_DEVICE_BUDGET)
                gosched();   // more waiting: let the goroutines the frames woke run first
        } while (received == NET_DEVICE_BUDGET);
        // A frame that arrives from here on raises the interrupt again.
        device->operations->interrupts_enable(device);
    }
}

/* --- Addresses ------------------------------------------------------------- */

static void net_interface_status_changed(struct netif *netif)
{
    if (!netif_is_up(netif) || ip4_addr_isany_val(*netif_ip4_addr(netif)))
        return;
    if (!net_interface_addressed_closed) {
        net_interface_addressed_closed = true;
        chan_close(net_interface_addressed);
    }
    char address[16], netmask[16], gateway[16];
    ip4addr_ntoa_r(netif_ip4_addr(netif), address, sizeof address);
    ip4addr_ntoa_r(netif_ip4_netmask(netif), netmask, sizeof netmask);
    ip4addr_ntoa_r(netif_ip4_gw(netif), gateway, sizeof gateway);
    const ip_addr_t *dns = dns_getserver(0);
    char dns_text[16] = "none";
    if (!ip_addr_isany(dns))
        ipaddr_ntoa_r(dns, dns_text, sizeof dns_text);
    struct net_device *device = netif->state;
    runtime_printf("net: %s address %s netmask %s gateway %s dns %s (%s)\n", device->name, address, netmask, gateway,
                   dns_text, dhcp_supplied_address(netif) ? "dhcp" : "static");
}

static void net_dhcp_reminder(void *argument)
{
    struct net_device *device = argument;
    for (int reminders = 1;; reminders++) {
        gosleep(NET_DHCP_REMINDER_NS);
        LOCK_TCPIP_CORE();
        bool bound = dhcp_supplied_address(&net_interface);
        UNLOCK_TCPIP_CORE();
        if (bound)
            return;
        runtime_printf("net: %s has no DHCP lease after %d s; still asking\n", device->name, reminders * 10);
    }
}

static err_t net_interface_init(struct netif *netif)
{
    struct net_device *device = netif->state;
    netif->name[0] = 'e';
    netif->name[1] = 'n';
    netif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(netif->hwaddr, device->mac, ETH_HWADDR_LEN);
    netif->mtu = device->mtu;
    netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
    netif->output = etharp_output;
    netif->linkoutput = net_device_linkoutput;
    // Everything in software, unless the card finishes TCP checksums: then
    // lwIP leaves them out, and checks them only in frames from the card
    // (net_device_deliver; checksum_offload.c says why).
    net_interface_checksum_flags = NETIF_CHECKSUM_ENABLE_ALL;
    if (device->transmit_checksum)
        net_interface_checksum_flags &= (uint16_t)~(NETIF_CHECKSUM_GEN_TCP | NETIF_CHECKSUM_CHECK_TCP);
    NETIF_SET_CHECKSUM_CTRL(netif, net_interface_checksum_flags);
    return ERR_OK;
}

bool net_device_start(struct net_device *device, const struct net_config *config, char *error, size_t error_size)
{
    ip4_addr_t address = ip4_from_number(config->dhcp ? 0 : config->address);
    ip4_addr_t netmask = ip4_from_number(config->dhcp ? 0 : net_config_netmask(config->prefix_length));
    ip4_addr_t gateway = ip4_from_number(config->dhcp ? 0 : config->gateway);
    net_interface_addressed = chan_make(0, 0);
    LOCK_TCPIP_CORE();
    if (netif_add(&net_interface, &address, &netmask, &gateway, device, net_interface_init, ethernet_input) == NULL) {
        UNLOCK_TCPIP_CORE();
        snprintf(error, error_size, "lwIP refused the interface for %s", device->name);
        return false;
    }
    netif_set_status_callback(&net_interface, net_interface_status_changed);
    netif_set_default(&net_interface);
    if (!config->dhcp) {
        for (uint8_t i = 0; i < config->dns_count; i++) {
            ip_addr_t server = IPADDR4_INIT(lwip_htonl(config->dns[i]));
            dns_setserver(i, &server);
        }
    }
    if (device->operations->link_up(device))
        netif_set_link_up(&net_interface);
    netif_set_up(&net_interface);
    err_t started = config->dhcp ? dhcp_start(&net_interface) : ERR_OK;
    UNLOCK_TCPIP_CORE();
    if (started != ERR_OK) {
        snprintf(error, error_size, "DHCP could not start on %s (lwIP error %d)", device->name, (int)started);
        return false;
    }
    go(net_device_loop, device);
    go(net_device_ticker, device);
    if (config->dhcp) {
        runtime_printf("net: %s asking for an address by DHCP\n", device->name);
        go(net_dhcp_reminder, device);
    }
    // Whatever arrived before the goroutine started.
    netpoll_signal(&device->interrupt);
    return true;
}

void net_device_wait_address(void)
{
    chan_receive(net_interface_addressed, NULL);   // closed: returns at once from then on
}
