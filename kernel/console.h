/*
 * The console: where kernel text goes. Backends (serial, VGA text, the
 * framebuffer) register themselves; console_write sends every line to all of
 * them under one lock, so lines from different CPUs never interleave.
 */
#ifndef HARDWAY_CONSOLE_H
#define HARDWAY_CONSOLE_H

#include <stddef.h>

struct console_backend {
    const char *name;
    void (*write)(const char *text, size_t length);
    struct console_backend *next;
};

void console_register(struct console_backend *backend);
void console_write(const char *text, size_t length);
// For the panic path: stop waiting for a lock that a dead CPU may hold.
void console_enter_panic_mode(void);

#endif
