// Vendor A (ACME Industrial): a sensor-filter job. It samples a simulated temperature sensor,
// drops spikes (a reading further than `threshold` from the median of its neighbours), appends
// the raw series to its data directory and publishes each accepted reading on
// plant/line1/temperature for whoever is allowed to subscribe. A wasi:cli/command component.
#include <stdio.h>
#include <stdlib.h>
#include "bulkhead_host.h"

static double config_number(const char *name, double fallback) {
  char buf[32];
  return bh_config_text(name, buf, sizeof buf) ? atof(buf) : fallback;
}

static double median3(double a, double b, double c) {
  if ((a <= b && b <= c) || (c <= b && b <= a)) return b;
  if ((b <= a && a <= c) || (c <= a && a <= b)) return a;
  return c;
}

int main(void) {
  BH_STDIO_INIT();
  int samples = (int)config_number("samples", 12);
  double threshold = config_number("threshold", 5.0);
  if (samples < 3 || samples > 1000) samples = 12;

  // A deterministic sensor: a slow ramp with a spike every fifth sample.
  double raw[1000];
  for (int i = 0; i < samples; i++) raw[i] = 20.0 + 0.25 * i + ((i % 5 == 3) ? 40.0 : 0.0);

  FILE *out = fopen("/data/raw.log", "a");
  if (!out) { perror("open /data/raw.log"); return 1; }
  int published = 0, dropped = 0;
  for (int i = 0; i < samples; i++) {
    fprintf(out, "%d %.2f\n", i, raw[i]);
    double m = median3(raw[i > 0 ? i - 1 : i], raw[i], raw[i < samples - 1 ? i + 1 : i]);
    if (raw[i] - m > threshold || m - raw[i] > threshold) { dropped++; continue; }
    char payload[64];
    int n = snprintf(payload, sizeof payload, "{\"seq\":%d,\"celsius\":%.2f}", i, raw[i]);
    bh_result_t r = bh_publish("plant/line1/temperature", payload, (size_t)n);
    if (r.is_err) { fprintf(stderr, "publish refused: %.*s\n", (int)r.message.len, r.message.ptr); return 1; }
    published++;
  }
  fclose(out);

  char pub[16], drop[16];
  snprintf(pub, sizeof pub, "%d", published);
  snprintf(drop, sizeof drop, "%d", dropped);
  bh_pair_t fields[] = { { bh_str("published"), bh_str(pub) }, { bh_str("dropped"), bh_str(drop) } };
  bh_log(BH_INFO, "filtered sensor readings", fields, 2);
  printf("sensor-filter: published %d readings, dropped %d spikes\n", published, dropped);
  return 0;
}
