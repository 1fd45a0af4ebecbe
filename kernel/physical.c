/* The kernel's identity map: physical address == virtual address (see physical.h). */
#include "physical.h"

uintptr_t physical_memory_offset = 0;
