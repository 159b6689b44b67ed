/* The C API of libbackendai, as generated into the repository's include/ directory. */
#include "../../../../include/backendai.h"
