/*
 * The image's default workload (kernel/services.c): the network and the
 * services the command line asks for, on the goroutine runtime.
 */
#ifndef HARDWAY_SERVICES_H
#define HARDWAY_SERVICES_H

// Starts the runtime with the services as its main goroutine. Never returns.
void services_run(void) __attribute__((noreturn));

#endif
