// world: service
// Benchmark service that does nothing after it starts: what an idle instance costs.
#include "bulkhead_host.h"

static bh_start_result_t ok;

BH_APP_START bulkhead_start(void) { return &ok; }

BH_APP_ON_MESSAGE bulkhead_on_message(const char *topic, size_t topic_len, uint8_t *payload, size_t len) {
  (void)topic_len; (void)len;
  free((void *)topic);
  free(payload);
}
