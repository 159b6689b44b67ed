#include <backendai.h>

#include <cstdio>
#include <cstring>

extern "C" const char *tu_a_version(void);
extern "C" const char *tu_b_version(void);

int main()
{
    // The enum is a scoped-size enum in C++: its values still convert to bai_code_t.
    bai_code_t ok = BAI_OK;
    if (std::strcmp(tu_b_version(), "BAI_OK") != 0 || bai_check_version(BAI_VERSION_NUM) != ok) {
        return 1;
    }
    std::printf("header ok: two translation units agree on %s\n", tu_a_version());
    return 0;
}
