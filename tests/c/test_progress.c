/* Progress and stopping from the progress callback, for every kind of transfer (session
 * upload and download, folder upload and download): the last report has done == total and
 * comes after the transfer was committed, so a stop there ends the call
 * BAI_E_ABORTED_BY_CALLBACK with the work kept; a stop before it keeps nothing.
 * Needs a server (BACKEND_* variables). */
#include "common.h"

#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

enum when { NEVER, AT_FIRST, AT_END };

struct watch {
    enum when stop;
    int reports;
    uint64_t done, total;
    int stopped_early; /* stopped at a report before done == total */
};

static int on_progress(void *ud, const bai_progress_t *p)
{
    struct watch *w = ud;
    w->reports++;
    w->done = p->done;
    w->total = p->total;
    int last = p->total > 0 && p->done == p->total;
    if (w->stop == AT_FIRST || (w->stop == AT_END && last)) {
        if (!last) w->stopped_early = 1;
        return BAI_CB_STOP;
    }
    return BAI_CB_CONTINUE;
}

static bai_op_opts_t opts_for(struct watch *w, enum when stop)
{
    memset(w, 0, sizeof *w);
    w->stop = stop;
    bai_op_opts_t o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.progress_cb = on_progress;
    o.userdata = w;
    return o;
}

static void write_file(const char *path, size_t size, unsigned char seed)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f == NULL) return;
    for (size_t i = 0; i < size; i++) fputc((int)((i * 31 + seed) & 0xff), f);
    fclose(f);
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The size of `name` in the session's home directory, -1 when it is not there. */
static long long remote_size(bai_compute_t *c, const char *name)
{
    bai_file_list_t *list = NULL;
    long long size = -1;
    CHECK_CODE(bai_compute_list_files(c, ".", &list), BAI_OK);
    for (size_t i = 0; i < bai_file_list_count(list); i++) {
        const bai_file_entry_t *e = bai_file_list_get(list, i);
        if (e != NULL && strcmp(e->name, name) == 0) size = (long long)e->size;
    }
    bai_file_list_free(list);
    return size;
}

/* Whether the folder's listing names `name` (as "name": "<name>"). */
static int folder_has(bai_session_t *s, const char *folder, const char *name)
{
    bai_buf_t out = {NULL, 0};
    char needle[256];
    snprintf(needle, sizeof needle, "\"%s\"", name);
    CHECK_CODE(bai_vfolder_list_files(s, folder, NULL, &out), BAI_OK);
    int found = out.data != NULL && strstr((const char *)out.data, needle) != NULL;
    bai_buf_dispose(&out);
    return found;
}

int main(void)
{
    bai_config_t *cfg = NULL;
    bai_session_t *s = NULL;
    bai_compute_t *c = NULL;
    struct watch w;
    bai_op_opts_t o;
    char dir[] = "/tmp/bai-progress-XXXXXX";
    char path[1024], dest[256], got[512];
    const size_t size = 600 * 1024; /* under the session upload limit (1 MiB) */

    CHECK(mkdtemp(dir) != NULL);
    CHECK_CODE(bai_config_from_env(&cfg), BAI_OK);
    CHECK_CODE(bai_session_new(cfg, &s), BAI_OK);
    CHECK_CODE(bai_compute_create(s, env_or("BAI_TEST_IMAGE", "python:3.9-ubuntu20.04"), NULL, &c), BAI_OK);
    if (c == NULL) return test_end("test_progress");
    snprintf(dest, sizeof dest, "%s/dest", dir);
    CHECK(mkdir(dest, 0700) == 0);

    /* Local files are named by path; base_dir makes their remote names bare. */
    const char *names[] = {"kept.bin", "full.bin", "early.bin"};
    static char local[3][300];
    for (int i = 0; i < 3; i++) {
        snprintf(local[i], sizeof local[i], "%s/%s", dir, names[i]);
        write_file(local[i], size, (unsigned char)i);
    }

    /* --- session upload --- */
    const char *kept[] = {local[0]}, *full[] = {local[1]}, *early[] = {local[2]};
    const char *kept_remote[] = {"kept.bin"};
    o = opts_for(&w, NEVER);
    CHECK_CODE(bai_compute_upload(c, full, 1, dir, &o), BAI_OK);
    CHECK(w.reports >= 1 && w.done == size && w.total == size); /* the last report: done == total */

    o = opts_for(&w, AT_END);
    CHECK_CODE(bai_compute_upload(c, kept, 1, dir, &o), BAI_E_ABORTED_BY_CALLBACK);
    CHECK(w.done == size && w.total == size && !w.stopped_early);
    CHECK(remote_size(c, "kept.bin") == (long long)size); /* committed before the last report */

    o = opts_for(&w, AT_FIRST);
    CHECK_CODE(bai_compute_upload(c, early, 1, dir, &o), BAI_E_ABORTED_BY_CALLBACK);
    /* A stop before the total keeps nothing: the server never got the whole body. */
    if (w.stopped_early) CHECK(remote_size(c, "early.bin") == -1);

    /* --- session download --- */
    o = opts_for(&w, AT_END);
    bai_buf_t dl_names = {NULL, 0};
    CHECK_CODE(bai_compute_download(c, kept_remote, 1, dest, &o, &dl_names), BAI_E_ABORTED_BY_CALLBACK);
    CHECK(dl_names.data == NULL); /* outputs are written only on success */
    CHECK(w.total > 0 && w.done == w.total && !w.stopped_early);
    snprintf(got, sizeof got, "%s/kept.bin", dest);
    CHECK(file_size(got) == (long long)size); /* written before the last report */

    /* --- storage folder upload and download --- */
    char folder[64];
    snprintf(folder, sizeof folder, "bai-progress-%ld", (long)getpid());
    CHECK_CODE(bai_vfolder_create(s, folder, NULL, NULL), BAI_OK);

    o = opts_for(&w, AT_END);
    CHECK_CODE(bai_vfolder_upload(s, folder, kept, 1, dir, false, &o), BAI_E_ABORTED_BY_CALLBACK);
    CHECK(w.done == size && w.total == size && !w.stopped_early);
    CHECK(folder_has(s, folder, "kept.bin")); /* stored before the last report */

    o = opts_for(&w, NEVER);
    CHECK_CODE(bai_vfolder_upload(s, folder, full, 1, dir, false, &o), BAI_OK);
    CHECK(w.reports >= 1 && w.done == size && w.total == size);

    CHECK(unlink(got) == 0);
    o = opts_for(&w, AT_END);
    CHECK_CODE(bai_vfolder_download(s, folder, kept_remote, 1, dest, &o), BAI_E_ABORTED_BY_CALLBACK);
    CHECK(w.done == size && w.total == size && !w.stopped_early);
    CHECK(file_size(got) == (long long)size); /* landed under its final name */
    snprintf(path, sizeof path, "%s.partial", got);
    CHECK(file_size(path) == -1);

    /* Two files, stop at the first one's last report: it stays, the second never starts. */
    CHECK(unlink(got) == 0);
    const char *both[] = {"kept.bin", "full.bin"};
    o = opts_for(&w, AT_END);
    CHECK_CODE(bai_vfolder_download(s, folder, both, 2, dest, &o), BAI_E_ABORTED_BY_CALLBACK);
    CHECK(file_size(got) == (long long)size);
    snprintf(path, sizeof path, "%s/full.bin", dest);
    CHECK(file_size(path) == -1);

    CHECK_CODE(bai_vfolder_delete(s, folder), BAI_OK);
    CHECK_CODE(bai_compute_destroy(c, 0, NULL), BAI_OK);

    /* Clean up the local files. */
    unlink(got);
    for (int i = 0; i < 3; i++) unlink(local[i]);
    rmdir(dest);
    rmdir(dir);
    bai_compute_free(c);
    bai_session_free(s);
    bai_config_free(cfg);
    return test_end("test_progress");
}
