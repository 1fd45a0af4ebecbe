/*
 * The screen console: kernel messages on the monitor as well as on serial
 * (kernel/screen.c chooses how; the backends are kernel/console_vga.c and
 * kernel/console_framebuffer.c).
 */
#ifndef HARDWAY_SCREEN_H
#define HARDWAY_SCREEN_H

#include "boot_info.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// The physical memory the screen console will write, [*physical,
// *physical + *size), or false when this boot has no screen it can use.
// Whoever builds the page tables maps this range (uncached or
// write-combining, never executable) before screen_console_init runs.
bool screen_physical_range(const struct boot_info *info, uint64_t *physical, uint64_t *size);

// Picks the VGA text console or the framebuffer console from the boot
// information and registers it with the console, so that from then on every
// printk line also appears on the screen. Logs one line saying what it
// chose, or a warning when the screen is unusable (then nothing is
// registered and the console stays on serial). Safe to call more than once:
// only the first call does anything.
void screen_console_init(const struct boot_info *info);

// The backends, for screen.c (and the unit tests). Each checks the
// description it is given, clears the screen and registers itself; or
// returns false, with a one-line reason in `error`, and registers nothing.
// Call one of them at most once: a backend registered twice would make the
// console's list of backends a loop.
bool vga_console_init(const struct framebuffer_info *text_mode, char *error, size_t error_size);
bool framebuffer_console_init(const struct framebuffer_info *framebuffer, char *error, size_t error_size);

#endif
