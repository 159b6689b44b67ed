/*
 * media.c: "Handling multi-media outputs".
 *
 * Python:
 *     def handle_media(record):
 *         media_type = record[0]  # MIME-Type string
 *         media_data = record[1]  # content
 *
 * The media callback receives each record with its MIME type; binary images arrive already
 * decoded from their data URI. The code run here builds a small PNG with the standard
 * library and shows it with IPython's display machinery, as in a notebook (a Backend.AI
 * python kernel runs query-mode code in IPython and sends each displayed image as a media
 * record); the callback checks the PNG signature of what arrives.
 */
#include <backendai.h>

#include <stdio.h>
#include <string.h>

static const char CODE[] =
    "import struct, zlib\n"
    "from IPython.display import display, Image\n"
    "def chunk(kind, body):\n"
    "    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))\n"
    "raw = b''.join(b'\\x00' + bytes([200, 10 * y, 30]) * 4 for y in range(3))\n"
    "png = (b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 4, 3, 8, 2, 0, 0, 0))\n"
    "       + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))\n"
    "display(Image(data=png))\n"
    "print('sent a %d-byte PNG' % len(png))\n";

static const unsigned char PNG_SIGNATURE[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

struct seen {
    int images;
    int bad;
};

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

/* Console callback: what the examples print for each console record. */
static int32_t on_console(void *userdata, const bai_console_record_t *rec)
{
    (void)userdata;
    FILE *to = strcmp(rec->kind, "stderr") == 0 ? stderr : stdout;
    if (strcmp(rec->kind, "stdout") != 0 && strcmp(rec->kind, "stderr") != 0) {
        fprintf(stdout, "[%s] ", rec->kind);
    }
    fwrite(rec->data, 1, rec->len, to);
    fflush(to);
    return BAI_CB_CONTINUE;
}

/* handle_media() */
static int32_t check_media(void *userdata, const bai_media_record_t *rec)
{
    struct seen *seen = userdata;
    printf("media: %s, %zu bytes\n", rec->mime, rec->len);
    if (strcmp(rec->mime, "image/png") == 0) {
        if (rec->decoded && rec->len >= sizeof PNG_SIGNATURE &&
            memcmp(rec->data, PNG_SIGNATURE, sizeof PNG_SIGNATURE) == 0) {
            printf("PNG signature OK\n");
            seen->images++;
        } else {
            printf("not a PNG\n");
            seen->bad++;
        }
    }
    return BAI_CB_CONTINUE;
}

int main(void)
{
    struct seen seen = {0, 0};
    bai_session_t *session = NULL;
    bai_compute_t *compute = NULL;
    bai_exec_result_t *result = NULL;
    bai_code_t code;
    int status = 1;

    if (open_session(&session) != 0) {
        return 1;
    }
    if ((code = bai_compute_create(session, "python:3.9-ubuntu20.04", NULL, &compute)) != BAI_OK) {
        status = fail("bai_compute_create", code);
        goto out;
    }
    if (bai_compute_set_console_cb(compute, on_console, NULL, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    if (bai_compute_set_media_cb(compute, check_media, &seen, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_media_cb failed: %s\n", bai_last_error_message());
    /* Mode 0 is BAI_EXEC_QUERY. */
    if ((code = bai_compute_run(compute, (const uint8_t *)CODE, strlen(CODE), 0, NULL, NULL, &result)) != BAI_OK) {
        status = fail("bai_compute_run", code);
    } else {
        int64_t exit_code = -1;
        bai_exec_result_exit_code(result, &exit_code);
        if (exit_code != 0) {
            fprintf(stderr, "the code exited with status %lld\n", (long long)exit_code);
        } else if (seen.images != 1 || seen.bad != 0) {
            fprintf(stderr, "expected one PNG image, got %d (and %d broken)\n", seen.images, seen.bad);
        } else {
            status = 0;
        }
    }
    if ((code = bai_compute_destroy(compute, 0, NULL)) != BAI_OK) {
        status = fail("bai_compute_destroy", code);
    }
out:
    bai_exec_result_free(result);
    bai_compute_free(compute);
    bai_session_free(session);
    return status;
}
