/*
 * Unit tests for kernel/cmdline.c: the command-line words, their defaults,
 * the warnings for mistakes (which must name the word), the boot loader's
 * image path in front, and the option table that docs/cmdline.md mirrors.
 */
#include "cmdline.h"
#include "fakes.h"
#include "printk.h"
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void setup(void)
{
    fake_printk_reset();
    log_level = LOG_INFO;
}

static void assert_no_warnings(void)
{
    ck_assert_msg(fake_printk_count(LOG_WARNING) == 0 && fake_printk_count(LOG_ERROR) == 0,
                  "unexpected messages:\n%s", fake_printk_all());
}

static void assert_defaults(void)
{
    ck_assert_int_eq(kernel_options.procs, 0);
    ck_assert(!kernel_options.bootchart);
    ck_assert_str_eq(kernel_options.selftest, "");
    ck_assert_int_eq(kernel_options.log_level, LOG_INFO);
    ck_assert_int_eq(kernel_options.gogc, 100);
    ck_assert_uint_eq(kernel_options.gomemlimit, 0);
    ck_assert(!kernel_options.gctrace);
    ck_assert(!kernel_options.gccheckmark);
    ck_assert_int_eq(kernel_options.gcstress, 0);
    ck_assert(kernel_options.ip.dhcp);
    ck_assert_int_eq(kernel_options.echo_port, 0);
    ck_assert_str_eq(kernel_options.download, "");
}

START_TEST(empty_line_gives_defaults)
{
    cmdline_parse("");
    assert_defaults();
    assert_no_warnings();
    cmdline_parse(NULL);
    assert_defaults();
    assert_no_warnings();
    cmdline_parse("   \t  ");
    assert_defaults();
    assert_no_warnings();
}
END_TEST

START_TEST(every_option_is_parsed)
{
    cmdline_parse("procs=4 bootchart=1 selftest=ipi loglevel=7");
    assert_no_warnings();
    ck_assert_int_eq(kernel_options.procs, 4);
    ck_assert(kernel_options.bootchart);
    ck_assert_str_eq(kernel_options.selftest, "ipi");
    ck_assert_int_eq(kernel_options.log_level, 7);
    ck_assert_int_eq(log_level, 7);
}
END_TEST

START_TEST(a_new_parse_starts_from_the_defaults)
{
    cmdline_parse("procs=4 bootchart selftest=ipi loglevel=debug");
    cmdline_parse("");
    assert_defaults();
    ck_assert_int_eq(log_level, LOG_INFO);
}
END_TEST

START_TEST(words_separated_by_any_blank)
{
    cmdline_parse("  procs=8\t\tbootchart=1 \n selftest=x  ");
    assert_no_warnings();
    ck_assert_int_eq(kernel_options.procs, 8);
    ck_assert(kernel_options.bootchart);
    ck_assert_str_eq(kernel_options.selftest, "x");
}
END_TEST

START_TEST(procs_bounds)
{
    cmdline_parse("procs=0");
    ck_assert_int_eq(kernel_options.procs, 0);
    cmdline_parse("procs=1");
    ck_assert_int_eq(kernel_options.procs, 1);
    cmdline_parse("procs=256");
    ck_assert_int_eq(kernel_options.procs, 256);
    assert_no_warnings();
    cmdline_parse("procs=257");
    ck_assert_int_eq(kernel_options.procs, 0);
    ck_assert(fake_printk_has(LOG_WARNING, "'procs=257'", "0..256", NULL));
    cmdline_parse("procs=-1");
    ck_assert(fake_printk_has(LOG_WARNING, "'procs=-1'", NULL));
    cmdline_parse("procs=99999999999999999999");
    ck_assert(fake_printk_has(LOG_WARNING, "'procs=99999999999999999999'", NULL));
    ck_assert_int_eq(kernel_options.procs, 0);
}
END_TEST

START_TEST(bare_word_is_a_boolean_switched_on)
{
    cmdline_parse("bootchart");
    assert_no_warnings();
    ck_assert(kernel_options.bootchart);
    cmdline_parse("bootchart bootchart=0");
    ck_assert(!kernel_options.bootchart);
    cmdline_parse("bootchart=yes");
    ck_assert(kernel_options.bootchart);
    cmdline_parse("bootchart=on");
    ck_assert(kernel_options.bootchart);
    cmdline_parse("bootchart=true");
    ck_assert(kernel_options.bootchart);
    cmdline_parse("bootchart=1 bootchart=off");
    ck_assert(!kernel_options.bootchart);
    assert_no_warnings();
}
END_TEST

START_TEST(bad_boolean_is_named)
{
    cmdline_parse("bootchart=maybe");
    ck_assert(!kernel_options.bootchart);
    ck_assert(fake_printk_has(LOG_WARNING, "cmdline: bad value in 'bootchart=maybe'", "0 or 1", "default", NULL));
}
END_TEST

START_TEST(unknown_option_is_named_and_ignored)
{
    cmdline_parse("foo=bar procs=3");
    ck_assert(fake_printk_has(LOG_WARNING, "cmdline: unknown option 'foo=bar' ignored", NULL));
    ck_assert_int_eq(kernel_options.procs, 3);
    ck_assert_uint_eq(fake_printk_count(LOG_WARNING), 1);
    fake_printk_reset();
    cmdline_parse("procs=3 quiet");
    ck_assert(fake_printk_has(LOG_WARNING, "unknown option 'quiet' ignored", NULL));
    // Names are exact: a prefix of an option is not the option.
    fake_printk_reset();
    cmdline_parse("proc=3 procsx=3");
    ck_assert(fake_printk_has(LOG_WARNING, "'proc=3'", NULL));
    ck_assert(fake_printk_has(LOG_WARNING, "'procsx=3'", NULL));
    ck_assert_int_eq(kernel_options.procs, 0);
}
END_TEST

START_TEST(malformed_values_are_named_and_the_default_stays)
{
    cmdline_parse("procs=abc");
    ck_assert(fake_printk_has(LOG_WARNING, "cmdline: bad value in 'procs=abc': expected a number 0..256",
                              "keeping the default '0'", NULL));
    fake_printk_reset();
    cmdline_parse("procs=");
    ck_assert(fake_printk_has(LOG_WARNING, "bad value in 'procs='", NULL));
    fake_printk_reset();
    cmdline_parse("procs");
    ck_assert(fake_printk_has(LOG_WARNING, "bad value in 'procs'", NULL));
    fake_printk_reset();
    cmdline_parse("procs=4x");
    ck_assert(fake_printk_has(LOG_WARNING, "bad value in 'procs=4x'", NULL));
    ck_assert_int_eq(kernel_options.procs, 0);
    fake_printk_reset();
    cmdline_parse("=x");
    ck_assert(fake_printk_has(LOG_WARNING, "'=x'", "no name", NULL));
    fake_printk_reset();
    cmdline_parse("=");
    ck_assert(fake_printk_has(LOG_WARNING, "'='", NULL));
    assert_defaults();
}
END_TEST

START_TEST(network_options)
{
    cmdline_parse("ip=10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3 echo=7 download=files.hardway.test:8080");
    assert_no_warnings();
    ck_assert_str_eq(kernel_options.download, "files.hardway.test:8080");
    ck_assert(!kernel_options.ip.dhcp);
    ck_assert_uint_eq(kernel_options.ip.address, 0x0a00020f);
    ck_assert_uint_eq(kernel_options.ip.prefix_length, 24);
    ck_assert_uint_eq(kernel_options.ip.gateway, 0x0a000202);
    ck_assert_uint_eq(kernel_options.ip.dns_count, 1);
    ck_assert_uint_eq(kernel_options.ip.dns[0], 0x0a000203);
    ck_assert_int_eq(kernel_options.echo_port, 7);
    // Printed back as typed.
    char value[96];
    cmdline_format_value(cmdline_option_find("ip", 2), value, sizeof value);
    ck_assert_str_eq(value, "10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3");
    cmdline_parse("ip=dhcp");
    assert_no_warnings();
    ck_assert(kernel_options.ip.dhcp);
}
END_TEST

START_TEST(bad_network_values_are_named)
{
    // The parser's own reason reaches the console, and DHCP stays.
    cmdline_parse("ip=10.0.2.15");
    ck_assert(fake_printk_has(LOG_WARNING, "bad value in 'ip=10.0.2.15'", "needs a prefix length",
                              "keeping the default 'dhcp'", NULL));
    ck_assert(kernel_options.ip.dhcp);
    fake_printk_reset();
    cmdline_parse("ip=10.0.2.15/24,gw=10.0.3.1");
    ck_assert(fake_printk_has(LOG_WARNING, "gateway 10.0.3.1 is not another host of 10.0.2.15/24", NULL));
    fake_printk_reset();
    cmdline_parse("ip");
    ck_assert(fake_printk_has(LOG_WARNING, "bad value in 'ip'", NULL));
    fake_printk_reset();
    cmdline_parse("echo=65536");
    ck_assert(fake_printk_has(LOG_WARNING, "bad value in 'echo=65536'", "0..65535", NULL));
    assert_defaults();
}
END_TEST

START_TEST(a_bad_value_keeps_an_earlier_good_one)
{
    cmdline_parse("procs=4 procs=abc");
    ck_assert_int_eq(kernel_options.procs, 4);
    ck_assert(fake_printk_has(LOG_WARNING, "'procs=abc'", "keeping the earlier value '4'", NULL));
}
END_TEST

START_TEST(later_words_win)
{
    cmdline_parse("procs=4 procs=2");
    ck_assert_int_eq(kernel_options.procs, 2);
    assert_no_warnings();
}
END_TEST

START_TEST(loglevel_numbers_and_names)
{
    static const char *const names[] = { "emergency", "alert", "critical", "error",
                                         "warning", "notice", "info", "debug" };
    for (int level = 0; level < 8; level++) {
        char word[64];
        snprintf(word, sizeof word, "loglevel=%d", level);
        cmdline_parse(word);
        ck_assert_int_eq(kernel_options.log_level, level);
        ck_assert_int_eq(log_level, level);
        snprintf(word, sizeof word, "loglevel=%s", names[level]);
        cmdline_parse(word);
        ck_assert_int_eq(kernel_options.log_level, level);
    }
    cmdline_parse("loglevel=DEBUG");
    ck_assert_int_eq(kernel_options.log_level, LOG_DEBUG);
    assert_no_warnings();
}
END_TEST

START_TEST(loglevel_out_of_range_is_named)
{
    cmdline_parse("loglevel=99");
    ck_assert_int_eq(kernel_options.log_level, LOG_INFO);
    ck_assert_int_eq(log_level, LOG_INFO);
    ck_assert(fake_printk_has(LOG_WARNING, "'loglevel=99'", "0..7", "debug", NULL));
    fake_printk_reset();
    cmdline_parse("loglevel=verbose");
    ck_assert(fake_printk_has(LOG_WARNING, "'loglevel=verbose'", NULL));
    fake_printk_reset();
    cmdline_parse("loglevel=-1");
    ck_assert(fake_printk_has(LOG_WARNING, "'loglevel=-1'", NULL));
    fake_printk_reset();
    // A prefix of a name is not the name.
    cmdline_parse("loglevel=deb");
    ck_assert(fake_printk_has(LOG_WARNING, "'loglevel=deb'", NULL));
    ck_assert_int_eq(kernel_options.log_level, LOG_INFO);
}
END_TEST

START_TEST(collector_options)
{
    cmdline_parse("gogc=50 gomemlimit=64MiB gctrace=1 gccheckmark gcstress=1");
    assert_no_warnings();
    ck_assert_int_eq(kernel_options.gogc, 50);
    ck_assert_uint_eq(kernel_options.gomemlimit, 64ull << 20);
    ck_assert(kernel_options.gctrace);
    ck_assert(kernel_options.gccheckmark);
    ck_assert_int_eq(kernel_options.gcstress, 1);
    cmdline_parse("gogc=off gomemlimit=1GiB gcstress=250");
    assert_no_warnings();
    ck_assert_int_eq(kernel_options.gogc, -1);
    ck_assert_uint_eq(kernel_options.gomemlimit, 1ull << 30);
    ck_assert_int_eq(kernel_options.gcstress, 250);
    // The runtime's parser: plain bytes, B, KiB, TiB.
    cmdline_parse("gomemlimit=123456789");
    ck_assert_uint_eq(kernel_options.gomemlimit, 123456789);
    cmdline_parse("gomemlimit=100B");
    ck_assert_uint_eq(kernel_options.gomemlimit, 100);
    cmdline_parse("gomemlimit=4KiB");
    ck_assert_uint_eq(kernel_options.gomemlimit, 4096);
    cmdline_parse("gomemlimit=2TiB gogc=1000000");
    ck_assert_uint_eq(kernel_options.gomemlimit, 2ull << 40);
    ck_assert_int_eq(kernel_options.gogc, 1000000);
    assert_no_warnings();
}
END_TEST

START_TEST(bad_collector_values_are_named)
{
    cmdline_parse("gogc=abc");
    ck_assert_int_eq(kernel_options.gogc, 100);
    ck_assert(fake_printk_has(LOG_WARNING, "cmdline: bad value in 'gogc=abc'", "a percentage 1..1000000 or off",
                              "keeping the default '100'", NULL));
    static const char *const bad_gogc[] = { "gogc", "gogc=", "gogc=-5", "gogc=0", "gogc=1000001", "gogc=50%",
                                            "gogc=OFF", "gogc=99999999999999999999999999999999999999" };
    for (size_t i = 0; i < sizeof bad_gogc / sizeof bad_gogc[0]; i++) {
        fake_printk_reset();
        cmdline_parse(bad_gogc[i]);
        char quoted[80];
        snprintf(quoted, sizeof quoted, "'%s'", bad_gogc[i]);
        ck_assert_msg(fake_printk_has(LOG_WARNING, quoted, NULL), "no warning for %s", bad_gogc[i]);
        ck_assert_int_eq(kernel_options.gogc, 100);
    }
    static const char *const bad_limit[] = { "gomemlimit", "gomemlimit=", "gomemlimit=64M", "gomemlimit=64mib",
                                             "gomemlimit=-1", "gomemlimit=MiB", "gomemlimit=1.5GiB",
                                             "gomemlimit=99999999999999999999", "gomemlimit=17000000TiB" };
    for (size_t i = 0; i < sizeof bad_limit / sizeof bad_limit[0]; i++) {
        fake_printk_reset();
        cmdline_parse(bad_limit[i]);
        char quoted[80];
        snprintf(quoted, sizeof quoted, "'%s'", bad_limit[i]);
        ck_assert_msg(fake_printk_has(LOG_WARNING, quoted, "KiB, MiB, GiB", NULL), "no warning for %s",
                      bad_limit[i]);
        ck_assert_uint_eq(kernel_options.gomemlimit, 0);
    }
    fake_printk_reset();
    cmdline_parse("gomemlimit=512MiB gomemlimit=lots");
    ck_assert_uint_eq(kernel_options.gomemlimit, 512ull << 20);
    ck_assert(fake_printk_has(LOG_WARNING, "'gomemlimit=lots'", "keeping the earlier value '512MiB'", NULL));
    fake_printk_reset();
    cmdline_parse("gcstress=-1 gctrace=2 gccheckmark=maybe");
    ck_assert(fake_printk_has(LOG_WARNING, "'gcstress=-1'", "0..1000000000", NULL));
    ck_assert(fake_printk_has(LOG_WARNING, "'gctrace=2'", "0 or 1", NULL));
    ck_assert(fake_printk_has(LOG_WARNING, "'gccheckmark=maybe'", "0 or 1", NULL));
    assert_defaults();
}
END_TEST

START_TEST(collector_values_are_printed_as_typed)
{
    static const struct { const char *word, *printed; } cases[] = {
        { "gogc=off", "off" },           { "gogc=250", "250" },
        { "gomemlimit=0", "0" },         { "gomemlimit=1000", "1000" },
        { "gomemlimit=1024", "1KiB" },   { "gomemlimit=1536KiB", "1536KiB" },
        { "gomemlimit=2048MiB", "2GiB" }, { "gomemlimit=3TiB", "3TiB" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cmdline_parse(cases[i].word);
        const char *equals = strchr(cases[i].word, '=');
        char value[32];
        cmdline_format_value(cmdline_option_find(cases[i].word, (size_t)(equals - cases[i].word)), value,
                             sizeof value);
        ck_assert_str_eq(value, cases[i].printed);
        // What is printed reads back as the same value.
        char again[64];
        snprintf(again, sizeof again, "%.*s=%s", (int)(equals - cases[i].word), cases[i].word, value);
        uint64_t limit = kernel_options.gomemlimit;
        int gogc = kernel_options.gogc;
        cmdline_parse(again);
        assert_no_warnings();
        ck_assert_uint_eq(kernel_options.gomemlimit, limit);
        ck_assert_int_eq(kernel_options.gogc, gogc);
    }
}
END_TEST

START_TEST(selftest_length_limit)
{
    char line[128];
    char name[CMDLINE_SELFTEST_MAX + 1];
    memset(name, 'a', CMDLINE_SELFTEST_MAX - 1);
    name[CMDLINE_SELFTEST_MAX - 1] = '\0';
    snprintf(line, sizeof line, "selftest=%s", name);
    cmdline_parse(line);
    assert_no_warnings();
    ck_assert_str_eq(kernel_options.selftest, name);

    strcat(name, "b");
    snprintf(line, sizeof line, "selftest=%s", name);
    cmdline_parse(line);
    ck_assert_str_eq(kernel_options.selftest, "");
    ck_assert(fake_printk_has(LOG_WARNING, name, "31 characters", NULL));
}
END_TEST

START_TEST(image_path_first_is_skipped)
{
    cmdline_parse("build/kernel/hardway.elf procs=2");
    assert_no_warnings();
    ck_assert_int_eq(kernel_options.procs, 2);
    cmdline_parse("/boot/hardway.elf");
    assert_no_warnings();
    // QEMU prepends the file name as given, which may have no '/'.
    cmdline_parse("hardway.elf selftest=smp");
    assert_no_warnings();
    ck_assert_str_eq(kernel_options.selftest, "smp");
    cmdline_parse("  /boot/hardway.elf   bootchart");
    assert_no_warnings();
    ck_assert(kernel_options.bootchart);
}
END_TEST

START_TEST(a_path_later_is_an_unknown_option)
{
    cmdline_parse("procs=2 /boot/hardway.elf");
    ck_assert(fake_printk_has(LOG_WARNING, "unknown option '/boot/hardway.elf'", NULL));
    // A first word with '=' is an option even if its value is a path.
    fake_printk_reset();
    cmdline_parse("selftest=a/b procs=1");
    assert_no_warnings();
    ck_assert_str_eq(kernel_options.selftest, "a/b");
    // A first word that is neither a path nor an option is reported.
    cmdline_parse("hardway procs=1");
    ck_assert(fake_printk_has(LOG_WARNING, "unknown option 'hardway'", NULL));
}
END_TEST

START_TEST(table_is_complete_and_consistent)
{
    ck_assert_uint_ge(cmdline_option_count(), 4);
    ck_assert_ptr_null(cmdline_option_at(cmdline_option_count()));
    for (size_t i = 0; i < cmdline_option_count(); i++) {
        const struct cmdline_option *option = cmdline_option_at(i);
        ck_assert_ptr_nonnull(option->name);
        ck_assert_ptr_nonnull(option->default_value);
        ck_assert_ptr_nonnull(option->values);
        ck_assert_ptr_nonnull(option->description);
        ck_assert_ptr_nonnull(option->value);
        ck_assert_msg(strchr(option->name, '=') == NULL && strchr(option->name, '/') == NULL &&
                          strchr(option->name, '.') == NULL,
                      "option name '%s' could be mistaken for an image path", option->name);
        ck_assert_ptr_eq(cmdline_option_find(option->name, strlen(option->name)), option);
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(cmdline_option_at(j)->name, option->name);
    }
    ck_assert_ptr_null(cmdline_option_find("nonsense", 8));
    // Every default parses: no message at all for an empty line.
    log_level = LOG_DEBUG;
    cmdline_parse("");
    ck_assert_msg(fake_printk_count(LOG_ERROR) == 0, "%s", fake_printk_all());
}
END_TEST

START_TEST(effective_options_are_printed)
{
    cmdline_parse("procs=4 bootchart selftest=ipi loglevel=info");
    fake_printk_reset();
    cmdline_print_options();
    ck_assert(fake_printk_has(LOG_INFO, "cmdline: procs=4 bootchart=1 selftest=ipi schedtrace=0 mallocdebug=0 memstats=0 "
                                        "gogc=100 gomemlimit=0 gctrace=0 gccheckmark=0 gcstress=0 ip=dhcp echo=0 "
                                        "netbench=0 download= loglevel=6\n", NULL));
    char value[16];
    ck_assert_int_eq(cmdline_format_value(cmdline_option_find("procs", 5), value, sizeof value), 1);
    ck_assert_str_eq(value, "4");
}
END_TEST

// docs/cmdline.md is the user's copy of the table: it must name every option.
START_TEST(documentation_names_every_option)
{
    FILE *file = fopen("docs/cmdline.md", "r");
    ck_assert_msg(file != NULL, "docs/cmdline.md not found (run the tests from the repository root)");
    static char text[65536];
    size_t length = fread(text, 1, sizeof text - 1, file);
    fclose(file);
    text[length] = '\0';
    for (size_t i = 0; i < cmdline_option_count(); i++) {
        const struct cmdline_option *option = cmdline_option_at(i);
        char row[64];
        snprintf(row, sizeof row, "| `%s` |", option->name);
        ck_assert_msg(strstr(text, row) != NULL, "docs/cmdline.md has no table row starting %s", row);
    }
}
END_TEST

static Suite *cmdline_suite(void)
{
    Suite *suite = suite_create("cmdline");
    TCase *test_case = tcase_create("parse");
    tcase_add_checked_fixture(test_case, setup, NULL);
    tcase_add_test(test_case, empty_line_gives_defaults);
    tcase_add_test(test_case, every_option_is_parsed);
    tcase_add_test(test_case, a_new_parse_starts_from_the_defaults);
    tcase_add_test(test_case, words_separated_by_any_blank);
    tcase_add_test(test_case, procs_bounds);
    tcase_add_test(test_case, bare_word_is_a_boolean_switched_on);
    tcase_add_test(test_case, bad_boolean_is_named);
    tcase_add_test(test_case, unknown_option_is_named_and_ignored);
    tcase_add_test(test_case, malformed_values_are_named_and_the_default_stays);
    tcase_add_test(test_case, a_bad_value_keeps_an_earlier_good_one);
    tcase_add_test(test_case, network_options);
    tcase_add_test(test_case, bad_network_values_are_named);
    tcase_add_test(test_case, later_words_win);
    tcase_add_test(test_case, loglevel_numbers_and_names);
    tcase_add_test(test_case, loglevel_out_of_range_is_named);
    tcase_add_test(test_case, collector_options);
    tcase_add_test(test_case, bad_collector_values_are_named);
    tcase_add_test(test_case, collector_values_are_printed_as_typed);
    tcase_add_test(test_case, selftest_length_limit);
    tcase_add_test(test_case, image_path_first_is_skipped);
    tcase_add_test(test_case, a_path_later_is_an_unknown_option);
    tcase_add_test(test_case, table_is_complete_and_consistent);
    tcase_add_test(test_case, effective_options_are_printed);
    tcase_add_test(test_case, documentation_names_every_option);
    suite_add_tcase(suite, test_case);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(cmdline_suite());
    srunner_run_all(runner, CK_ENV);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
