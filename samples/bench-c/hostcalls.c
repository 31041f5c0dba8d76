// Benchmark job: the cost of one host call from a component, measured inside the guest with the
// monotonic clock over many calls: a kv get (SQLite read), a log write (rate limiter + posting the
// record to the supervisor), a config get (the binding layer alone). Results go to the log.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bulkhead_host.h"

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void report(const char *what, long long ns, int n) {
  char per[32], count[16];
  snprintf(per, sizeof per, "%.1f", (double)ns / n);
  snprintf(count, sizeof count, "%d", n);
  bh_pair_t f[] = { { bh_str("call"), bh_str(what) }, { bh_str("ns_per_call"), bh_str(per) }, { bh_str("calls"), bh_str(count) } };
  bh_log(BH_INFO, "bench", f, 3);
}

int main(void) {
  const int n = 20000;
  bh_result_t r = bh_kv_set("bench-key", "0123456789abcdef", 16);
  if (r.is_err) { fprintf(stderr, "kv set failed: %.*s\n", (int)r.message.len, r.message.ptr); return 1; }

  // Cheapest first: the log loop leaves the supervisor busy storing records for a while.
  long long t0;
  t0 = now_ns();
  for (int i = 0; i < n; i++) {
    bh_option_string_t v = bh_config_get("missing");
    if (v.is_some) return 3;
  }
  report("config.get", now_ns() - t0, n);
  t0 = now_ns();
  for (int i = 0; i < n; i++) {
    bh_kv_get_result_t g = bh_kv_get("bench-key");
    if (g.is_err || !g.tag) return 2;
    free(g.u.value.ptr);
  }
  report("kv.get", now_ns() - t0, n);

  t0 = now_ns();
  for (int i = 0; i < n; i++) bh_log(BH_DEBUG, "bench record", NULL, 0);
  report("log.write", now_ns() - t0, n);

  return 0;
}
