// world: service
// Hostile service (Rogue Labs): at start, opens one file again and again until refused and keeps
// every descriptor for as long as it runs, so several instances hold theirs at the same time.
// Logs "fd-holder: holding N, then: <error>".
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bulkhead_host.h"

static bh_start_result_t ok;

BH_APP_START bulkhead_start(void) {
  FILE *f = fopen("/data/target", "w");
  if (f) fclose(f);
  int n = 0;
  while (n < 100000 && open("/data/target", O_RDONLY) >= 0) n++;
  bh_logf("fd-holder: holding %d, then: %s", n, strerror(errno));
  return &ok;
}

BH_APP_ON_MESSAGE bulkhead_on_message(const char *topic, size_t topic_len, uint8_t *payload, size_t len) {
  (void)topic_len; (void)len;
  free((void *)topic);
  free(payload);
}
