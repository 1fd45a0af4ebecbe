/*
 * lookup.c: host names to addresses (lookup.h) on lwIP's DNS resolver.
 *
 * dns_gethostbyname answers at once from its cache (or for a dotted
 * quad), or sends a query and calls back later -- with the address, or
 * with NULL once its retries are used up (DNS_MAX_RETRIES, a few seconds),
 * so a callback always comes. The goroutine parks on a channel the
 * callback signals; the request lives on its stack, which is safe because
 * it does not return before the callback has run.
 */
#include "lookup.h"
#include "chan.h"
#include "lwip/dns.h"
#include "lwip/ip_addr.h"
#include "lwip/tcpip.h"
#include <string.h>

struct lookup_request {
    struct chan *done;
    bool found;
    uint32_t ip;
};

static uint32_t lookup_number(const ip_addr_t *address)
{
    return lwip_ntohl(ip4_addr_get_u32(ip_2_ip4(address)));
}

// lwIP's thread, under the core lock.
static void lookup_answered(const char *name, const ip_addr_t *address, void *argument)
{
    (void)name;
    struct lookup_request *request = argument;
    if (address != NULL && IP_IS_V4(address)) {
        request->found = true;
        request->ip = lookup_number(address);
    }
    chan_try_send(request->done, NULL);
}

bool net_lookup_host(const char *name, uint32_t *ip, enum net_error *error)
{
    enum net_error ignored;
    if (error == NULL)
        error = &ignored;
    size_t length = name ? strlen(name) : 0;
    if (length == 0 || length > DNS_MAX_NAME_LENGTH) {
        *error = NET_ERROR_INVALID;
        return false;
    }
    net_init();
    struct lookup_request request = { .done = chan_make(0, 1) };
    ip_addr_t address;
    LOCK_TCPIP_CORE();
    err_t started = dns_gethostbyname(name, &address, lookup_answered, &request);
    UNLOCK_TCPIP_CORE();
    if (started == ERR_OK) {
        request.found = true;
        request.ip = lookup_number(&address);
    } else if (started == ERR_INPROGRESS) {
        chan_receive(request.done, NULL);
    }
    chan_free(request.done);
    if (!request.found) {
        *error = started == ERR_MEM ? NET_ERROR_NO_MEMORY : NET_ERROR_NO_SUCH_HOST;
        return false;
    }
    *ip = request.ip;
    *error = NET_OK;
    return true;
}
