/* Built-in self-tests chosen with selftest=NAME (kernel/selftest.c). */
#ifndef HARDWAY_SELFTEST_H
#define HARDWAY_SELFTEST_H

// Runs the named self-test, prints "selftest NAME: ok" or
// "selftest NAME: FAIL <reason>", and ends the run (see power_exit_qemu).
void selftest_run(const char *name) __attribute__((noreturn));

#endif
