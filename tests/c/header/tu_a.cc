/* First translation unit including the header (compiled as C++17 with -Wall -Wextra -Werror -pedantic). */
#include <backendai.h>
#include <backendai.h> /* the include guard makes a second inclusion harmless */

extern "C" const char *tu_a_version(void);
extern "C" const char *tu_a_version(void)
{
    bai_buf_t buf = {NULL, 0};
    bai_buf_dispose(&buf);
    return BAI_VERSION_STRING;
}
