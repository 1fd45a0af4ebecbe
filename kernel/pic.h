/* The legacy 8259 interrupt controllers, switched off (kernel/pic.c). */
#ifndef HARDWAY_PIC_H
#define HARDWAY_PIC_H

void pic_disable(void);

#endif
