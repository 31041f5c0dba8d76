/* Benchmark guest: makes N cheap host calls (sched_yield) so the cost of one wasm -> host call
 * can be measured as (time with N calls - time with 0 calls) / N. */
#include <sched.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 0;
  for (long i = 0; i < n; i++) sched_yield();
  return 0;
}
