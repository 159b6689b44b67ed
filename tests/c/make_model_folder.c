/*
 * Test fixture for examples/model_service.c: creates the storage folder NAME of the model
 * kind with a model-definition.yaml, unless it exists.  Usage: make_model_folder NAME
 */
#include "common.h"

static const char DEFINITION[] =
    "models:\n"
    "  - name: \"test-model\"\n"
    "    model_path: \"/models\"\n"
    "    service:\n"
    "      start_command: [\"python\", \"-m\", \"http.server\", \"8000\"]\n"
    "      port: 8000\n";

int main(int argc, char **argv)
{
    bai_config_t *config = NULL;
    bai_session_t *session = NULL;
    bai_buf_t info = {NULL, 0};
    const char *name = argc > 1 ? argv[1] : "Llama2-70B";

    test_endpoint();
    CHECK_CODE(bai_config_from_env(&config), BAI_OK);
    CHECK_CODE(bai_session_new(config, &session), BAI_OK);
    bai_config_free(config);
    bai_code_t code = bai_vfolder_info(session, name, &info);
    bai_buf_dispose(&info);
    if (code == BAI_E_NOT_FOUND) {
        bai_vfolder_opts_t opts = {0};
        opts.struct_size = sizeof opts;
        opts.usage_mode = "model";
        CHECK_CODE(bai_vfolder_create(session, name, &opts, &info), BAI_OK);
        bai_buf_dispose(&info);
        FILE *f = fopen("model-definition.yaml", "w");
        CHECK(f != NULL);
        if (f != NULL) {
            fputs(DEFINITION, f);
            fclose(f);
        }
        const char *files[] = {"model-definition.yaml"};
        CHECK_CODE(bai_vfolder_upload(session, name, files, 1, NULL, false, NULL, NULL), BAI_OK);
    } else {
        CHECK_CODE(code, BAI_OK);
    }
    bai_session_free(session);
    return test_end("make_model_folder");
}
