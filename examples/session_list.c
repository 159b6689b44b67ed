/*
 * session_list.c: "Listing currently running compute sessions".
 *
 * Python:
 *     fetch_func = functools.partial(api_session.ComputeSession.paginated_list, status="RUNNING")
 *     current_offset = 0
 *     while True:
 *         result = fetch_func(page_offset=current_offset, page_size=20)
 *         if result.total_count == 0: break
 *         current_offset += len(result.items)
 *         for item in result.items: print(item)
 *         if current_offset >= result.total_count: break
 *
 * Usage: session_list [STATUS [PAGE_SIZE]]   (default: RUNNING, 20)
 * Prints one JSON object per session on stdout, and the count on stderr.
 */
#include <backendai.h>

#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, bai_code_t code)
{
    char message[1024];
    char type[512];
    unsigned status = bai_last_error_http_status();
    snprintf(type, sizeof type, "%s", bai_last_error_server_type());
    snprintf(message, sizeof message, "%s", bai_last_error_message());
    fprintf(stderr, "%s failed: %s: %s (HTTP status %u, server error type \"%s\")\n", what,
            bai_code_name(code), message, status, type);
    return 1;
}

/* Opens an API session configured from the environment, as Session() does. */
static int open_session(bai_session_t **session)
{
    bai_config_t *config = NULL;
    bai_code_t code = bai_config_from_env(&config);
    if (code != BAI_OK) {
        return fail("bai_config_from_env", code);
    }
    code = bai_session_new(config, session);
    bai_config_free(config);
    return code == BAI_OK ? 0 : fail("bai_session_new", code);
}

int main(int argc, char **argv)
{
    const char *status_filter = argc > 1 ? argv[1] : "RUNNING";
    uint32_t page_size = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 20;
    bai_session_t *session = NULL;
    uint64_t current_offset = 0;
    uint64_t total_count = 0;
    int status = 0;

    if (open_session(&session) != 0) {
        return 1;
    }
    for (;;) {
        bai_page_t *page = NULL;
        bai_code_t code = bai_compute_list(session, status_filter, current_offset, page_size, &page);
        if (code != BAI_OK) {
            status = fail("bai_compute_list", code);
            break;
        }
        total_count = bai_page_total_count(page);
        size_t n = bai_page_count(page);
        if (total_count == 0) { /* no items found */
            bai_page_free(page);
            break;
        }
        current_offset += n;
        for (size_t i = 0; i < n; i++) {
            printf("%s\n", bai_page_item_json(page, i));
        }
        bai_page_free(page);
        if (current_offset >= total_count) { /* end of list */
            break;
        }
        if (n == 0) {
            fprintf(stderr, "the server returned an empty page at offset %llu of %llu\n",
                    (unsigned long long)current_offset, (unsigned long long)total_count);
            status = 1;
            break;
        }
    }
    if (status == 0) {
        fprintf(stderr, "%llu %s session(s)\n", (unsigned long long)current_offset, status_filter);
    }
    bai_session_free(session);
    return status;
}
