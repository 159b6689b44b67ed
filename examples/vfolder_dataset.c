/*
 * vfolder_dataset.c: move data through a storage folder.
 *
 * Uploads a dataset directory into a storage folder (resumable, streamed from disk), starts
 * a compute session that mounts the folder and reads the data, and downloads the result
 * file the code wrote into the folder. It removes what it made (session, folder, files).
 *
 * Usage: vfolder_dataset [DATASET_DIR]   (default: a small dataset written by the example)
 */
#define _POSIX_C_SOURCE 200809L
#include <backendai.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char *what, bai_code_t code)
{
    fprintf(stderr, "%s failed: %s: %s (HTTP status %u, server error type \"%s\")\n", what,
            bai_code_name(code), bai_last_error_message(), bai_last_error_http_status(),
            bai_last_error_server_type());
    return 1;
}

static int32_t on_console(void *userdata, const bai_console_record_t *rec)
{
    (void)userdata;
    fwrite(rec->data, 1, rec->len, strcmp(rec->kind, "stderr") == 0 ? stderr : stdout);
    return BAI_CB_CONTINUE;
}

static int32_t on_progress(void *userdata, const bai_progress_t *p)
{
    unsigned long long *last = userdata;
    *last = p->done;
    return BAI_CB_CONTINUE;
}

/* Deletes a storage folder for good. The library does what the server's release needs: a
 * 26.09 manager moves a deleted folder to the trash (its name stays taken) until it is
 * purged, so bai_vfolder_delete() purges it there too. */
static void delete_folder(bai_session_t *session, const char *name)
{
    bai_code_t code = bai_vfolder_delete(session, name);
    if (code != BAI_OK)
        fprintf(stderr, "deleting the folder %s failed: %s: %s\n", name, bai_code_name(code), bai_last_error_message());
}

/* Removes the dataset this program wrote (two files, two directories). */
static void remove_dataset(const char *dataset)
{
    char path[512];
    snprintf(path, sizeof path, "%s/sub/test.csv", dataset);
    unlink(path);
    snprintf(path, sizeof path, "%s/sub", dataset);
    rmdir(path);
    snprintf(path, sizeof path, "%s/train.csv", dataset);
    unlink(path);
    rmdir(dataset);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

int main(int argc, char **argv)
{
    char dataset[256];
    char folder[64];
    int own_dataset = argc <= 1;
    int folder_created = 0;
    snprintf(folder, sizeof folder, "dataset-%ld", (long)getpid());
    if (argc > 1) {
        snprintf(dataset, sizeof dataset, "%s", argv[1]);
    } else {
        snprintf(dataset, sizeof dataset, "bai-dataset-%ld", (long)getpid());
        char path[512];
        if (mkdir(dataset, 0755) != 0 && errno != EEXIST) {
            perror("mkdir");
            return 1;
        }
        snprintf(path, sizeof path, "%s/train.csv", dataset);
        write_file(path, "x,y\n1,2\n2,4\n3,6\n");
        snprintf(path, sizeof path, "%s/sub", dataset);
        mkdir(path, 0755);
        snprintf(path, sizeof path, "%s/sub/test.csv", dataset);
        write_file(path, "x,y\n4,8\n");
    }

    int rc = 1;
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_compute_t *compute = NULL;
    bai_code_t code;
    if ((code = bai_config_from_env(&config)) != BAI_OK)
        return fail("bai_config_from_env", code);
    if ((code = bai_session_new(config, &session)) != BAI_OK) {
        rc = fail("bai_session_new", code);
        goto out;
    }
    if ((code = bai_vfolder_create(session, folder, NULL, NULL)) != BAI_OK) {
        rc = fail("bai_vfolder_create", code);
        goto out;
    }
    folder_created = 1;
    /* Upload the dataset directory; names are relative to its parent, so the folder gets
     * <dataset>/train.csv and <dataset>/sub/test.csv. */
    unsigned long long sent = 0;
    const char *sources[] = {dataset};
    bai_op_opts_t progress = {0};
    progress.struct_size = sizeof progress;
    progress.progress_cb = on_progress;
    progress.userdata = &sent;
    if ((code = bai_vfolder_upload(session, folder, sources, 1, NULL, true, &progress)) != BAI_OK) {
        rc = fail("bai_vfolder_upload", code);
        goto out;
    }
    printf("uploaded %s (%llu bytes)\n", dataset, sent);
    bai_buf_t listing = {NULL, 0};
    if ((code = bai_vfolder_list_files(session, folder, dataset, &listing)) != BAI_OK) {
        rc = fail("bai_vfolder_list_files", code);
        goto out;
    }
    int entries = 0;
    for (const char *p = (const char *)listing.data; p && (p = strstr(p, "\"name\"")) != NULL; p++)
        entries++;
    printf("the folder's %s holds %d entries\n", dataset, entries);
    bai_buf_dispose(&listing);

    const char *mounts[] = {folder};
    bai_create_opts_t opts = {0};
    opts.struct_size = sizeof opts;
    opts.mounts = mounts;
    opts.n_mounts = 1;
    if ((code = bai_compute_create(session, "python:3.9-ubuntu20.04", &opts, &compute)) != BAI_OK) {
        rc = fail("bai_compute_create", code);
        goto out;
    }
    if (bai_compute_set_console_cb(compute, on_console, NULL, NULL) != BAI_OK)
        fprintf(stderr, "bai_compute_set_console_cb failed: %s\n", bai_last_error_message());
    char src[1024];
    int n = snprintf(src, sizeof src,
                     "import csv, os\n"
                     "base = os.path.join('/home/work', '%s', '%s')\n"
                     "rows = []\n"
                     "for name in ('train.csv', 'sub/test.csv'):\n"
                     "    with open(os.path.join(base, name)) as f:\n"
                     "        rows += [r for r in csv.DictReader(f)]\n"
                     "total = sum(int(r['y']) for r in rows)\n"
                     "print('rows:', len(rows), 'sum of y:', total)\n"
                     "with open(os.path.join('/home/work', '%s', 'result.txt'), 'w') as f:\n"
                     "    f.write(f'{len(rows)} {total}\\n')\n",
                     folder, dataset, folder);
    bai_exec_result_t *result = NULL;
    if ((code = bai_compute_run(compute, (const uint8_t *)src, (size_t)n, BAI_EXEC_QUERY, NULL, NULL, &result)) != BAI_OK) {
        rc = fail("bai_compute_run", code);
        goto out;
    }
    bai_exec_result_free(result);

    /* Download the result into the current directory. */
    const char *files[] = {"result.txt"};
    unlink("result.txt");
    if ((code = bai_vfolder_download(session, folder, files, 1, ".", NULL)) != BAI_OK) {
        rc = fail("bai_vfolder_download", code);
        goto out;
    }
    FILE *f = fopen("result.txt", "r");
    char line[64] = {0};
    if (!f || !fgets(line, sizeof line, f)) {
        fprintf(stderr, "result.txt was not downloaded\n");
        if (f)
            fclose(f);
        goto out;
    }
    fclose(f);
    printf("downloaded result.txt: %s", line);
    rc = strcmp(line, "4 20\n") == 0 ? 0 : 1;

out:
    /* Clean up what this program made, and only that: the session, the folder (deleted for
     * good), the dataset it wrote and the downloaded file. */
    if (compute)
        if (bai_compute_destroy(compute, 0, NULL) != BAI_OK)
            fprintf(stderr, "bai_compute_destroy failed: %s\n", bai_last_error_message());
    bai_compute_free(compute);
    if (session && folder_created)
        delete_folder(session, folder);
    bai_session_free(session);
    bai_config_free(config);
    if (own_dataset)
        remove_dataset(dataset);
    unlink("result.txt");
    return rc;
}
