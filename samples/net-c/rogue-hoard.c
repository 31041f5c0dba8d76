// Hostile job (Rogue Labs): makes the host hold memory outside every wasm cap. Mode `bodies`
// (config `mode`): fills `bodies` wasi:http outgoing request bodies of `mib` MiB each and never
// sends them; mode `handles`: creates wasi:http fields until the host refuses. Then holds what it
// got for `hold-ms` and logs one line: "hoard: held N MiB in B bodies, then: <error>" or
// "hoard: created N handles".
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bulkhead_host.h"
#include "wasi_net.h"

static int config_int(const char *name, int fallback) {
  char buf[32];
  return bh_config_text(name, buf, sizeof buf) ? atoi(buf) : fallback;
}

static char chunk[1 << 20];

int main(void) {
  BH_STDIO_INIT();
  bh_option_string_t mode = bh_config_get("mode");
  int handles = mode.is_some && mode.value.len == 7 && memcmp(mode.value.ptr, "handles", 7) == 0;
  int hold_ms = config_int("hold-ms", 2000);
  if (handles) {
    // Each fields handle is a host object; without a cap the host's handle table grows without bound.
    int n = 0;
    for (; n < 1000000; n++) fields_new();
    bh_logf("hoard: created %d handles", n);
    return 0;
  }
  int bodies = config_int("bodies", 64), mib = config_int("mib", 8);
  memset(chunk, 'x', sizeof chunk);
  _Alignas(8) uint8_t ret[32];
  long held = 0;
  int complete = 0;
  const char *error = "none";
  for (int b = 0; b < bodies && !strcmp(error, "none"); b++) {
    int32_t req = request_new(fields_new());
    request_body(req, ret);
    if (ret[0]) { error = "no body"; break; }
    int32_t body = *(int32_t *)(ret + 4);
    body_write(body, ret);
    if (ret[0]) { error = "no stream"; break; }
    int32_t stream = *(int32_t *)(ret + 4);
    for (int m = 0; m < mib; m++) {
      out_write(stream, chunk, sizeof chunk, ret);
      if (ret[0]) { error = ret[4] == 0 ? "stream error (last-operation-failed)" : "stream closed"; break; }
      held += sizeof chunk;
    }
    if (!strcmp(error, "none")) complete++;
    // The request, its body and stream are kept (never sent, never dropped).
  }
  bh_logf("hoard: held %ld MiB in %d bodies, then: %s", held >> 20, complete, error);
  usleep((useconds_t)hold_ms * 1000);
  bh_logf("hoard: done");
  return 0;
}
