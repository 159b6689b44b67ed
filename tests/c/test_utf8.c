/* Invalid UTF-8 in text arguments is BAI_E_INVALID_UTF8, never accepted lossily. No server needed. */
#include "common.h"

static const char BAD[] = "bad\xff\xfe-utf8";
static const char BAD_URL[] = "http://127.0.0.1:1/\xc3\x28";

int main(void)
{
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_compute_t *compute = NULL;

    CHECK_CODE(bai_config_new(&config), BAI_OK);
    if (config == NULL) {
        return test_end("test_utf8");
    }
    CHECK_CODE(bai_config_set_endpoint(config, BAD_URL), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_keypair(config, BAD, "secret"), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_keypair(config, "AKIAIOSFODNN7EXAMPLE", BAD), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_login(config, BAD, "pw"), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_login(config, "user@example.com", BAD), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_domain(config, BAD), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_group(config, BAD), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_user_agent(config, BAD), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_api_version(config, BAD), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_hash_type(config, BAD), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_vfolder_mounts(config, BAD), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_ca_file(config, BAD), BAI_E_INVALID_UTF8);
    CHECK_CODE(bai_config_set_http_proxy(config, BAD), BAI_E_INVALID_UTF8);

    CHECK_CODE(bai_config_set_endpoint(config, "http://127.0.0.1:1"), BAI_OK);
    CHECK_CODE(bai_session_new(config, &session), BAI_OK);
    if (session != NULL) {
        bai_page_t *page = NULL;
        CHECK_CODE(bai_compute_list(session, BAD, 0, 20, &page), BAI_E_INVALID_UTF8);
        CHECK(page == NULL);
        CHECK_CODE(bai_compute_create(session, BAD, NULL, &compute), BAI_E_INVALID_UTF8);
        CHECK(compute == NULL);
        bai_create_opts_t opts = {0};
        opts.struct_size = sizeof opts;
        opts.name = BAD;
        CHECK_CODE(bai_compute_create(session, "python:3.9-ubuntu20.04", &opts, &compute), BAI_E_INVALID_UTF8);
        CHECK(compute == NULL);
        CHECK_CODE(bai_compute_attach(session, BAD, &compute), BAI_E_INVALID_UTF8);
        CHECK(compute == NULL);

        bai_request_t rq = {0};
        bai_response_t *resp = NULL;
        rq.struct_size = sizeof rq;
        rq.method = "GET";
        rq.path = BAD;
        CHECK_CODE(bai_session_request(session, &rq, &resp), BAI_E_INVALID_UTF8);
        const char *query[] = {"echo", BAD};
        rq.path = "/auth";
        rq.query = query;
        rq.n_query = 1;
        CHECK_CODE(bai_session_request(session, &rq, &resp), BAI_E_INVALID_UTF8);
        CHECK(resp == NULL);

        CHECK_CODE(bai_compute_attach(session, "no-such-session", &compute), BAI_OK);
    }
    if (compute != NULL) {
        bai_exec_result_t *result = NULL;
        bai_op_t *op = NULL;
        bai_file_list_t *list = NULL;
        const uint8_t *code = (const uint8_t *)BAD;
        CHECK_CODE(bai_compute_run(compute, code, sizeof BAD - 1, 0, NULL, NULL, &result), BAI_E_INVALID_UTF8);
        CHECK_CODE(bai_compute_execute(compute, NULL, code, sizeof BAD - 1, 0, NULL, NULL, &result), BAI_E_INVALID_UTF8);
        CHECK_CODE(bai_compute_execute(compute, BAD, (const uint8_t *)"", 0, 2, NULL, NULL, &result), BAI_E_INVALID_UTF8);
        CHECK(result == NULL);
        CHECK_CODE(bai_compute_run_start(compute, code, sizeof BAD - 1, 0, NULL, NULL, &op), BAI_E_INVALID_UTF8);
        CHECK(op == NULL);
        bai_batch_opts_t batch = {0};
        batch.struct_size = sizeof batch;
        batch.exec = BAD;
        CHECK_CODE(bai_compute_run(compute, (const uint8_t *)"", 0, 1, &batch, NULL, &result), BAI_E_INVALID_UTF8);
        const char *paths[] = {BAD};
        CHECK_CODE(bai_compute_upload(compute, paths, 1, NULL, NULL), BAI_E_INVALID_UTF8);
        CHECK_CODE(bai_compute_upload(compute, (const char *[]){"a.txt"}, 1, BAD, NULL), BAI_E_INVALID_UTF8);
        CHECK_CODE(bai_compute_download(compute, paths, 1, ".", NULL, NULL), BAI_E_INVALID_UTF8);
        CHECK_CODE(bai_compute_list_files(compute, BAD, &list), BAI_E_INVALID_UTF8);
        CHECK(list == NULL);
        bai_buf_t buf = {NULL, 0};
        CHECK_CODE(bai_compute_complete(compute, code, sizeof BAD - 1, 0, 0, &buf), BAI_E_INVALID_UTF8);
    }
    bai_compute_free(compute);
    bai_session_free(session);
    bai_config_free(config);
    return test_end("test_utf8");
}
