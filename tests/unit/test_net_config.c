/*
 * The ip= option's parser and printer (net/net_config.c): every accepted
 * form, printed back as typed, and every mistake with its own message.
 */
#include "net_config.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>

static struct net_config parse_ok(const char *text)
{
    struct net_config config;
    char error[160] = "";
    bool parsed = net_config_parse(text, strlen(text), &config, error, sizeof error);
    ck_assert_msg(parsed, "ip=%s refused: %s", text, error);
    return config;
}

// Parses `text`, which must be refused with a message containing `reason`,
// and checks that the configuration handed in is left as it was.
static void parse_fails(const char *text, const char *reason)
{
    struct net_config config = { .dhcp = true };
    char error[160] = "";
    ck_assert_msg(!net_config_parse(text, strlen(text), &config, error, sizeof error), "ip=%s accepted", text);
    ck_assert_msg(strstr(error, reason), "ip=%s: \"%s\" does not say \"%s\"", text, error, reason);
    ck_assert(config.dhcp);
    ck_assert_uint_eq(config.address, 0);
}

static void assert_round_trip(const char *text)
{
    struct net_config config = parse_ok(text);
    char printed[96];
    net_config_format(&config, printed, sizeof printed);
    ck_assert_str_eq(printed, text);
}

START_TEST(dhcp)
{
    struct net_config config = parse_ok("dhcp");
    ck_assert(config.dhcp);
    assert_round_trip("dhcp");
}
END_TEST

START_TEST(static_address)
{
    struct net_config config = parse_ok("10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3,dns=8.8.4.4");
    ck_assert(!config.dhcp);
    ck_assert_uint_eq(config.address, 0x0a00020f);
    ck_assert_uint_eq(config.prefix_length, 24);
    ck_assert_uint_eq(config.gateway, 0x0a000202);
    ck_assert_uint_eq(config.dns_count, 2);
    ck_assert_uint_eq(config.dns[0], 0x0a000203);
    ck_assert_uint_eq(config.dns[1], 0x08080404);
    // The parts are optional, in any order after the address.
    config = parse_ok("192.168.1.7/16");
    ck_assert_uint_eq(config.gateway, 0);
    ck_assert_uint_eq(config.dns_count, 0);
    config = parse_ok("192.168.1.7/16,dns=1.1.1.1,gw=192.168.0.1");
    ck_assert_uint_eq(config.gateway, 0xc0a80001);
    ck_assert_uint_eq(config.dns[0], 0x01010101);
    // A /31 or /32 has no network or broadcast address to avoid.
    parse_ok("10.0.0.0/31");
    parse_ok("10.0.0.1/32");
    assert_round_trip("10.0.2.15/24");
    assert_round_trip("10.0.2.15/24,gw=10.0.2.2");
    assert_round_trip("10.0.2.15/24,gw=10.0.2.2,dns=10.0.2.3,dns=10.0.2.4");
}
END_TEST

START_TEST(netmask)
{
    ck_assert_uint_eq(net_config_netmask(0), 0);
    ck_assert_uint_eq(net_config_netmask(8), 0xff000000);
    ck_assert_uint_eq(net_config_netmask(24), 0xffffff00);
    ck_assert_uint_eq(net_config_netmask(32), 0xffffffff);
}
END_TEST

START_TEST(mistakes_are_named)
{
    parse_fails("", "empty part");
    parse_fails("10.0.2.15", "needs a prefix length");
    parse_fails("10.0.2/24", "is not an IPv4 address");
    parse_fails("10.0.2.15.1/24", "is not an IPv4 address");
    parse_fails("10.0.2.256/24", "is not an IPv4 address");
    parse_fails("10.0.-2.15/24", "is not an IPv4 address");
    parse_fails("10.0.2.1500/24", "is not an IPv4 address");
    parse_fails("10.0.2.15/33", "prefix length \"33\" is not a number 1..32");
    parse_fails("10.0.2.15/0", "is not a number 1..32");
    parse_fails("10.0.2.15/", "is not a number 1..32");
    parse_fails("10.0.2.0/24", "network address");
    parse_fails("10.0.2.255/24", "broadcast address");
    parse_fails("0.0.0.0/8", "network address");
    parse_fails("10.0.2.15/24,gw=10.0.3.1", "gateway 10.0.3.1 is not another host of 10.0.2.15/24");
    parse_fails("10.0.2.15/24,gw=10.0.2.15", "is not another host");
    parse_fails("10.0.2.15/24,gw=10.0.2.2,gw=10.0.2.3", "gw= is given twice");
    parse_fails("10.0.2.15/24,gw=router", "gateway \"router\" is not an IPv4 address");
    parse_fails("10.0.2.15/24,dns=1.1.1.1,dns=8.8.8.8,dns=9.9.9.9", "at most 2 dns= servers");
    parse_fails("10.0.2.15/24,dns=0.0.0.0", "DNS server \"0.0.0.0\"");
    parse_fails("10.0.2.15/24,mtu=1500", "\"mtu=1500\" is not gw=ADDR or dns=ADDR");
    parse_fails("10.0.2.15/24,", "empty part");
    parse_fails("10.0.2.15/24,,gw=10.0.2.2", "empty part");
    parse_fails("dhcp,gw=10.0.2.2", "dhcp takes nothing after it");
    parse_fails("DHCP", "needs a prefix length");
}
END_TEST

// The text need not end where the value does: the command line hands over
// a word in the middle of the line.
START_TEST(only_the_given_length_is_read)
{
    const char *line = "10.0.2.15/24 echo=7";
    struct net_config config;
    char error[160];
    ck_assert(net_config_parse(line, strlen("10.0.2.15/24"), &config, error, sizeof error));
    ck_assert_uint_eq(config.prefix_length, 24);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("net_config");
    TCase *test_case = tcase_create("ip=");
    tcase_add_test(test_case, dhcp);
    tcase_add_test(test_case, static_address);
    tcase_add_test(test_case, netmask);
    tcase_add_test(test_case, mistakes_are_named);
    tcase_add_test(test_case, only_the_given_length_is_read);
    suite_add_tcase(suite, test_case);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
