/*
 * The boot benchmark's peer userspace: the first and only process that
 * Debian's Linux kernel runs when tools/bench-boot boots it.
 *
 * The benchmark times QEMU from start to a line on the serial console: for
 * hardway "hardway ready", for Linux this program's "peer userspace ready",
 * the moment Linux has booted far enough to run user code. Then the program
 * powers the machine off so QEMU exits by itself.
 *
 * It is linked statically (gcc -static) so that the initramfs needs nothing
 * but this file: no shell, no libc, no dynamic loader. The kernel opens
 * /dev/console as our stdout only if the initramfs has that device node; ours
 * is built without root (no mknod), so when stdout is not open we mount
 * devtmpfs and open the console ourselves.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

static const char ready_message[] = "peer userspace ready\n";

int main(void)
{
    if (write(STDOUT_FILENO, ready_message, strlen(ready_message)) < 0) {
        mkdir("/dev", 0755);
        mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
        int console = open("/dev/console", O_WRONLY);
        if (console >= 0)
            (void)!write(console, ready_message, strlen(ready_message));
    }
    // PID 1 must not exit (the kernel would panic); power off instead.
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}
