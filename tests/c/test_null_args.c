/*
 * NULL for each pointer argument of every function of backendai.h: BAI_E_NULL_ARG (and the
 * last error set) for fallible functions, the documented neutral value for getters, nothing
 * for release functions, and never a crash. `out` parameters are NULL after a failed call.
 * check_coverage.sh fails when a function of the header is missing here.
 * No server needed: the session points at a port where nothing listens.
 */
#include "common.h"

static const uint8_t CODE[] = "print(1)";
static int dummy;
#define SENTINEL ((void *)&dummy)

static int32_t console_cb(void *u, const bai_console_record_t *r) { (void)u; (void)r; return BAI_CB_CONTINUE; }
static int32_t media_cb(void *u, const bai_media_record_t *r) { (void)u; (void)r; return BAI_CB_CONTINUE; }
static int32_t input_cb(void *u, bai_input_request_t *r) { (void)u; (void)r; return BAI_CB_CONTINUE; }
static int32_t progress_cb(void *u, const bai_progress_t *p) { (void)u; (void)p; return BAI_CB_CONTINUE; }
static int32_t event_cb(void *u, const bai_server_event_t *e) { (void)u; (void)e; return BAI_CB_CONTINUE; }
static void log_cb(void *u, const bai_log_record_t *r) { (void)u; (void)r; }
static int freed;
static void userdata_free(void *u) { (void)u; freed++; }

static void config_functions(bai_config_t *config)
{
    bai_config_t *c = SENTINEL;
    CHECK_CODE(bai_config_new(NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_from_env(NULL), BAI_E_NULL_ARG);
    (void)c;
    bai_config_free(NULL);

    CHECK_CODE(bai_config_set_endpoint(NULL, "http://127.0.0.1:1"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_endpoint(config, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_endpoint_type(NULL, BAI_ENDPOINT_API), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_keypair(NULL, "a", "b"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_keypair(config, NULL, "b"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_keypair(config, "a", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_login(NULL, "u", "p"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_login(config, "u", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_domain(NULL, "default"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_domain(config, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_group(NULL, "default"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_group(config, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_user_agent(NULL, "ua"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_user_agent(config, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_api_version(NULL, "v7.20230615"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_api_version(config, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_hash_type(NULL, "sha256"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_hash_type(config, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_vfolder_mounts(NULL, "a"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_vfolder_mounts(config, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_ca_file(NULL, "ca.pem"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_ca_file(config, NULL), BAI_OK); /* NULL clears it */
    CHECK_CODE(bai_config_set_http_proxy(NULL, "http://127.0.0.1:3128"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_http_proxy(config, NULL), BAI_OK); /* NULL clears it */
    CHECK_CODE(bai_config_set_skip_tls_verify(NULL, true), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_sync_downloads(NULL, true), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_connect_timeout_ms(NULL, 1000), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_read_timeout_ms(NULL, 1000), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_request_timeout_ms(NULL, 1000), BAI_E_NULL_ARG);
    CHECK_CODE(bai_config_set_retry_budget_ms(NULL, 1000), BAI_E_NULL_ARG);
    bai_buf_t buf = {NULL, 0};
    CHECK_CODE(bai_config_describe(NULL, &buf), BAI_E_NULL_ARG);
    CHECK(buf.data == NULL && buf.len == 0);
    CHECK_CODE(bai_config_describe(config, NULL), BAI_E_NULL_ARG);
}

static void error_functions(void)
{
    /* Getters with no pointer arguments: never NULL. */
    CHECK(bai_code_name(BAI_E_NULL_ARG) != NULL);
    CHECK(bai_code_describe(BAI_E_NULL_ARG) != NULL);
    CHECK_CODE(bai_config_new(NULL), BAI_E_NULL_ARG);
    CHECK(bai_last_error_code() == BAI_E_NULL_ARG);
    CHECK(bai_last_error_message() != NULL);
    CHECK(bai_last_error_http_status() == 0);
    CHECK_STR(bai_last_error_server_type(), "");
    CHECK_STR(bai_last_error_server_title(), "");
    char buf[8];
    size_t len = 0;
    CHECK(bai_last_error_message_copy(buf, sizeof buf, NULL) == BAI_E_NULL_ARG);
    CHECK(bai_last_error_message_copy(NULL, 8, &len) == BAI_E_NULL_ARG);
    CHECK(bai_version() != NULL);
    CHECK(bai_version_num() == BAI_VERSION_NUM);
    CHECK_CODE(bai_check_version(BAI_VERSION_NUM), BAI_OK);
}

static void session_functions(bai_config_t *config, bai_session_t *session)
{
    bai_session_t *s = SENTINEL;
    CHECK_CODE(bai_session_new(NULL, &s), BAI_E_NULL_ARG);
    CHECK(s == NULL);
    CHECK_CODE(bai_session_new(config, NULL), BAI_E_NULL_ARG);
    bai_session_free(NULL);
    CHECK_STR(bai_session_api_version(NULL), "");
    CHECK(bai_session_server_version(NULL) != NULL);

    bai_buf_t buf = {NULL, 0};
    CHECK_CODE(bai_system_get_versions(NULL, &buf), BAI_E_NULL_ARG);
    CHECK(buf.data == NULL);
    CHECK_CODE(bai_system_get_versions(session, NULL), BAI_E_NULL_ARG);

    bai_request_t rq = {0};
    rq.struct_size = sizeof rq;
    rq.method = "GET";
    rq.path = "/";
    bai_response_t *resp = SENTINEL;
    CHECK_CODE(bai_session_request(NULL, &rq, &resp), BAI_E_NULL_ARG);
    CHECK(resp == NULL);
    CHECK_CODE(bai_session_request(session, NULL, &resp), BAI_E_NULL_ARG);
    CHECK_CODE(bai_session_request(session, &rq, NULL), BAI_E_NULL_ARG);
    rq.method = NULL;
    CHECK_CODE(bai_session_request(session, &rq, &resp), BAI_E_NULL_ARG);
    rq.method = "GET";
    rq.path = NULL;
    CHECK_CODE(bai_session_request(session, &rq, &resp), BAI_E_NULL_ARG);
    rq.path = "/";
    rq.body_len = 3; /* a length without bytes */
    CHECK_CODE(bai_session_request(session, &rq, &resp), BAI_E_NULL_ARG);
    rq.body_len = 0;
    rq.n_query = 1; /* a count without strings */
    CHECK_CODE(bai_session_request(session, &rq, &resp), BAI_E_NULL_ARG);

    size_t len = 99;
    CHECK(bai_response_status(NULL) == 0);
    CHECK(bai_response_body(NULL, &len) == NULL);
    CHECK(len == 0);
    CHECK(bai_response_header(NULL, "content-type") == NULL);
    CHECK(bai_response_header_count(NULL) == 0);
    const char *name = NULL, *value = NULL;
    CHECK_CODE(bai_response_header_at(NULL, 0, &name, &value), BAI_E_NULL_ARG);
    bai_response_free(NULL);

    bai_page_t *page = SENTINEL;
    CHECK_CODE(bai_compute_list(NULL, "RUNNING", 0, 20, &page), BAI_E_NULL_ARG);
    CHECK(page == NULL);
    CHECK_CODE(bai_compute_list(session, "RUNNING", 0, 20, NULL), BAI_E_NULL_ARG);
    CHECK(bai_page_total_count(NULL) == 0);
    CHECK(bai_page_count(NULL) == 0);
    CHECK(bai_page_item_json(NULL, 0) == NULL);
    CHECK(bai_page_item_field(NULL, 0, "id") == NULL);
    bai_page_free(NULL);
    bai_buf_dispose(NULL);

    size_t n_done = 7;
    CHECK_CODE(bai_session_poll(NULL, 0, &n_done), BAI_E_NULL_ARG);
    CHECK_CODE(bai_session_wakeup(NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_session_cancel(NULL), BAI_E_NULL_ARG);
    {
        int before = freed;
        /* NULL session: an error, and the userdata is still released exactly once. */
        CHECK_CODE(bai_session_set_log_cb(NULL, log_cb, SENTINEL, userdata_free, BAI_LOG_DEBUG), BAI_E_NULL_ARG);
        CHECK(freed == before + 1);
    }
    CHECK(bai_session_event_fd(NULL) == -1);

    /* Model services. */
    bai_service_opts_t sopts = {0};
    sopts.struct_size = sizeof sopts;
    sopts.name = "svc-null";
    sopts.image = "python:3.9-ubuntu20.04";
    sopts.model = "model";
    bai_buf_t out = {NULL, 0};
    CHECK_CODE(bai_service_create(NULL, &sopts, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_create(session, NULL, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_create(session, &sopts, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_get_info(NULL, "id", &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_get_info(session, NULL, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_get_info(session, "id", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_wait_ready(NULL, "id", 0, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_wait_ready(session, NULL, 0, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_wait_ready(session, "id", 0, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_list(NULL, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_list(session, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_scale(NULL, "id", 1), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_scale(session, NULL, 1), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_delete(NULL, "id"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_delete(session, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_generate_token(NULL, "id", "3600s", 0, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_generate_token(session, NULL, "3600s", 0, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_generate_token(session, "id", "3600s", 0, NULL), BAI_E_NULL_ARG);
    bai_response_t *sresp = SENTINEL;
    CHECK_CODE(bai_service_call(NULL, "http://127.0.0.1:1/v1/models", "GET", NULL, NULL, 0, NULL, &sresp), BAI_E_NULL_ARG);
    CHECK(sresp == NULL);
    CHECK_CODE(bai_service_call(session, NULL, "GET", NULL, NULL, 0, NULL, &sresp), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_call(session, "http://127.0.0.1:1/v1/models", NULL, NULL, NULL, 0, NULL, &sresp), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_call(session, "http://127.0.0.1:1/v1/models", "POST", NULL, NULL, 5, NULL, &sresp), BAI_E_NULL_ARG);
    CHECK_CODE(bai_service_call(session, "http://127.0.0.1:1/v1/models", "GET", NULL, NULL, 0, NULL, NULL), BAI_E_NULL_ARG);

    /* Storage folders. */
    const char *fpaths[] = {"a.txt"};
    bai_op_t *vop = SENTINEL;
    CHECK_CODE(bai_vfolder_create(NULL, "f", NULL, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_create(session, NULL, NULL, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_list(NULL, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_list(session, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_get_info(NULL, "f", &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_get_info(session, NULL, &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_get_info(session, "f", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_delete(NULL, "f"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_delete(session, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_rename(NULL, "f", "g"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_rename(session, NULL, "g"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_rename(session, "f", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_list_files(NULL, "f", ".", &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_list_files(session, NULL, ".", &out), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_list_files(session, "f", ".", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_mkdir(NULL, "f", "d", 0), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_mkdir(session, NULL, "d", 0), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_mkdir(session, "f", NULL, 0), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_rename_file(NULL, "f", "a", "b"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_rename_file(session, NULL, "a", "b"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_rename_file(session, "f", NULL, "b"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_rename_file(session, "f", "a", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_move_file(NULL, "f", "a", "b"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_move_file(session, NULL, "a", "b"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_move_file(session, "f", NULL, "b"), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_move_file(session, "f", "a", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_delete_files(NULL, "f", fpaths, 1, false), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_delete_files(session, NULL, fpaths, 1, false), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_delete_files(session, "f", NULL, 1, false), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_upload(NULL, "f", fpaths, 1, NULL, false, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_upload(session, NULL, fpaths, 1, NULL, false, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_upload(session, "f", NULL, 1, NULL, false, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_upload_start(NULL, "f", fpaths, 1, NULL, false, NULL, &vop), BAI_E_NULL_ARG);
    CHECK(vop == NULL);
    CHECK_CODE(bai_vfolder_upload_start(session, NULL, fpaths, 1, NULL, false, NULL, &vop), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_upload_start(session, "f", NULL, 1, NULL, false, NULL, &vop), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_upload_start(session, "f", fpaths, 1, NULL, false, NULL, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_download(NULL, "f", fpaths, 1, ".", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_download(session, NULL, fpaths, 1, ".", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_download(session, "f", NULL, 1, ".", NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_download(session, "f", fpaths, 1, NULL, NULL), BAI_E_NULL_ARG);
    vop = SENTINEL;
    CHECK_CODE(bai_vfolder_download_start(NULL, "f", fpaths, 1, ".", NULL, &vop), BAI_E_NULL_ARG);
    CHECK(vop == NULL);
    CHECK_CODE(bai_vfolder_download_start(session, NULL, fpaths, 1, ".", NULL, &vop), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_download_start(session, "f", NULL, 1, ".", NULL, &vop), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_download_start(session, "f", fpaths, 1, NULL, NULL, &vop), BAI_E_NULL_ARG);
    CHECK_CODE(bai_vfolder_download_start(session, "f", fpaths, 1, ".", NULL, NULL), BAI_E_NULL_ARG);
    CHECK(out.data == NULL);

}

static void compute_functions(bai_session_t *session, bai_compute_t *compute)
{
    bai_compute_t *c = SENTINEL;
    CHECK_CODE(bai_compute_create(NULL, "python:3.9-ubuntu20.04", NULL, &c), BAI_E_NULL_ARG);
    CHECK(c == NULL);
    CHECK_CODE(bai_compute_create(session, NULL, NULL, &c), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_create(session, "python:3.9-ubuntu20.04", NULL, NULL), BAI_E_NULL_ARG);
    c = SENTINEL;
    CHECK_CODE(bai_compute_attach(NULL, "x", &c), BAI_E_NULL_ARG);
    CHECK(c == NULL);
    CHECK_CODE(bai_compute_attach(session, NULL, &c), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_attach(session, "x", NULL), BAI_E_NULL_ARG);
    bai_compute_free(NULL);

    CHECK_STR(bai_compute_id(NULL), "");
    CHECK_STR(bai_compute_name(NULL), "");
    CHECK_STR(bai_compute_status(NULL), "");
    CHECK(!bai_compute_was_created(NULL));

    bai_buf_t buf = {NULL, 0};
    CHECK_CODE(bai_compute_get_info(NULL, &buf), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_get_info(compute, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_destroy(NULL, 0, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_interrupt(NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_restart(NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_get_logs(NULL, &buf), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_get_logs(compute, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_complete(NULL, CODE, 8, 0, 0, &buf), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_complete(compute, NULL, 8, 0, 0, &buf), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_complete(compute, CODE, 8, 0, 0, NULL), BAI_E_NULL_ARG);
    CHECK(buf.data == NULL);
    CHECK_CODE(bai_compute_cancel(NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_set_timeout_ms(NULL, 1000), BAI_E_NULL_ARG);
    CHECK(bai_op_input_is_password(NULL) == false);
    CHECK_STR(bai_op_run_id(NULL), "");
    CHECK(bai_last_error_server_code() != NULL);
    CHECK(bai_op_userdata(NULL) == NULL);
    CHECK(bai_session_next_done(NULL) == NULL);
    {
        bai_buf_t prompt = {NULL, 0};
        CHECK_CODE(bai_op_input_prompt(NULL, &prompt), BAI_E_NULL_ARG);
    }
    {
        bai_op_t *o = SENTINEL;
        CHECK_CODE(bai_compute_create_start(NULL, "python:3.9-ubuntu20.04", NULL, NULL, &o), BAI_E_NULL_ARG);
        CHECK(o == NULL);
        CHECK_CODE(bai_compute_create_start(session, NULL, NULL, NULL, &o), BAI_E_NULL_ARG);
        CHECK_CODE(bai_compute_create_start(session, "python:3.9-ubuntu20.04", NULL, NULL, NULL), BAI_E_NULL_ARG);
        bai_compute_t *c = SENTINEL;
        CHECK_CODE(bai_op_take_compute(NULL, &c), BAI_E_NULL_ARG);
        CHECK(c == NULL);
        const char *files[] = {"a.txt"};
        CHECK_CODE(bai_compute_download_start(NULL, files, 1, ".", NULL, &o), BAI_E_NULL_ARG);
        CHECK_CODE(bai_compute_download_start(compute, NULL, 1, ".", NULL, &o), BAI_E_NULL_ARG);
        CHECK_CODE(bai_compute_download_start(compute, files, 1, NULL, NULL, &o), BAI_E_NULL_ARG);
        CHECK_CODE(bai_compute_download_start(compute, files, 1, ".", NULL, NULL), BAI_E_NULL_ARG);
    }

    /* A NULL handle still releases the userdata it was given (documented). */
    freed = 0;
    CHECK_CODE(bai_compute_set_console_cb(NULL, console_cb, SENTINEL, userdata_free), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_set_media_cb(NULL, media_cb, SENTINEL, userdata_free), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_set_input_cb(NULL, input_cb, SENTINEL, userdata_free), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_set_progress_cb(NULL, progress_cb, SENTINEL, userdata_free), BAI_E_NULL_ARG);
    CHECK(freed == 4);
    /* A NULL callback clears it and releases the userdata at once. */
    freed = 0;
    CHECK_CODE(bai_compute_set_console_cb(compute, NULL, SENTINEL, userdata_free), BAI_OK);
    CHECK_CODE(bai_compute_set_media_cb(compute, NULL, SENTINEL, userdata_free), BAI_OK);
    CHECK_CODE(bai_compute_set_input_cb(compute, NULL, SENTINEL, userdata_free), BAI_OK);
    CHECK_CODE(bai_compute_set_progress_cb(compute, NULL, SENTINEL, userdata_free), BAI_OK);
    CHECK(freed == 4);

    bai_exec_result_t *r = SENTINEL;
    CHECK_CODE(bai_compute_execute(NULL, NULL, CODE, 8, 0, NULL, NULL, &r), BAI_E_NULL_ARG);
    CHECK(r == NULL);
    CHECK_CODE(bai_compute_execute(compute, NULL, NULL, 8, 0, NULL, NULL, &r), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_execute(compute, NULL, CODE, 8, 0, NULL, NULL, NULL), BAI_E_NULL_ARG);
    r = SENTINEL;
    CHECK_CODE(bai_compute_run(NULL, CODE, 8, 0, NULL, NULL, &r), BAI_E_NULL_ARG);
    CHECK(r == NULL);
    CHECK_CODE(bai_compute_run(compute, NULL, 8, 0, NULL, NULL, &r), BAI_E_NULL_ARG);


    CHECK_CODE(bai_compute_set_event_cb(NULL, event_cb, SENTINEL, userdata_free), BAI_E_NULL_ARG);
    r = SENTINEL;
    CHECK_CODE(bai_compute_stream(NULL, CODE, 8, 0, NULL, NULL, &r), BAI_E_NULL_ARG);
    CHECK(r == NULL);
    CHECK_CODE(bai_compute_stream(compute, NULL, 8, 0, NULL, NULL, &r), BAI_E_NULL_ARG);

    bai_buf_t token = {NULL, 0}, addr = {NULL, 0}, url = {NULL, 0};
    CHECK_CODE(bai_compute_start_service(NULL, "ttyd", 0, NULL, NULL, &token, &addr), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_start_service(compute, NULL, 0, NULL, NULL, &token, &addr), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_start_service(compute, "ttyd", 0, NULL, NULL, NULL, &addr), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_start_service(compute, "ttyd", 0, NULL, NULL, &token, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_app_url(NULL, "ttyd", "t", "http://127.0.0.1:1", &url), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_app_url(compute, NULL, "t", "http://127.0.0.1:1", &url), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_app_url(compute, "ttyd", NULL, "http://127.0.0.1:1", &url), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_app_url(compute, "ttyd", "t", NULL, &url), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_app_url(compute, "ttyd", "t", "http://127.0.0.1:1", NULL), BAI_E_NULL_ARG);
    CHECK(token.data == NULL && addr.data == NULL && url.data == NULL);

    const char *paths[] = {"a.txt"};
    CHECK_CODE(bai_compute_upload(NULL, paths, 1, NULL, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_upload(compute, NULL, 1, NULL, NULL), BAI_E_NULL_ARG);
    const char *nullpath[] = {NULL};
    CHECK_CODE(bai_compute_upload(compute, nullpath, 1, NULL, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_download(NULL, paths, 1, ".", NULL, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_download(compute, NULL, 1, ".", NULL, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_download(compute, nullpath, 1, ".", NULL, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_download(compute, paths, 1, NULL, NULL, NULL), BAI_E_NULL_ARG);
    bai_file_list_t *fl = SENTINEL;
    CHECK_CODE(bai_compute_list_files(NULL, ".", &fl), BAI_E_NULL_ARG);
    CHECK(fl == NULL);
    CHECK_CODE(bai_compute_list_files(compute, ".", NULL), BAI_E_NULL_ARG);
    CHECK(bai_file_list_count(NULL) == 0);
    CHECK(bai_file_list_get(NULL, 0) == NULL);
    bai_file_list_free(NULL);

    CHECK_STR(bai_exec_result_status(NULL), "");
    CHECK_STR(bai_exec_result_run_id(NULL), "");
    int64_t exit_code = 42;
    CHECK(!bai_exec_result_exit_code(NULL, &exit_code));
    CHECK(exit_code == 42);
    CHECK(bai_exec_result_options_json(NULL) != NULL);
    CHECK(bai_exec_result_raised(NULL) == false);
    CHECK(bai_exec_result_files_json(NULL) != NULL);
    bai_exec_result_free(NULL);

    CHECK(!bai_input_request_is_password(NULL));
    CHECK(bai_input_request_run_id(NULL) != NULL);
    CHECK_STR(bai_input_request_prompt(NULL), "");
    CHECK_CODE(bai_input_reply(NULL, (const uint8_t *)"x", 1), BAI_E_NULL_ARG);
}

static void op_functions(bai_compute_t *compute)
{
    bai_op_t *op = SENTINEL;
    CHECK_CODE(bai_compute_run_start(NULL, CODE, 8, 0, NULL, NULL, &op), BAI_E_NULL_ARG);
    CHECK(op == NULL);
    CHECK_CODE(bai_compute_run_start(compute, NULL, 8, 0, NULL, NULL, &op), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_run_start(compute, CODE, 8, 0, NULL, NULL, NULL), BAI_E_NULL_ARG);
    const char *paths[] = {"a.txt"};
    op = SENTINEL;
    CHECK_CODE(bai_compute_upload_start(NULL, paths, 1, NULL, NULL, &op), BAI_E_NULL_ARG);
    CHECK(op == NULL);
    CHECK_CODE(bai_compute_upload_start(compute, NULL, 1, NULL, NULL, &op), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_upload_start(compute, paths, 1, NULL, NULL, NULL), BAI_E_NULL_ARG);


    op = SENTINEL;
    CHECK_CODE(bai_compute_stream_start(NULL, CODE, 8, 0, NULL, NULL, &op), BAI_E_NULL_ARG);
    CHECK(op == NULL);
    CHECK_CODE(bai_compute_stream_start(compute, NULL, 8, 0, NULL, NULL, &op), BAI_E_NULL_ARG);
    CHECK_CODE(bai_compute_stream_start(compute, CODE, 8, 0, NULL, NULL, NULL), BAI_E_NULL_ARG);
    op = SENTINEL;
    CHECK_CODE(bai_compute_terminal_open(NULL, NULL, &op), BAI_E_NULL_ARG);
    CHECK(op == NULL);
    CHECK_CODE(bai_compute_terminal_open(compute, NULL, NULL), BAI_E_NULL_ARG);
    op = SENTINEL;
    CHECK_CODE(bai_compute_events_start(NULL, "session", NULL, &op), BAI_E_NULL_ARG);
    CHECK(op == NULL);
    CHECK_CODE(bai_compute_events_start(compute, "session", NULL, NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_terminal_write(NULL, (const uint8_t *)"x", 1), BAI_E_NULL_ARG);
    CHECK_CODE(bai_terminal_resize(NULL, 24, 80), BAI_E_NULL_ARG);
    CHECK_CODE(bai_terminal_ping(NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_terminal_restart(NULL), BAI_E_NULL_ARG);
    CHECK_CODE(bai_terminal_close(NULL), BAI_E_NULL_ARG);

    CHECK_CODE(bai_op_poll(NULL, 0), BAI_E_NULL_ARG);
    CHECK_CODE(bai_op_send_input(NULL, (const uint8_t *)"x", 1), BAI_E_NULL_ARG);
    CHECK_CODE(bai_op_cancel(NULL), BAI_E_NULL_ARG);
    bai_exec_result_t *r = SENTINEL;
    CHECK_CODE(bai_op_result(NULL, &r), BAI_E_NULL_ARG);
    CHECK(r == NULL);
    CHECK(bai_op_code(NULL) == BAI_E_NULL_ARG);
    bai_buf_t msg = {NULL, 0};
    CHECK_CODE(bai_op_error_message(NULL, &msg), BAI_E_NULL_ARG);
    CHECK(msg.data == NULL);
    bai_op_free(NULL);

    /* A live op (its session is unreachable, so it can only fail or be cancelled). */
    op = NULL;
    CHECK_CODE(bai_compute_run_start(compute, CODE, 8, 0, NULL, NULL, &op), BAI_OK);
    if (op != NULL) {
        CHECK_CODE(bai_op_send_input(op, NULL, 1), BAI_E_NULL_ARG);
        CHECK_CODE(bai_op_result(op, NULL), BAI_E_NULL_ARG);
        CHECK_CODE(bai_op_error_message(op, NULL), BAI_E_NULL_ARG);
        CHECK_CODE(bai_terminal_write(op, NULL, 1), BAI_E_NULL_ARG);
        CHECK_CODE(bai_op_cancel(op), BAI_OK);
        bai_op_free(op);
    }
}

int main(void)
{
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_compute_t *compute = NULL;

    error_functions();
    CHECK_CODE(bai_config_new(&config), BAI_OK);
    if (config == NULL) {
        return test_end("test_null_args");
    }
    /* Port 1 on the loopback: nothing listens, connections are refused at once. */
    CHECK_CODE(bai_config_set_endpoint(config, "http://127.0.0.1:1"), BAI_OK);
    CHECK_CODE(bai_config_set_keypair(config, "AKIAIOSFODNN7EXAMPLE", "not-a-real-secret"), BAI_OK);
    config_functions(config);
    CHECK_CODE(bai_session_new(config, &session), BAI_OK);
    if (session != NULL) {
        session_functions(config, session);
        CHECK_CODE(bai_compute_attach(session, "no-such-session", &compute), BAI_OK);
        if (compute != NULL) {
            compute_functions(session, compute);
            op_functions(compute);
        }
    }
    bai_compute_free(compute);
    bai_session_free(session);
    bai_config_free(config);
    return test_end("test_null_args");
}
