/* COM1 serial console (kernel/serial.c). */
#ifndef HARDWAY_SERIAL_H
#define HARDWAY_SERIAL_H

void serial_init(void);

#endif
