/*
 * lwIP on the goroutine runtime (net/lwip/sys_arch.c), hosted.
 *
 * The OS layer's pieces one by one -- mailboxes and semaphores as channels,
 * with and without timeouts, woken across goroutines -- then lwIP itself:
 * its thread started as a goroutine, a TCP connection over the loopback
 * interface (127.0.0.1) through the raw API under the core lock, with the
 * data echoed back byte for byte, and the core-lock check that makes a call
 * without the lock a fatal error rather than a rare corruption.
 *
 * Each test runs the runtime in a process of its own (Check forks; the
 * fatal case forks once more, child.h).
 */
#include "chan.h"
#include "child.h"
#include "lwip/init.h"
#include "lwip/ip_addr.h"
#include "lwip/sys.h"
#include "lwip/tcp.h"
#include "lwip/tcpip.h"
#include "net.h"
#include "runtime.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

static int run(goroutine_function main_function)
{
    struct runtime_config config = { .procs = 2 };
    return runtime_run(main_function, NULL, &config);
}

/* --- Mailboxes ---------------------------------------------------------------- */

struct mailbox_post {
    sys_mbox_t *mailbox;
    void *message;
};

static void post_later(void *argument)
{
    struct mailbox_post *post = argument;
    gosleep(1000000);
    sys_mbox_post(post->mailbox, post->message);
}

static void mailboxes(void *unused)
{
    (void)unused;
    sys_mbox_t mailbox;
    ck_assert_int_eq(sys_mbox_new(&mailbox, 2), ERR_OK);
    ck_assert(sys_mbox_valid(&mailbox));
    int first, second, third;
    void *message = NULL;
    // Empty: tryfetch says so, and a fetch with a timeout times out.
    ck_assert_uint_eq(sys_arch_mbox_tryfetch(&mailbox, &message), SYS_MBOX_EMPTY);
    ck_assert_uint_eq(sys_arch_mbox_fetch(&mailbox, &message, 5), SYS_ARCH_TIMEOUT);
    ck_assert_ptr_null(message);
    // In order; a full mailbox refuses a trypost.
    sys_mbox_post(&mailbox, &first);
    ck_assert_int_eq(sys_mbox_trypost(&mailbox, &second), ERR_OK);
    ck_assert_int_eq(sys_mbox_trypost(&mailbox, &third), ERR_MEM);
    ck_assert_uint_ne(sys_arch_mbox_fetch(&mailbox, &message, 0), SYS_ARCH_TIMEOUT);
    ck_assert_ptr_eq(message, &first);
    ck_assert_uint_eq(sys_arch_mbox_tryfetch(&mailbox, &message), 0);
    ck_assert_ptr_eq(message, &second);
    // A fetch waiting forever is woken by another goroutine's post.
    struct mailbox_post post = { &mailbox, &third };
    go(post_later, &post);
    ck_assert_uint_ne(sys_arch_mbox_fetch(&mailbox, &message, 0), SYS_ARCH_TIMEOUT);
    ck_assert_ptr_eq(message, &third);
    sys_mbox_free(&mailbox);
    ck_assert(!sys_mbox_valid(&mailbox));
}

START_TEST(test_mailboxes)
{
    ck_assert_int_eq(run(mailboxes), 0);
}
END_TEST

/* --- Semaphores --------------------------------------------------------------- */

static void signal_later(void *argument)
{
    gosleep(1000000);
    sys_sem_signal(argument);
}

static void semaphores(void *unused)
{
    (void)unused;
    sys_sem_t semaphore;
    ck_assert_int_eq(sys_sem_new(&semaphore, 0), ERR_OK);
    ck_assert_uint_eq(sys_arch_sem_wait(&semaphore, 5), SYS_ARCH_TIMEOUT);
    sys_sem_signal(&semaphore);
    sys_sem_signal(&semaphore);
    ck_assert_uint_ne(sys_arch_sem_wait(&semaphore, 5), SYS_ARCH_TIMEOUT);
    ck_assert_uint_ne(sys_arch_sem_wait(&semaphore, 0), SYS_ARCH_TIMEOUT);
    ck_assert_uint_eq(sys_arch_sem_wait(&semaphore, 1), SYS_ARCH_TIMEOUT);
    go(signal_later, &semaphore);
    ck_assert_uint_ne(sys_arch_sem_wait(&semaphore, 0), SYS_ARCH_TIMEOUT);
    sys_sem_free(&semaphore);

    sys_sem_t counted;
    ck_assert_int_eq(sys_sem_new(&counted, 2), ERR_OK);
    ck_assert_uint_ne(sys_arch_sem_wait(&counted, 1), SYS_ARCH_TIMEOUT);
    ck_assert_uint_ne(sys_arch_sem_wait(&counted, 1), SYS_ARCH_TIMEOUT);
    ck_assert_uint_eq(sys_arch_sem_wait(&counted, 1), SYS_ARCH_TIMEOUT);
    sys_sem_free(&counted);
}

START_TEST(test_semaphores)
{
    ck_assert_int_eq(run(semaphores), 0);
}
END_TEST

/* --- lwIP's thread and the core lock ------------------------------------------- */


/* --- TCP over the loopback interface ------------------------------------------ */

#define ECHO_PORT 7777
#define ECHO_BYTES (256 * 1024)

// The server echoes whatever it receives; the client sends ECHO_BYTES of a
// pattern and collects the echo. Callbacks run under the core lock (in
// lwIP's goroutine, or in one that holds the lock); they only note progress
// and wake the test through a channel.
struct echo_test {
    struct chan *done;        // the client's whole echo has arrived, or an error
    struct tcp_pcb *client;
    uint8_t *sent;
    uint8_t *received;
    size_t sent_bytes, received_bytes;
    err_t error;
};

static err_t server_received(void *argument, struct tcp_pcb *pcb, struct pbuf *p, err_t error)
{
    (void)argument;
    if (p == NULL || error != ERR_OK) {
        tcp_close(pcb);
        return ERR_OK;
    }
    // Echo it all; the send buffer is as large as the window, so it fits.
    for (struct pbuf *q = p; q; q = q->next)
        ck_assert_int_eq(tcp_write(pcb, q->payload, q->len, TCP_WRITE_FLAG_COPY), ERR_OK);
    tcp_output(pcb);
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return ERR_OK;
}

static err_t server_accepted(void *argument, struct tcp_pcb *pcb, err_t error)
{
    (void)argument;
    ck_assert_int_eq(error, ERR_OK);
    tcp_recv(pcb, server_received);
    return ERR_OK;
}

static void client_send_more(struct echo_test *test)
{
    while (test->sent_bytes < ECHO_BYTES) {
        size_t room = tcp_sndbuf(test->client);
        size_t chunk = ECHO_BYTES - test->sent_bytes < room ? ECHO_BYTES - test->sent_bytes : room;
        if (chunk > 4000)
            chunk = 4000;
        if (chunk == 0 || tcp_write(test->client, test->sent + test->sent_bytes, (u16_t)chunk, 0) != ERR_OK)
            break;
        test->sent_bytes += chunk;
    }
    tcp_output(test->client);
}

static err_t client_sent(void *argument, struct tcp_pcb *pcb, u16_t length)
{
    (void)pcb;
    (void)length;
    client_send_more(argument);
    return ERR_OK;
}

static err_t client_received(void *argument, struct tcp_pcb *pcb, struct pbuf *p, err_t error)
{
    struct echo_test *test = argument;
    if (p == NULL || error != ERR_OK) {
        test->error = error != ERR_OK ? error : ERR_CLSD;
        chan_try_send(test->done, NULL);
        return ERR_OK;
    }
    ck_assert_uint_le(test->received_bytes + p->tot_len, ECHO_BYTES);
    pbuf_copy_partial(p, test->received + test->received_bytes, p->tot_len, 0);
    test->received_bytes += p->tot_len;
    tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    if (test->received_bytes == ECHO_BYTES)
        chan_try_send(test->done, NULL);
    return ERR_OK;
}

static void client_failed(void *argument, err_t error)
{
    struct echo_test *test = argument;
    test->client = NULL;   // lwIP has freed it
    test->error = error;
    chan_try_send(test->done, NULL);
}

static err_t client_connected(void *argument, struct tcp_pcb *pcb, err_t error)
{
    (void)pcb;
    ck_assert_int_eq(error, ERR_OK);
    client_send_more(argument);
    return ERR_OK;
}

static void loopback_echo(void *unused)
{
    (void)unused;
    net_init();   // lwIP's thread, a goroutine, started and ready
    struct echo_test test = { .done = chan_make(0, 1), .error = ERR_OK };
    test.sent = malloc(ECHO_BYTES);
    test.received = malloc(ECHO_BYTES);
    for (size_t i = 0; i < ECHO_BYTES; i++)
        test.sent[i] = (uint8_t)(i * 7 + i / 251);

    ip_addr_t loopback;
    IP_ADDR4(&loopback, 127, 0, 0, 1);
    LOCK_TCPIP_CORE();
    struct tcp_pcb *listener = tcp_new();
    ck_assert_ptr_nonnull(listener);
    ck_assert_int_eq(tcp_bind(listener, &loopback, ECHO_PORT), ERR_OK);
    listener = tcp_listen(listener);
    ck_assert_ptr_nonnull(listener);
    tcp_accept(listener, server_accepted);

    test.client = tcp_new();
    ck_assert_ptr_nonnull(test.client);
    tcp_arg(test.client, &test);
    tcp_recv(test.client, client_received);
    tcp_sent(test.client, client_sent);
    tcp_err(test.client, client_failed);
    ck_assert_int_eq(tcp_connect(test.client, &loopback, ECHO_PORT, client_connected), ERR_OK);
    UNLOCK_TCPIP_CORE();

    chan_receive(test.done, NULL);
    LOCK_TCPIP_CORE();
    ck_assert_int_eq(test.error, ERR_OK);
    ck_assert_uint_eq(test.received_bytes, ECHO_BYTES);
    ck_assert_int_eq(memcmp(test.sent, test.received, ECHO_BYTES), 0);
    // The server's FIN may come after this goroutine has returned: nothing
    // of the client may still point at `test`, which lives on its stack.
    tcp_arg(test.client, NULL);
    tcp_recv(test.client, NULL);
    tcp_sent(test.client, NULL);
    tcp_err(test.client, NULL);
    tcp_close(test.client);
    tcp_close(listener);
    UNLOCK_TCPIP_CORE();
}

START_TEST(test_tcp_echo_over_loopback)
{
    ck_assert_int_eq(run(loopback_echo), 0);
}
END_TEST

/* --- The core lock -------------------------------------------------------------- */

static void call_without_the_lock(void *unused)
{
    (void)unused;
    net_init();   // lwIP's thread, a goroutine, started and ready
    tcp_new();   // must die here
}

static int program_without_the_lock(void *unused)
{
    (void)unused;
    return run(call_without_the_lock);
}

START_TEST(test_a_call_without_the_core_lock_is_fatal)
{
    struct child_result result = run_in_child(program_without_the_lock, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d (signal %d); output:\n%s", result.exit_status,
                  result.signal_number, result.output);
    ck_assert_msg(strstr(result.output, "lwIP called without the core lock"), "no explanation in:\n%s",
                  result.output);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("lwip_port");
    TCase *os = tcase_create("os");
    tcase_add_test(os, test_mailboxes);
    tcase_add_test(os, test_semaphores);
    suite_add_tcase(suite, os);
    TCase *stack = tcase_create("stack");
    tcase_set_timeout(stack, 60);
    tcase_add_test(stack, test_tcp_echo_over_loopback);
    tcase_add_test(stack, test_a_call_without_the_core_lock_is_fatal);
    suite_add_tcase(suite, stack);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
