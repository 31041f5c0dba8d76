// world: service
// Benchmark service (another vendor): sends bench/ping, waits for bench/pong, repeats `rounds`
// times (config), then logs the mean round trip. Each round trip crosses two sandbox threads
// and the supervisor's bus twice.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "bulkhead_host.h"

static bh_start_result_t ok;
static int rounds = 1000, done = 0;
static long long started;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

BH_APP_START bulkhead_start(void) {
  char buf[16];
  if (bh_config_text("rounds", buf, sizeof buf)) rounds = atoi(buf);
  bh_result_t r = bh_subscribe("bench/pong");
  ok.is_err = r.is_err;
  ok.message = r.message;
  if (!r.is_err) {
    started = now_ns();
    bh_publish("bench/ping", "x", 1);
  }
  return &ok;
}

BH_APP_ON_MESSAGE bulkhead_on_message(const char *topic, size_t topic_len, uint8_t *payload, size_t len) {
  (void)topic_len; (void)len;
  free((void *)topic);
  free(payload);
  if (++done < rounds) {
    bh_publish("bench/ping", "x", 1);
    return;
  }
  char per[32], count[16];
  snprintf(per, sizeof per, "%.1f", (double)(now_ns() - started) / rounds);
  snprintf(count, sizeof count, "%d", rounds);
  bh_pair_t f[] = { { bh_str("call"), bh_str("message.round-trip") }, { bh_str("ns_per_call"), bh_str(per) }, { bh_str("calls"), bh_str(count) } };
  bh_log(BH_INFO, "bench", f, 3);
}
