/* Second translation unit including the header: no definitions may clash at link time. */
#include <backendai.h>

const char *tu_b_version(void);
const char *tu_b_version(void)
{
    return bai_code_name(BAI_OK);
}
