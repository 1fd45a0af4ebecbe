/*
 * Running a runtime program in a child process, for tests.
 *
 * runtime_run may be called once per process, and some tests are about how a
 * program dies (a deadlock, a stack overflow). So each such test forks, the
 * child runs the program with its standard error in a pipe, and the parent
 * gets back the exit status and everything the child printed.
 */
#ifndef HARDWAY_TESTS_RUNTIME_CHILD_H
#define HARDWAY_TESTS_RUNTIME_CHILD_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct child_result {
    int exit_status;        // -1 when killed by a signal
    int signal_number;
    char output[16384];     // standard error, NUL-terminated, cut to fit
};

// Runs body(argument) in a child process; the child exits with body's return
// value if body returns.
static inline struct child_result run_in_child(int (*body)(void *), void *argument)
{
    struct child_result result = { 0 };
    int pipe_ends[2];
    ck_assert_int_eq(pipe(pipe_ends), 0);
    fflush(NULL);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(pipe_ends[0]);
        dup2(pipe_ends[1], STDERR_FILENO);
        close(pipe_ends[1]);
        int status = body(argument);
        fflush(NULL);
        _exit(status);
    }
    close(pipe_ends[1]);
    size_t length = 0;
    ssize_t got;
    while ((got = read(pipe_ends[0], result.output + length, sizeof result.output - 1 - length)) > 0)
        length += (size_t)got;
    result.output[length] = '\0';
    close(pipe_ends[0]);
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    if (WIFEXITED(status)) {
        result.exit_status = WEXITSTATUS(status);
    } else {
        result.exit_status = -1;
        result.signal_number = WTERMSIG(status);
    }
    return result;
}

#endif
