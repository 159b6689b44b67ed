/* Helpers shared by the C tests: checks that count failures instead of stopping. */
#ifndef BAI_TEST_COMMON_H
#define BAI_TEST_COMMON_H

#include <backendai.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        test_checks++;                                                                       \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);         \
            test_failures++;                                                                 \
        }                                                                                    \
    } while (0)

/* Checks the code a call returned, and that the thread's last error agrees with it. */
#define CHECK_CODE(expr, want) check_code_((expr), (want), #expr, __FILE__, __LINE__)

static inline void check_code_(bai_code_t got, bai_code_t want, const char *expr, const char *file, int line)
{
    test_checks++;
    if (got != want) {
        fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: %s)\n", file, line, expr,
                bai_code_name(got), bai_code_name(want), bai_last_error_message());
        test_failures++;
        return;
    }
    /* BAI_PENDING and BAI_WAITING_INPUT are not failures: no last error either. */
    bai_code_t last = bai_last_error_code();
    bai_code_t want_last = want >= 100 ? want : BAI_OK;
    if (last != want_last) {
        fprintf(stderr, "%s:%d: after %s the last error code is %s, expected %s\n", file, line, expr,
                bai_code_name(last), bai_code_name(want_last));
        test_failures++;
    }
    if (want >= 100 && bai_last_error_message()[0] == '\0') {
        fprintf(stderr, "%s:%d: %s failed with an empty last error message\n", file, line, expr);
        test_failures++;
    }
    if (want < 100 && bai_last_error_message()[0] != '\0') {
        fprintf(stderr, "%s:%d: %s succeeded but the last error message is \"%s\"\n", file, line, expr,
                bai_last_error_message());
        test_failures++;
    }
}

/* Checks that the last error message contains `needle`. */
#define CHECK_MESSAGE_HAS(needle)                                                            \
    do {                                                                                     \
        test_checks++;                                                                       \
        if (strstr(bai_last_error_message(), (needle)) == NULL) {                            \
            fprintf(stderr, "%s:%d: last error message \"%s\" does not mention \"%s\"\n",   \
                    __FILE__, __LINE__, bai_last_error_message(), (needle));                 \
            test_failures++;                                                                 \
        }                                                                                    \
    } while (0)

#define CHECK_STR(got, want)                                                                 \
    do {                                                                                     \
        const char *got_ = (got);                                                            \
        test_checks++;                                                                       \
        if (got_ == NULL || strcmp(got_, (want)) != 0) {                                     \
            fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #got, \
                    got_ ? got_ : "(null)", (want));                                         \
            test_failures++;                                                                 \
        }                                                                                    \
    } while (0)

/* Ends a test program: prints the tally, exits 0 only without failures. */
static inline int test_end(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, test_checks, test_failures);
    return test_failures == 0 && test_checks > 0 ? 0 : 1;
}

/* The endpoint of the server under test; the tests need BACKEND_ENDPOINT. */
static inline const char *test_endpoint(void)
{
    const char *e = getenv("BACKEND_ENDPOINT");
    if (e == NULL || e[0] == '\0') {
        fprintf(stderr, "BACKEND_ENDPOINT is not set: start the local server first (scripts/test.sh does)\n");
        exit(2);
    }
    return e;
}

static inline const char *env_or(const char *name, const char *fallback)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : fallback;
}

#endif
