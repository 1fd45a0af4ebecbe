/*
 * The VGA text console: kernel messages on the screen of a BIOS boot.
 *
 * In text mode the VGA shows a grid of character cells, 80x25 unless the
 * loader says otherwise, from memory at physical 0xB8000: two bytes per
 * cell, a character in code page 437 and an attribute (foreground colour in
 * the low four bits, background in the next three). The card draws the
 * glyphs from its own font, so this console only stores cells; it writes
 * light grey on black, the colours the BIOS leaves.
 *
 * kernel/screen.c chooses this backend when the boot information describes
 * an EGA text screen, or none on a BIOS boot (QEMU -kernel). The terminal
 * behaviour (wrap, scroll, '\n' '\r' '\t' '\b') is kernel/screen_text.c's;
 * this file adds the translation from Unicode to code page 437, the copy to
 * the card, and the hardware cursor.
 *
 * The text is kept in a grid in RAM, and after each write only the cells
 * that differ from what the card shows are stored into text memory. Text
 * memory is never read: reads from it are slow on real cards and trap to the
 * hypervisor under QEMU and VMware, and scrolling in place would read every
 * cell of the screen for every new line.
 *
 * The hardware cursor is the blinking underline the card draws itself. Its
 * position lives in the CRT controller (registers 0x0E and 0x0F, reached
 * through an index port and a data port), and it is moved once per write,
 * not per character, because each move is four port writes and port I/O is
 * slow under virtualisation.
 *
 * console_write (kernel/console.c) calls vga_console_write with the console
 * lock held, so one CPU at a time runs here.
 */
#include "screen.h"
#include "screen_text.h"
#include "console.h"
#include "cpu.h"
#include "physical.h"
#include "printk.h"
#include <stdio.h>

#define VGA_ATTRIBUTE_LIGHT_GREY_ON_BLACK   0x07
#define VGA_UNKNOWN_CHARACTER               '?'

// Text memory is always inside the legacy VGA window; a description pointing
// elsewhere is wrong, and following it would write over RAM.
#define VGA_WINDOW_START    0xA0000
#define VGA_WINDOW_END      0xC0000
#define VGA_DIMENSION_MAX   255
// Cells in the RAM grids: the largest text modes in use are 132x60.
#define VGA_CELLS_MAX       8192

// Bit 0 of the miscellaneous output register selects where the CRT
// controller answers: 0x3D4/0x3D5 on a colour card (every emulated VGA),
// 0x3B4/0x3B5 on a monochrome one.
#define VGA_MISCELLANEOUS_OUTPUT_READ       0x3CC
#define VGA_MISCELLANEOUS_COLOUR_ADDRESSES  0x01
#define VGA_CRTC_INDEX_COLOUR               0x3D4
#define VGA_CRTC_INDEX_MONOCHROME           0x3B4
enum {
    CRTC_MAXIMUM_SCAN_LINE = 0x09,  // low 5 bits: character height - 1
    CRTC_CURSOR_START = 0x0A,       // first scan line of the cursor; bit 5 hides it
    CRTC_CURSOR_END = 0x0B,
    CRTC_START_ADDRESS_HIGH = 0x0C, // which cell the top left corner shows
    CRTC_START_ADDRESS_LOW = 0x0D,
    CRTC_CURSOR_LOCATION_HIGH = 0x0E,
    CRTC_CURSOR_LOCATION_LOW = 0x0F,
};
#define CRTC_CURSOR_HIDDEN 0x20

// Code page 437, the VGA's built-in character set: the Unicode character
// each byte shows. 0x20..0x7E are ASCII; the rest are the PC's symbols,
// accented letters, box drawing and Greek. Byte 0 is blank and never chosen.
static const uint16_t vga_code_page_437[256] = {
    0x0000, 0x263A, 0x263B, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,  // 00
    0x25D8, 0x25CB, 0x25D9, 0x2642, 0x2640, 0x266A, 0x266B, 0x263C,  // 08
    0x25BA, 0x25C4, 0x2195, 0x203C, 0x00B6, 0x00A7, 0x25AC, 0x21A8,  // 10
    0x2191, 0x2193, 0x2192, 0x2190, 0x221F, 0x2194, 0x25B2, 0x25BC,  // 18
    0x0020, 0x0021, 0x0022, 0x0023, 0x0024, 0x0025, 0x0026, 0x0027,  // 20
    0x0028, 0x0029, 0x002A, 0x002B, 0x002C, 0x002D, 0x002E, 0x002F,  // 28
    0x0030, 0x0031, 0x0032, 0x0033, 0x0034, 0x0035, 0x0036, 0x0037,  // 30
    0x0038, 0x0039, 0x003A, 0x003B, 0x003C, 0x003D, 0x003E, 0x003F,  // 38
    0x0040, 0x0041, 0x0042, 0x0043, 0x0044, 0x0045, 0x0046, 0x0047,  // 40
    0x0048, 0x0049, 0x004A, 0x004B, 0x004C, 0x004D, 0x004E, 0x004F,  // 48
    0x0050, 0x0051, 0x0052, 0x0053, 0x0054, 0x0055, 0x0056, 0x0057,  // 50
    0x0058, 0x0059, 0x005A, 0x005B, 0x005C, 0x005D, 0x005E, 0x005F,  // 58
    0x0060, 0x0061, 0x0062, 0x0063, 0x0064, 0x0065, 0x0066, 0x0067,  // 60
    0x0068, 0x0069, 0x006A, 0x006B, 0x006C, 0x006D, 0x006E, 0x006F,  // 68
    0x0070, 0x0071, 0x0072, 0x0073, 0x0074, 0x0075, 0x0076, 0x0077,  // 70
    0x0078, 0x0079, 0x007A, 0x007B, 0x007C, 0x007D, 0x007E, 0x2302,  // 78
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,  // 80
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,  // 88
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,  // 90
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192,  // 98
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,  // A0
    0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,  // A8
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,  // B0
    0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,  // B8
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,  // C0
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,  // C8
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,  // D0
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,  // D8
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,  // E0
    0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,  // E8
    0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,  // F0
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,  // F8
};

static struct screen_text vga_text;
static uint16_t vga_cells[VGA_CELLS_MAX];   // what to show, `columns` cells per line
static uint16_t vga_shown[VGA_CELLS_MAX];   // what the card shows; 0 = not yet written
static volatile uint16_t *vga_memory;       // the card's text memory
static uint32_t vga_memory_stride;          // cells per line there
static uint16_t vga_crtc_index;

static uint16_t vga_cell_for(uint32_t code_point)
{
    uint8_t character = VGA_UNKNOWN_CHARACTER;
    if (code_point >= 0x20 && code_point < 0x7F) {
        character = (uint8_t)code_point;
    } else {
        // Kernel text is nearly all ASCII, so a linear search for the rest
        // costs nothing that matters.
        for (uint32_t byte = 1; byte < 256; byte++) {
            if (vga_code_page_437[byte] == code_point) {
                character = (uint8_t)byte;
                break;
            }
        }
    }
    return (uint16_t)(VGA_ATTRIBUTE_LIGHT_GREY_ON_BLACK << 8 | character);
}

static uint8_t vga_crtc_read(uint8_t index)
{
    outb(vga_crtc_index, index);
    return inb(vga_crtc_index + 1);
}

static void vga_crtc_write(uint8_t index, uint8_t value)
{
    outb(vga_crtc_index, index);
    outb(vga_crtc_index + 1, value);
}

// Stores the cells that changed since the last flush into text memory.
static void vga_flush(void)
{
    for (uint32_t row = 0; row < vga_text.rows; row++) {
        for (uint32_t column = 0; column < vga_text.columns; column++) {
            size_t index = (size_t)row * vga_text.columns + column;
            if (vga_shown[index] != vga_cells[index]) {
                vga_memory[(size_t)row * vga_memory_stride + column] = vga_cells[index];
                vga_shown[index] = vga_cells[index];
            }
        }
    }
}

static void vga_move_hardware_cursor(void)
{
    size_t cursor = screen_text_cursor_index(&vga_text);
    size_t position = cursor / vga_text.columns * vga_memory_stride + cursor % vga_text.columns;
    vga_crtc_write(CRTC_CURSOR_LOCATION_HIGH, (uint8_t)(position >> 8));
    vga_crtc_write(CRTC_CURSOR_LOCATION_LOW, (uint8_t)position);
}

// Shows the text memory from its first cell, and the cursor as an underline
// on the cell's last two scan lines: GRUB or the BIOS may have scrolled the
// display by its start address or hidden the cursor.
static void vga_reset_display(void)
{
    vga_crtc_index = (inb(VGA_MISCELLANEOUS_OUTPUT_READ) & VGA_MISCELLANEOUS_COLOUR_ADDRESSES)
        ? VGA_CRTC_INDEX_COLOUR : VGA_CRTC_INDEX_MONOCHROME;
    vga_crtc_write(CRTC_START_ADDRESS_HIGH, 0);
    vga_crtc_write(CRTC_START_ADDRESS_LOW, 0);
    uint8_t last_scan_line = vga_crtc_read(CRTC_MAXIMUM_SCAN_LINE) & 0x1F;
    uint8_t first_scan_line = last_scan_line > 0 ? last_scan_line - 1 : 0;
    vga_crtc_write(CRTC_CURSOR_START, (vga_crtc_read(CRTC_CURSOR_START) & 0xC0) | first_scan_line);
    vga_crtc_write(CRTC_CURSOR_END, (vga_crtc_read(CRTC_CURSOR_END) & 0xE0) | last_scan_line);
}

static void vga_console_write(const char *text, size_t length)
{
    screen_text_write(&vga_text, text, length);
    vga_flush();
    vga_move_hardware_cursor();
}

static struct console_backend vga_console = { .name = "vga", .write = vga_console_write };

bool vga_console_init(const struct framebuffer_info *text_mode, char *error, size_t error_size)
{
    uint32_t columns = text_mode->width, rows = text_mode->height;
    if (columns == 0 || rows == 0 || columns > VGA_DIMENSION_MAX || rows > VGA_DIMENSION_MAX ||
        columns * rows > VGA_CELLS_MAX) {
        snprintf(error, error_size, "VGA text screen of %ux%u characters is not plausible", columns, rows);
        return false;
    }
    // Multiboot gives the pitch in bytes. In text mode a line is normally
    // exactly `columns` cells; a pitch too small for that (a loader may give
    // 0) is taken to mean exactly that. kernel/screen.c assumes the same.
    uint32_t stride = text_mode->pitch / 2 >= columns ? text_mode->pitch / 2 : columns;
    uint64_t end = text_mode->address + (uint64_t)stride * rows * 2;
    if (text_mode->address < VGA_WINDOW_START || text_mode->address >= VGA_WINDOW_END || end > VGA_WINDOW_END) {
        snprintf(error, error_size, "VGA text memory at %#lx..%#lx lies outside the VGA window",
                 (unsigned long)text_mode->address, (unsigned long)end);
        return false;
    }

    vga_memory = physical_to_virtual(text_mode->address);
    vga_memory_stride = stride;
    vga_text = (struct screen_text){
        .cells = vga_cells,
        .columns = columns,
        .rows = rows,
        .blank = vga_cell_for(' '),
        .cell_for = vga_cell_for,
        .decoder = UTF8_DECODER_INITIALIZER,
    };
    vga_reset_display();
    screen_text_clear(&vga_text);
    // No cell is ever 0 (the attribute is never 0), so this flush writes
    // every cell and clears what the BIOS and GRUB left on the screen.
    for (size_t i = 0; i < VGA_CELLS_MAX; i++)
        vga_shown[i] = 0;
    vga_flush();
    vga_move_hardware_cursor();
    console_register(&vga_console);
    log_info("screen: VGA text %ux%u at %#lx\n", columns, rows, (unsigned long)text_mode->address);
    return true;
}
