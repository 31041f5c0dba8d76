// world: service
// Hostile vendor: a service whose start() waits for 60 s without burning CPU (the CPU watchdog
// never fires). The call time limit must end it and fail this app alone; the daemon keeps
// starting and stopping other vendors' apps meanwhile (issue 10, item 6).
#include <time.h>
#include "bulkhead_host.h"

static bh_start_result_t ok;

BH_APP_START bulkhead_start(void) {
  struct timespec wait = { .tv_sec = 60, .tv_nsec = 0 };
  nanosleep(&wait, NULL);
  return &ok;
}

BH_APP_ON_MESSAGE bulkhead_on_message(const char *topic, size_t topic_len, uint8_t *payload, size_t len) {
  (void)topic_len; (void)len;
  free((void *)topic);
  free(payload);
}
