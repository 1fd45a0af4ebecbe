/*
 * The 16550 UART on COM1: hardway's first and most dependable console.
 *
 * It works the moment the CPU does (no memory mapping, no mode setting), QEMU
 * and VMware both emulate it, and the tests read the kernel's output from it.
 * We program 115200 baud, 8 data bits, no parity, 1 stop bit, with the FIFOs
 * on, and write by polling the "transmit holding register empty" bit:
 * interrupts would buy nothing for a console that must also work while
 * panicking with interrupts off. Once the transmitter is empty its 16-byte
 * FIFO takes 16 bytes without further polling, which halves the port
 * accesses per character: under emulation each one is a trip into the
 * hypervisor, and console output is a visible part of the boot time.
 */
#include "serial.h"
#include "console.h"
#include "cpu.h"

#define COM1 0x3F8
enum {
    UART_DATA = 0,                  // with DLAB=1: divisor low byte
    UART_INTERRUPT_ENABLE = 1,      // with DLAB=1: divisor high byte
    UART_FIFO_CONTROL = 2,
    UART_LINE_CONTROL = 3,
    UART_MODEM_CONTROL = 4,
    UART_LINE_STATUS = 5,
    UART_SCRATCH = 7,
};
#define LINE_CONTROL_8N1        0x03
#define LINE_CONTROL_DLAB       0x80
#define LINE_STATUS_TX_EMPTY    0x20
#define UART_CLOCK              115200

#define UART_FIFO_SIZE          16

static bool serial_present;
static int fifo_room;   // bytes we may still write without polling

static void serial_put(char character)
{
    if (fifo_room == 0) {
        // Bounded wait: a UART that never drains must not hang the kernel.
        for (int spins = 0; spins < 100000; spins++)
            if (inb(COM1 + UART_LINE_STATUS) & LINE_STATUS_TX_EMPTY)
                break;
        fifo_room = UART_FIFO_SIZE;
    }
    outb(COM1 + UART_DATA, (uint8_t)character);
    fifo_room--;
}

static void serial_write(const char *text, size_t length)
{
    if (!serial_present)
        return;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '\n')
            serial_put('\r');   // terminals want CR LF
        serial_put(text[i]);
    }
}

static struct console_backend serial_console = { .name = "serial", .write = serial_write };

void serial_init(void)
{
    // A UART answers with what we wrote to its scratch register; an absent
    // one floats the bus and reads back 0xFF.
    outb(COM1 + UART_SCRATCH, 0x5A);
    if (inb(COM1 + UART_SCRATCH) != 0x5A)
        return;
    serial_present = true;
    uint16_t divisor = UART_CLOCK / 115200;
    outb(COM1 + UART_INTERRUPT_ENABLE, 0x00);
    outb(COM1 + UART_LINE_CONTROL, LINE_CONTROL_DLAB);
    outb(COM1 + UART_DATA, divisor & 0xFF);
    outb(COM1 + UART_INTERRUPT_ENABLE, divisor >> 8);
    outb(COM1 + UART_LINE_CONTROL, LINE_CONTROL_8N1);
    outb(COM1 + UART_FIFO_CONTROL, 0xC7);   // enable, clear both, 14-byte trigger
    outb(COM1 + UART_MODEM_CONTROL, 0x03);  // DTR and RTS
    console_register(&serial_console);
}
