// Hostile vendor (Rogue Labs): allocates without bound. The instance's memory cap stops it (the
// allocation fails at the cap); the rest of the device is unaffected.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Kept reachable so the compiler cannot drop the allocations.
void *volatile head;

int main(void) {
  size_t total = 0;
  for (;;) {
    char *p = malloc(1 << 20);
    if (!p) {
      printf("allocation refused after %zu MiB\n", total >> 20);
      return 3;
    }
    memset(p, 1, 1 << 20);
    *(void **)p = head;
    head = p;
    total += 1 << 20;
  }
}
