/*
 * Size class tests: the table in sizeclasses_table.h keeps the promises
 * runtime/sizeclasses.h makes, checked from the outside.
 *
 * tools/mksizeclasses checks its own rules before it writes the table; these
 * tests do not reuse its code. They restate each promise in C and check it
 * against the compiled arrays, byte by byte and size by size: objects are
 * aligned, fit in their span without overlapping, waste at most 1/8 of it at
 * the tail; every request from 1 byte to 32 KiB finds the smallest class
 * that holds it; the divide magic gives the exact object index for every
 * offset in every span. The last test runs the generator again (from the
 * repository root, where make runs the tests) and checks that the compiled
 * table is the one it writes.
 *
 * No goroutines: a plain Check program, no runtime_run.
 */
#include "sizeclasses.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARRAY_LENGTH(array) (sizeof(array) / sizeof((array)[0]))

/*
 * The alignment every object of a class of `size` bytes must have, the rule
 * docs/allocator.md states: 8 bytes below 32, 16 up to 255, then an eighth
 * of the size's power of two (32 from 256, 64 from 512), and 128 from 1024.
 */
static size_t required_alignment(size_t size)
{
    if (size < 32)
        return 8;
    if (size < 256)
        return 16;
    if (size < 512)
        return 32;
    if (size < 1024)
        return 64;
    return 128;
}

START_TEST(test_class_count_is_what_the_header_says)
{
    ck_assert_uint_eq(ARRAY_LENGTH(size_class_bytes), SIZE_CLASS_COUNT);
    ck_assert_uint_eq(ARRAY_LENGTH(size_class_pages), SIZE_CLASS_COUNT);
    ck_assert_uint_eq(ARRAY_LENGTH(size_class_objects), SIZE_CLASS_COUNT);
    ck_assert_uint_eq(ARRAY_LENGTH(size_class_divide_magic), SIZE_CLASS_COUNT);
    ck_assert_uint_eq(ARRAY_LENGTH(size_to_class8), SIZE_TO_CLASS8_MAX_SIZE / SIZE_TO_CLASS8_STEP + 1);
    ck_assert_uint_eq(ARRAY_LENGTH(size_to_class128),
                      (SIZE_CLASS_MAX_SMALL_SIZE - SIZE_TO_CLASS8_MAX_SIZE) / SIZE_TO_CLASS128_STEP + 1);
    ck_assert_uint_eq(SIZE_CLASS_PAGE_SIZE, 1u << SIZE_CLASS_PAGE_SHIFT);

    // Class 0 is "not a small object": no size, no span.
    ck_assert_uint_eq(size_class_bytes[0], 0);
    ck_assert_uint_eq(size_class_pages[0], 0);
    ck_assert_uint_eq(size_class_objects[0], 0);

    // Every other entry is a real class, and the last one is the largest small size.
    for (int class = 1; class < SIZE_CLASS_COUNT; class++) {
        ck_assert_msg(size_class_bytes[class] > 0 && size_class_pages[class] > 0 && size_class_objects[class] > 0,
                      "class %d is empty", class);
    }
    ck_assert_uint_eq(size_class_bytes[SIZE_CLASS_COUNT - 1], SIZE_CLASS_MAX_SMALL_SIZE);
}
END_TEST

START_TEST(test_sizes_strictly_increase)
{
    for (int class = 1; class < SIZE_CLASS_COUNT; class++)
        ck_assert_msg(size_class_bytes[class] > size_class_bytes[class - 1], "class %d (%u bytes) after %u bytes",
                      class, size_class_bytes[class], size_class_bytes[class - 1]);
}
END_TEST

START_TEST(test_object_count_is_what_fits_the_span)
{
    for (int class = 1; class < SIZE_CLASS_COUNT; class++) {
        size_t span = size_class_span_bytes(class), size = size_class_bytes[class];
        size_t objects = size_class_objects[class];
        ck_assert_uint_eq(span, (size_t)size_class_pages[class] * SIZE_CLASS_PAGE_SIZE);
        ck_assert_msg(objects * size <= span, "class %d: %zu objects of %zu bytes overflow %zu", class, objects,
                      size, span);
        ck_assert_msg((objects + 1) * size > span, "class %d: room for one more object", class);
    }
}
END_TEST

/*
 * Lay a span out object by object, as mspan will: at a page-aligned base,
 * object i at i * size. Check each object's start, end and alignment.
 */
START_TEST(test_objects_are_aligned_disjoint_and_inside_the_span)
{
    for (int class = 1; class < SIZE_CLASS_COUNT; class++) {
        size_t span = size_class_span_bytes(class), size = size_class_bytes[class];
        size_t alignment = required_alignment(size);
        uintptr_t base = (uintptr_t)64 << 30; // any page-aligned address will do
        ck_assert_uint_eq(base % SIZE_CLASS_PAGE_SIZE, 0);
        uintptr_t previous_end = base;
        for (size_t index = 0; index < size_class_objects[class]; index++) {
            uintptr_t start = base + index * size, end = start + size;
            ck_assert_msg(start % alignment == 0, "class %d (%zu bytes): object %zu at offset %zu is not %zu-aligned",
                          class, size, index, (size_t)(start - base), alignment);
            ck_assert_msg(start >= previous_end, "class %d: object %zu overlaps the one before", class, index);
            ck_assert_msg(end <= base + span, "class %d: object %zu ends past the span", class, index);
            previous_end = end;
        }
    }
}
END_TEST

/*
 * C's malloc must return memory aligned for any type that fits the request.
 * A type aligned to 16 (long double, max_align_t) has a size that is a
 * multiple of 16, so such requests must get a class that is one too.
 */
START_TEST(test_requests_of_a_multiple_of_16_bytes_are_16_byte_aligned)
{
    for (size_t size = 16; size <= SIZE_CLASS_MAX_SMALL_SIZE; size += 16) {
        unsigned class = size_class_of(size);
        ck_assert_msg(size_class_bytes[class] % 16 == 0, "a request of %zu bytes gets class %u, %u bytes", size, class,
                      size_class_bytes[class]);
    }
}
END_TEST

START_TEST(test_tail_waste_is_at_most_an_eighth_of_the_span)
{
    for (int class = 1; class < SIZE_CLASS_COUNT; class++) {
        size_t span = size_class_span_bytes(class);
        size_t used = (size_t)size_class_objects[class] * size_class_bytes[class];
        ck_assert_msg(used <= span, "class %d: objects overflow the span", class);
        size_t tail = span - used;
        ck_assert_msg(tail * 8 <= span, "class %d (%u bytes, %zu-byte span): tail of %zu bytes", class,
                      size_class_bytes[class], span, tail);
    }
}
END_TEST

/* Also a check of the lookup tables: every size, both tables, both edges. */
START_TEST(test_every_small_size_finds_the_smallest_class_that_holds_it)
{
    int smallest = 1;
    for (size_t size = 1; size <= SIZE_CLASS_MAX_SMALL_SIZE; size++) {
        while (size_class_bytes[smallest] < size)
            smallest++; // sizes increase (tested above), so a forward scan finds the first that fits
        ck_assert_msg(size_class_of(size) == smallest, "size %zu: class %u, expected %d", size, size_class_of(size),
                      smallest);
    }
    ck_assert_uint_eq(size_class_of(0), 0);
    ck_assert_uint_eq(size_class_of(SIZE_CLASS_MAX_SMALL_SIZE + 1), 0);
    ck_assert_uint_eq(size_class_of(SIZE_MAX), 0);
}
END_TEST

START_TEST(test_divide_magic_gives_the_object_index_for_every_offset)
{
    for (int class = 1; class < SIZE_CLASS_COUNT; class++) {
        size_t size = size_class_bytes[class];
        // Up to and including the span's end, where a one-past-the-end pointer points.
        for (size_t offset = 0; offset <= size_class_span_bytes(class); offset++) {
            uint32_t index = size_class_object_index(class, offset);
            if (index != offset / size)
                ck_abort_msg("class %d (%zu bytes): offset %zu gives index %u, expected %zu", class, size, offset,
                             index, offset / size);
        }
    }
}
END_TEST

/* --- The table is its generator's --------------------------------------- */

#define GENERATOR "tools/mksizeclasses"

static char *read_whole_file(const char *path)
{
    FILE *file = fopen(path, "r");
    ck_assert_msg(file != NULL, "cannot open %s: %s", path, strerror(errno));
    static char text[1 << 20];
    size_t length = fread(text, 1, sizeof text - 1, file);
    ck_assert_msg(!ferror(file) && feof(file), "cannot read all of %s", path);
    fclose(file);
    text[length] = '\0';
    return text;
}

/*
 * The numbers of the array `name` in a generated header's text:
 * "static const TYPE name[N] = { 1, 2, 3, };". Returns how many there are.
 */
static size_t parse_generated_array(const char *text, const char *name, unsigned long *values, size_t capacity)
{
    char declaration[64];
    snprintf(declaration, sizeof declaration, " %s[", name);
    const char *at = text;
    for (;;) { // the definition, not a mention in a comment: " name[N] = {"
        at = strstr(at, declaration);
        ck_assert_msg(at != NULL, "the generated header has no array %s", name);
        at += strlen(declaration);
        const char *digits_end = at + strspn(at, "0123456789");
        if (digits_end > at && strncmp(digits_end, "] = {", 5) == 0) {
            at = digits_end + 5;
            break;
        }
    }
    size_t count = 0;
    for (;;) {
        at += strspn(at, " \n,");
        if (*at == '}')
            return count;
        char *end;
        unsigned long value = strtoul(at, &end, 10);
        ck_assert_msg(end != at, "array %s: not a number at \"%.20s\"", name, at);
        ck_assert_msg(count < capacity, "array %s has more than %zu entries", name, capacity);
        values[count++] = value;
        at = end;
    }
}

#define CHECK_ARRAY_MATCHES(text, array)                                                                            \
    do {                                                                                                            \
        unsigned long generated[1024];                                                                              \
        size_t count = parse_generated_array(text, #array, generated, ARRAY_LENGTH(generated));                     \
        ck_assert_msg(count == ARRAY_LENGTH(array), #array ": %zu entries generated, %zu compiled", count,          \
                      ARRAY_LENGTH(array));                                                                         \
        for (size_t i = 0; i < count; i++)                                                                          \
            ck_assert_msg(generated[i] == (unsigned long)(array)[i], #array "[%zu]: %lu generated, %lu compiled", i, \
                          generated[i], (unsigned long)(array)[i]);                                                 \
    } while (0)

START_TEST(test_table_matches_its_generator)
{
    ck_assert_msg(access(GENERATOR, R_OK) == 0,
                  "%s not found: run this test from the repository root, as make runtime-test does", GENERATOR);
    char directory[] = "/tmp/test_sizeclasses.XXXXXX";
    ck_assert_msg(mkdtemp(directory) != NULL, "mkdtemp: %s", strerror(errno));
    char output[sizeof directory + 32], page_shift[16];
    snprintf(output, sizeof output, "%s/sizeclasses_table.h", directory);
    snprintf(page_shift, sizeof page_shift, "%d", SIZE_CLASS_PAGE_SHIFT);

    pid_t child = fork();
    ck_assert_msg(child >= 0, "fork: %s", strerror(errno));
    if (child == 0) {
        execl("/usr/bin/python3", "python3", GENERATOR, "--page-shift", page_shift, "--output", output, (char *)NULL);
        perror("exec /usr/bin/python3");
        _exit(127);
    }
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed (wait status %d)", GENERATOR, status);

    const char *text = read_whole_file(output);
    unlink(output);
    rmdir(directory);

    const char *count = strstr(text, "#define SIZE_CLASS_COUNT ");
    ck_assert_msg(count != NULL, "no SIZE_CLASS_COUNT in the generated header");
    ck_assert_int_eq(atoi(count + strlen("#define SIZE_CLASS_COUNT ")), SIZE_CLASS_COUNT);

    CHECK_ARRAY_MATCHES(text, size_class_bytes);
    CHECK_ARRAY_MATCHES(text, size_class_pages);
    CHECK_ARRAY_MATCHES(text, size_class_objects);
    CHECK_ARRAY_MATCHES(text, size_class_divide_magic);
    CHECK_ARRAY_MATCHES(text, size_to_class8);
    CHECK_ARRAY_MATCHES(text, size_to_class128);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("sizeclasses");

    TCase *layout = tcase_create("span layout");
    tcase_add_test(layout, test_class_count_is_what_the_header_says);
    tcase_add_test(layout, test_sizes_strictly_increase);
    tcase_add_test(layout, test_object_count_is_what_fits_the_span);
    tcase_add_test(layout, test_objects_are_aligned_disjoint_and_inside_the_span);
    tcase_add_test(layout, test_requests_of_a_multiple_of_16_bytes_are_16_byte_aligned);
    tcase_add_test(layout, test_tail_waste_is_at_most_an_eighth_of_the_span);
    suite_add_tcase(suite, layout);

    TCase *lookup = tcase_create("lookup");
    tcase_set_timeout(lookup, 60);
    tcase_add_test(lookup, test_every_small_size_finds_the_smallest_class_that_holds_it);
    tcase_add_test(lookup, test_divide_magic_gives_the_object_index_for_every_offset);
    suite_add_tcase(suite, lookup);

    TCase *generator = tcase_create("generator");
    tcase_set_timeout(generator, 60);
    tcase_add_test(generator, test_table_matches_its_generator);
    suite_add_tcase(suite, generator);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
