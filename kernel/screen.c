/*
 * The screen console: which screen this boot has, and which backend draws it.
 *
 * The serial port is the console the tests read, but a person booting
 * hardway in a VM window, or on VMware, looks at the screen. Two kinds of
 * screen exist at boot, depending on the firmware:
 *
 *   - BIOS: the VGA is in text mode, 80x25 cells at physical 0xB8000, and
 *     the card draws the characters (kernel/console_vga.c). GRUB says so in
 *     its multiboot2 framebuffer tag ("EGA text"); QEMU's -kernel (multiboot1)
 *     says nothing but leaves the card in that mode, so a BIOS boot without
 *     framebuffer information gets the standard text screen too.
 *   - UEFI: there is no text mode, only the linear framebuffer that the
 *     firmware's Graphics Output Protocol set up and GRUB passes on
 *     (grub.cfg: gfxpayload=auto). We draw the characters ourselves with a bitmap font
 *     (kernel/console_framebuffer.c). A UEFI boot without a framebuffer has
 *     no screen we can use; the console then stays on serial.
 *
 * A framebuffer description that cannot be right (address 0, absurd sizes,
 * unknown pixel layout) is refused by the backend: no screen console is
 * registered and a warning goes out on the consoles that exist. Drawing
 * through a wrong description could write over arbitrary memory.
 *
 * Both backends register a struct console_backend with console_register
 * (kernel/console.h). console_write calls them under the console lock, one
 * CPU at a time, with interrupts off; they never sleep and never allocate.
 */
#include "screen.h"
#include "printk.h"

// The standard colour text mode: 80x25 cells of two bytes at 0xB8000.
#define VGA_TEXT_ADDRESS    0xB8000
#define VGA_TEXT_COLUMNS    80
#define VGA_TEXT_ROWS       25

static bool screen_initialized;

// The screen this boot has, or false when it has none we can draw on.
static bool screen_choose(const struct boot_info *info, struct framebuffer_info *screen)
{
    switch (info->framebuffer.kind) {
    case FRAMEBUFFER_RGB:
    case FRAMEBUFFER_EGA_TEXT:
        *screen = info->framebuffer;
        return true;
    case FRAMEBUFFER_NONE:
        break;
    }
    if (info->uefi)
        return false;
    *screen = (struct framebuffer_info){
        .kind = FRAMEBUFFER_EGA_TEXT,
        .address = VGA_TEXT_ADDRESS,
        .pitch = VGA_TEXT_COLUMNS * 2,
        .width = VGA_TEXT_COLUMNS,
        .height = VGA_TEXT_ROWS,
        .bits_per_pixel = 16,
    };
    return true;
}

bool screen_physical_range(const struct boot_info *info, uint64_t *physical, uint64_t *size)
{
    struct framebuffer_info screen;
    if (!screen_choose(info, &screen))
        return false;
    uint64_t pitch = screen.pitch;
    if (screen.kind == FRAMEBUFFER_EGA_TEXT && pitch < 2ull * screen.width)
        pitch = 2ull * screen.width;    // the VGA backend assumes the same
    *physical = screen.address;
    *size = pitch * screen.height;
    return *size != 0;
}

void screen_console_init(const struct boot_info *info)
{
    if (screen_initialized)
        return;     // a backend registered twice would loop the console's list
    screen_initialized = true;

    struct framebuffer_info screen;
    if (!screen_choose(info, &screen)) {
        log_info("screen: UEFI boot without a framebuffer; console on serial only\n");
        return;
    }
    char error[128];
    bool registered = screen.kind == FRAMEBUFFER_RGB
        ? framebuffer_console_init(&screen, error, sizeof error)
        : vga_console_init(&screen, error, sizeof error);
    if (!registered)
        log_warning("screen: %s; console on serial only\n", error);
}
