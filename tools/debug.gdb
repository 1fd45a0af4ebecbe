# debug.gdb: stop the kernel at kernel_main, for make debug.
#
# Used by tools/debug-kernel after gdb has loaded the kernel ELF's symbols and
# connected to QEMU's gdb server (target remote 127.0.0.1:PORT), with the CPU
# still halted at the firmware's first instruction (-S).
#
# Why these lines:
#  - The ELF is 64-bit, and QEMU's x86_64 gdb server always sends the 64-bit
#    register set, so gdb stays in i386:x86-64 from reset on even though the
#    CPU starts in real mode and enters our code in 32-bit protected mode
#    (boot/entry.S). Stopping in the 32-bit part, gdb would disassemble it
#    wrongly; that is why we stop only once long mode runs, at kernel_main.
#  - hbreak, not break: a software breakpoint writes an int3 into memory now,
#    but QEMU's multiboot loader copies the kernel into place only after the
#    CPU starts, over the int3. A hardware breakpoint is an address in a debug
#    register and survives the copy and the switch to long mode.
set pagination off
set confirm off
set architecture i386:x86-64
hbreak kernel_main
continue
