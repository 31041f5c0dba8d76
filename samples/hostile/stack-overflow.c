/* Hostile: unbounded, non-tail recursion; the engine's stack guard (or the shadow stack running
 * out of linear memory) must stop it with a trap, never the host. */
#pragma clang diagnostic ignored "-Winfinite-recursion"
#include <stdio.h>
static volatile int sink;
__attribute__((noinline)) static int deep(int n) {
  volatile char pad[256];
  pad[n & 255] = (char)n;
  int r = deep(n + 1);
  sink = pad[(n + 1) & 255];
  return r + sink;
}
int main(void) { printf("%d\n", deep(0)); return 0; }
