#include <backendai.h>

#include <stdio.h>
#include <string.h>

const char *tu_a_version(void);
const char *tu_b_version(void);

int main(void)
{
    if (strcmp(tu_b_version(), "BAI_OK") != 0 || bai_check_version(BAI_VERSION_NUM) != BAI_OK) {
        return 1;
    }
    printf("header ok: two translation units agree on %s\n", tu_a_version());
    return 0;
}
