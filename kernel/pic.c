/*
 * The two cascaded 8259 PICs of the original PC, switched off.
 *
 * hardway takes its interrupts through the IOAPIC and local APICs, but the
 * PICs are still present on QEMU and VMware and come up delivering on vectors
 * 8-15, where the CPU reports its own exceptions. So before masking them we
 * move them to vectors 0x20-0x2F (the initialisation sequence ICW1-ICW4):
 * should one still fire a spurious interrupt, it lands on a harmless vector
 * instead of looking like a double fault.
 */
#include "pic.h"
#include "cpu.h"
#include "traps.h"

#define PIC1_COMMAND 0x20
#define PIC1_DATA    0x21
#define PIC2_COMMAND 0xA0
#define PIC2_DATA    0xA1
#define ICW1_INIT_WITH_ICW4 0x11
#define ICW4_8086    0x01

void pic_disable(void)
{
    outb(PIC1_COMMAND, ICW1_INIT_WITH_ICW4);
    outb(PIC2_COMMAND, ICW1_INIT_WITH_ICW4);
    outb(PIC1_DATA, VECTOR_PIC_BASE);       // ICW2: first vector
    outb(PIC2_DATA, VECTOR_PIC_BASE + 8);
    outb(PIC1_DATA, 1 << 2);                // ICW3: the second PIC hangs off line 2
    outb(PIC2_DATA, 2);
    outb(PIC1_DATA, ICW4_8086);
    outb(PIC2_DATA, ICW4_8086);
    outb(PIC1_DATA, 0xFF);                  // mask every line
    outb(PIC2_DATA, 0xFF);
}
