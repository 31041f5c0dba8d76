// world: service
// Benchmark service (one vendor): answers every message on bench/ping with the same payload on
// bench/pong. With pinger.c (another vendor) it measures a message round trip between sandboxes.
#include <stdlib.h>
#include "bulkhead_host.h"

static bh_start_result_t ok;

BH_APP_START bulkhead_start(void) {
  bh_result_t r = bh_subscribe("bench/ping");
  ok.is_err = r.is_err;
  ok.message = r.message;
  return &ok;
}

BH_APP_ON_MESSAGE bulkhead_on_message(const char *topic, size_t topic_len, uint8_t *payload, size_t len) {
  (void)topic_len;
  bh_publish("bench/pong", payload, len);
  free((void *)topic);
  free(payload);
}
