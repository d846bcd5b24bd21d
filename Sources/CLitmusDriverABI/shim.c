/* The C ABI is header-only; SwiftPM needs one source file in a C target. */
#include "litmus_driver.h"
