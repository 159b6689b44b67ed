/*
 * A large file through a storage folder: upload, then download, byte-identical, with the
 * process's peak RSS bounded (the transfer streams from and to disk), and without re-sending
 * what the server already stored when the connection is cut halfway (the local server's
 * BAI_LOCAL_FAULT_CUT_UPLOAD_AFTER / _DOWNLOAD_AFTER switches cut one transfer each).
 *
 * Env: BAI_LARGE_MB (size, default 1024), BAI_EXPECT_RESUME=1 (the server was started with
 * the cut switches: at least one resume must be logged). Needs the local server.
 */
#include "common.h"

#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int write_file(const char *path, uint64_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    static uint64_t buf[1 << 17];
    uint64_t seed = 0x9E3779B97F4A7C15ull, left = size;
    while (left > 0) {
        for (size_t i = 0; i < sizeof buf / 8; i++)
            buf[i] = next(&seed);
        size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
        if (fwrite(buf, 1, n, f) != n) {
            fclose(f);
            return -1;
        }
        left -= n;
    }
    return fclose(f);
}

static int same_files(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    static char ba[1 << 20], bb[1 << 20];
    while (same) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0)
            same = 0;
        if (na == 0)
            break;
    }
    if (fa)
        fclose(fa);
    if (fb)
        fclose(fb);
    return same;
}

static int resumes;
static void on_log(void *userdata, const bai_log_record_t *rec)
{
    (void)userdata;
    if (strcmp(rec->target, "vfolder") == 0 && strstr((const char *)rec->message, "interrupted"))
        __atomic_add_fetch(&resumes, 1, __ATOMIC_SEQ_CST);
}

/* Bytes the server received or sent over all storage transfers so far. */
static long long server_bytes(bai_session_t *session)
{
    char url[512];
    snprintf(url, sizeof url, "%s/storage/_/stats", getenv("BACKEND_ENDPOINT"));
    bai_response_t *r = NULL;
    long long bytes = -1;
    if (bai_service_call(session, url, "GET", NULL, NULL, 0, NULL, &r) == BAI_OK && bai_response_status(r) == 200) {
        const char *body = (const char *)bai_response_body(r, NULL);
        const char *p = strstr(body, "\"bytes\":");
        if (p)
            bytes = atoll(p + 8);
    }
    bai_response_free(r);
    return bytes;
}

int main(void)
{
    if (!getenv("BACKEND_ENDPOINT")) {
        fprintf(stderr, "BACKEND_ENDPOINT is not set: start the local server first (scripts/test.sh does)\n");
        return 2;
    }
    long long mb = getenv("BAI_LARGE_MB") ? atoll(getenv("BAI_LARGE_MB")) : 1024;
    uint64_t size = (uint64_t)mb << 20;
    int expect_resume = getenv("BAI_EXPECT_RESUME") && strcmp(getenv("BAI_EXPECT_RESUME"), "1") == 0;
    /* The byte counters (GET /storage/_/stats) exist on the local server only. */
    int local = !(getenv("BAI_TEST_REAL_SERVER") && strcmp(getenv("BAI_TEST_REAL_SERVER"), "1") == 0);
    char folder[64], src[64], dst[64];
    snprintf(folder, sizeof folder, "large-%ld", (long)getpid());
    snprintf(src, sizeof src, "large-%ld.bin", (long)getpid());
    snprintf(dst, sizeof dst, "dl-%ld", (long)getpid());
    CHECK(write_file(src, size) == 0);
    CHECK(mkdir(dst, 0755) == 0);

    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    CHECK_CODE(bai_config_from_env(&config), BAI_OK);
    /* The durable path: each downloaded file is flushed to disk before its rename. */
    CHECK_CODE(bai_config_set_sync_downloads(config, true), BAI_OK);
    CHECK_CODE(bai_session_new(config, &session), BAI_OK);
    CHECK_CODE(bai_session_set_log_cb(session, on_log, NULL, NULL, BAI_LOG_WARN), BAI_OK);
    CHECK_CODE(bai_vfolder_create(session, folder, NULL, NULL), BAI_OK);

    long long before = server_bytes(session);
    const char *paths[] = {src};
    CHECK_CODE(bai_vfolder_upload(session, folder, paths, 1, NULL, false, NULL), BAI_OK);
    long long uploaded = server_bytes(session) - before;
    printf("upload: %llu bytes, the server received %lld\n", (unsigned long long)size, uploaded);
    if (local)
        CHECK(uploaded == (long long)size);

    before = server_bytes(session);
    const char *files[] = {src};
    CHECK_CODE(bai_vfolder_download(session, folder, files, 1, dst, NULL), BAI_OK);
    long long downloaded = server_bytes(session) - before;
    char got[160];
    snprintf(got, sizeof got, "%s/%s", dst, src);
    CHECK(same_files(src, got));
    printf("download: byte-identical, the server sent %lld bytes\n", downloaded);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS: %ld KiB; resumes: %d\n", ru.ru_maxrss, resumes);
    CHECK(ru.ru_maxrss < 64 * 1024);
    if (expect_resume)
        CHECK(resumes >= 2);

    CHECK_CODE(bai_vfolder_delete(session, folder), BAI_OK);
    unlink(src);
    unlink(got);
    rmdir(dst);
    bai_session_free(session);
    bai_config_free(config);
    return test_end("test_vfolder_large");
}
