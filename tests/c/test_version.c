/* Version: header macros, bai_version(), bai_version_num() and bai_check_version() agree. */
#include "common.h"

int main(void)
{
    char expected[64];
    snprintf(expected, sizeof expected, "%d.%d.%d", BAI_VERSION_MAJOR, BAI_VERSION_MINOR, BAI_VERSION_PATCH);
    CHECK_STR(BAI_VERSION_STRING, expected);
    CHECK(BAI_VERSION_NUM == ((BAI_VERSION_MAJOR << 16) | (BAI_VERSION_MINOR << 8) | BAI_VERSION_PATCH));
    CHECK(BAI_AT_LEAST_VERSION(BAI_VERSION_MAJOR, BAI_VERSION_MINOR, BAI_VERSION_PATCH));
    CHECK(!BAI_AT_LEAST_VERSION(BAI_VERSION_MAJOR, BAI_VERSION_MINOR, BAI_VERSION_PATCH + 1));

    /* bai_version() is "libbackendai/<BAI_VERSION_STRING>" followed by details in brackets. */
    const char *v = bai_version();
    char prefix[80];
    snprintf(prefix, sizeof prefix, "libbackendai/%s", BAI_VERSION_STRING);
    CHECK(v != NULL && strncmp(v, prefix, strlen(prefix)) == 0);
    CHECK(v != NULL && (v[strlen(prefix)] == '\0' || v[strlen(prefix)] == ' '));
    CHECK(v == bai_version()); /* static */
    printf("bai_version() = %s\n", v);

    CHECK(bai_version_num() == BAI_VERSION_NUM);
    CHECK_CODE(bai_check_version(BAI_VERSION_NUM), BAI_OK);
    /* Another minor (0.x) or major is refused, naming both versions. */
    CHECK_CODE(bai_check_version(BAI_VERSION_NUM + (1u << 8)), BAI_E_BAD_STATE);
    CHECK_MESSAGE_HAS(BAI_VERSION_STRING);
    CHECK_CODE(bai_check_version(BAI_VERSION_NUM + (1u << 16)), BAI_E_BAD_STATE);
    CHECK_CODE(bai_check_version(BAI_VERSION_NUM), BAI_OK);
    return test_end("test_version");
}
