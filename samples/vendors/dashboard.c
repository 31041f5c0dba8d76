// world: service
// Vendor B (Globex Analytics): a dashboard service. It subscribes to temperature readings from
// any line, keeps running statistics in its kv namespace (so they survive restarts) and logs a
// summary. A reactor component exporting bulkhead:host/app.
#include <stdio.h>
#include <stdlib.h>
#include "bulkhead_host.h"

static bh_start_result_t start_result;

static double kv_number(const char *key, double fallback) {
  bh_kv_get_result_t r = bh_kv_get(key);
  if (r.is_err || !r.tag) return fallback;
  char buf[32] = {0};
  memcpy(buf, r.u.value.ptr, r.u.value.len < 31 ? r.u.value.len : 31);
  free(r.u.value.ptr);
  return atof(buf);
}

static int kv_put_number(const char *key, double value) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%.2f", value);
  bh_result_t r = bh_kv_set(key, buf, (size_t)n);
  if (r.is_err) {
    bh_pair_t f[] = { { bh_str("key"), bh_str(key) }, { bh_str("error"), { r.message.ptr, r.message.len } } };
    bh_log(BH_ERROR, "kv write failed", f, 2);
    free((void *)r.message.ptr);
    return -1;
  }
  return 0;
}

BH_APP_START bulkhead_start(void) {
  bh_result_t r = bh_subscribe("plant/+/temperature");
  start_result.is_err = r.is_err;
  start_result.message = r.message;
  if (!r.is_err) bh_log(BH_INFO, "dashboard subscribed to plant/+/temperature", NULL, 0);
  return &start_result;
}

BH_APP_ON_MESSAGE bulkhead_on_message(const char *topic, size_t topic_len, uint8_t *payload, size_t payload_len) {
  char text[128] = {0};
  memcpy(text, payload, payload_len < 127 ? payload_len : 127);
  const char *c = strstr(text, "\"celsius\":");
  double celsius = c ? atof(c + 10) : 0;
  double count = kv_number("count", 0) + 1;
  double min = kv_number("min", celsius), max = kv_number("max", celsius);
  if (celsius < min) min = celsius;
  if (celsius > max) max = celsius;
  kv_put_number("count", count);
  kv_put_number("min", min);
  kv_put_number("max", max);
  kv_put_number("last", celsius);
  char cnt[16], last[16], lo[16], hi[16];
  snprintf(cnt, sizeof cnt, "%.0f", count);
  snprintf(last, sizeof last, "%.2f", celsius);
  snprintf(lo, sizeof lo, "%.2f", min);
  snprintf(hi, sizeof hi, "%.2f", max);
  bh_pair_t f[] = { { { topic, topic_len }, bh_str(last) }, { bh_str("count"), bh_str(cnt) }, { bh_str("min"), bh_str(lo) }, { bh_str("max"), bh_str(hi) } };
  bh_log(BH_INFO, "reading", f, 4);
  free((void *)topic);
  free(payload);
}
