/*
 * services.c: what the image does when no self-test is asked for.
 *
 * The boot CPU starts the goroutine runtime (every other CPU joins it as an
 * M) with services_main as its main goroutine, which brings the network up
 * -- lwIP, the e1000, an address by DHCP or from ip= -- and starts the
 * services the command line asks for (echo=PORT). Without a network card
 * the image says so and keeps running: the runtime is still there for
 * whatever else is started. The main goroutine then waits for good; the
 * services run on their own goroutines.
 */
#include "services.h"
#include "cmdline.h"
#include "drivers/e1000_attach.h"
#include "download.h"
#include "echo.h"
#include "netbench.h"
#include "net.h"
#include "netif.h"
#include "netpoll.h"
#include "printk.h"
#include "runtime.h"

// Starts one service the command line asked for (port 0: not asked);
// a failure is a warning, and the rest go on.
static void services_start_server(const char *name, int port, bool (*start)(uint16_t, enum net_error *))
{
    enum net_error failure;
    if (port != 0 && !start((uint16_t)port, &failure))
        log_warning("%s: cannot listen on port %d: %s\n", name, port, net_error_string(failure));
}

static void services_start_network(void)
{
    net_init();
    char error[160];
    struct net_device *device = e1000_attach(error, sizeof error);
    if (device == NULL) {
        log_warning("net: no network: %s\n", error);
        return;
    }
    if (!net_device_start(device, &kernel_options.ip, error, sizeof error)) {
        log_warning("net: no network: %s\n", error);
        return;
    }
    services_start_server("echo", kernel_options.echo_port, echo_start);
    services_start_server("netbench", kernel_options.netbench_port, netbench_start);
    if (kernel_options.download[0]) {
        net_device_wait_address();   // dialing out needs an address and a route
        download_start(kernel_options.download);
    }
}

static void services_main(void *argument)
{
    (void)argument;
    services_start_network();
    // Nothing signals this: the main goroutine stays parked, and a parked
    // netpoll waiter keeps the runtime from calling the idle machine a
    // deadlock.
    static struct netpoll_event forever;
    for (;;)
        netpoll_wait(&forever);
}

void services_run(void)
{
    runtime_run(services_main, NULL, NULL);
    // runtime_run does not return in the kernel; the compiler cannot know.
    __builtin_unreachable();
}
