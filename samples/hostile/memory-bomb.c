/* Hostile: allocates without bound, touching every page, until the host says no.
 * With a memory cap, malloc eventually fails; we then trap on purpose, like an OOM abort. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *volatile last_block; /* keeps the allocations observable so the compiler cannot drop them */

int main(void) {
  size_t total = 0;
  for (;;) {
    char *p = malloc(1 << 20);
    if (!p) {
      fprintf(stderr, "memory-bomb: malloc failed after %zu MiB\n", total >> 20);
      __builtin_trap();
    }
    memset(p, 0xAB, 1 << 20);
    last_block = p;
    total += 1 << 20;
  }
}
