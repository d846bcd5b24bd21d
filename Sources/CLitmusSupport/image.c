/* dladdr, which Swift's Glibc module does not import (it needs _GNU_SOURCE). */
#define _GNU_SOURCE
#include "litmus_support.h"

#include <dlfcn.h>

const char *litmus_image_path(void)
{
    Dl_info info;
    if (dladdr((void *)&litmus_image_path, &info) == 0)
        return NULL;
    return info.dli_fname;
}
