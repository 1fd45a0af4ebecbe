/*
 * Memory for the runtime's own records, never freed (Go's persistentalloc).
 *
 * Gs, Ms and Ps live for the rest of the program: a dead G goes to a free
 * list for reuse, an idle M parks, a P is never destroyed. So they need no
 * free(), and a bump allocator over chunks reserved from the platform is all
 * it takes -- which also keeps the scheduler independent of malloc, and of
 * the span allocator that will be built on top of it.
 */
#include "runtime_internal.h"
#include <string.h>

#define PERSISTENT_CHUNK_SIZE (1u << 20)
#define PERSISTENT_ALIGN 64   // a cache line: records of different Ms never share one

static struct runtime_lock persistent_lock;
static uint8_t *chunk_next, *chunk_end;

void *runtime_zalloc(size_t size)
{
    size = (size + PERSISTENT_ALIGN - 1) & ~(size_t)(PERSISTENT_ALIGN - 1);
    runtime_lock_acquire(&persistent_lock);
    if (chunk_next == NULL || (size_t)(chunk_end - chunk_next) < size) {
        size_t chunk = size > PERSISTENT_CHUNK_SIZE ? size : PERSISTENT_CHUNK_SIZE;
        chunk_next = platform_reserve(chunk);
        if (chunk_next == NULL) {
            runtime_lock_release(&persistent_lock);
            runtime_throw("out of memory for runtime records");
        }
        chunk_end = chunk_next + chunk;
    }
    void *result = chunk_next;
    chunk_next += size;
    runtime_lock_release(&persistent_lock);
    // Fresh platform memory reads zero; a clear makes that true on every port.
    memset(result, 0, size);
    return result;
}
