/* Second translation unit including the header: no definitions may clash at link time. */
#include <backendai.h>

extern "C" const char *tu_b_version(void);
extern "C" const char *tu_b_version(void)
{
    return bai_code_name(BAI_OK);
}
