/*
 * arch/cc.h: what lwIP needs to know about the compiler and the C library
 * it is built with (lwIP's "arch" port, include/lwip/arch.h reads it).
 *
 * lwIP is compiled twice from the same sources and these same headers:
 * freestanding into the kernel, whose C library is kernel/libc (string.h,
 * stdio.h's snprintf, stdlib.h's atoi, limits.h), and hosted against glibc
 * for the unit tests. So this file asks for nothing either side lacks: no
 * inttypes.h (the printf formats are spelt out below), no ctype.h (lwIP
 * then uses its own character tests). ssize_t is lwIP's own int in the
 * kernel (no SSIZE_MAX there) and glibc's hosted.
 */
#ifndef HARDWAY_LWIP_ARCH_CC_H
#define HARDWAY_LWIP_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>

// Byte order: lwIP's default, little-endian, is x86-64's (and glibc's
// endian.h, which the hosted build may include first, agrees).

// printf formats for lwIP's own integer types (u16_t is unsigned short,
// u32_t unsigned int on x86-64), used only by its debug messages.
#define LWIP_NO_INTTYPES_H 1
#define X8_F "02x"
#define U16_F "hu"
#define S16_F "hd"
#define X16_F "hx"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#define LWIP_NO_CTYPE_H 1

// lwIP's errno values are its own (LWIP_PROVIDE_ERRNO in lwipopts.h): the
// kernel has no errno.h, and nothing of ours reads errno.

// Diagnostics and assertions go to the runtime's console output
// (net/lwip/sys_arch.c). An assertion failure is fatal: it names the
// condition, the file and the line.
void lwip_port_diagnostic(const char *format, ...) __attribute__((format(printf, 1, 2)));
void lwip_port_assert_failed(const char *message, const char *file, int line) __attribute__((noreturn));
#define LWIP_PLATFORM_DIAG(arguments) lwip_port_diagnostic arguments
#define LWIP_PLATFORM_ASSERT(message) lwip_port_assert_failed((message), __FILE__, __LINE__)

// Random numbers for TCP's initial sequence numbers, local ports and DNS
// transaction ids. Not cryptographic (sys_arch.c says how they are made).
uint32_t lwip_port_random(void);
#define LWIP_RAND() lwip_port_random()

// Packed structures for the headers lwIP lays over packet bytes.
#define PACK_STRUCT_STRUCT __attribute__((packed))

#endif
