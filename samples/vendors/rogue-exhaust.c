// Hostile job (Rogue Labs): tries to exhaust what the host shares between vendors, one resource
// per run (config `attack`), and logs one line saying how far it got and how it was stopped:
//   fds    open the same file until refused, then hold them for `hold-ms`
//   disk   write 64 KiB chunks under /data until refused
//   audit  call kv without a grant (each call denied and audited) for `hold-ms`
//   flood  publish `size`-byte messages on `topic` for `hold-ms`, as fast as it can
//   subscribe  subscribe up to `count` distinct long patterns beneath `topic` until refused, then
//          hold them for `hold-ms` (each pattern stays in the daemon's message bus)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bulkhead_host.h"

static int config_int(const char *name, int fallback) {
  char buf[32];
  return bh_config_text(name, buf, sizeof buf) ? atoi(buf) : fallback;
}

static char attack[16], topic[128];
static char block[64 * 1024];

static void config_str(const char *name, char *out, size_t size, const char *fallback) {
  bh_option_string_t v = bh_config_get(name);
  if (!v.is_some) { snprintf(out, size, "%s", fallback); return; }
  snprintf(out, size, "%.*s", (int)v.value.len, v.value.ptr);
  free((void *)v.value.ptr);
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(void) {
  BH_STDIO_INIT();
  config_str("attack", attack, sizeof attack, "fds");
  config_str("topic", topic, sizeof topic, "plant/rogue/temperature");
  int hold_ms = config_int("hold-ms", 1000);
  memset(block, 'x', sizeof block);
  if (!strcmp(attack, "fds")) {
    FILE *f = fopen("/data/target", "w");
    if (f) fclose(f);
    int n = 0;
    while (n < 100000 && open("/data/target", O_RDONLY) >= 0) n++;
    bh_logf("exhaust fds: opened %d, then: %s", n, strerror(errno));
    usleep((useconds_t)hold_ms * 1000);
  } else if (!strcmp(attack, "disk")) {
    long written = 0;
    int err = 0;
    for (int i = 0; !err && i < 100000; i++) {
      char name[64];
      snprintf(name, sizeof name, "/data/fill-%d", i);
      int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd < 0) { err = errno; break; }
      for (int k = 0; k < 16; k++) {
        ssize_t w = write(fd, block, sizeof block);
        if (w < 0) { err = errno; break; }
        written += w;
      }
      close(fd);
    }
    bh_logf("exhaust disk: wrote %ld KiB, then: %s", written >> 10, strerror(err));
  } else if (!strcmp(attack, "audit")) {
    int denied = 0;
    long long end = now_ms() + hold_ms;
    while (now_ms() < end) {
      bh_kv_get_result_t r = bh_kv_get("anything");
      if (r.is_err) { denied++; free((void *)r.u.message.ptr); }
    }
    bh_logf("exhaust audit: %d calls denied", denied);
  } else if (!strcmp(attack, "flood")) {
    int size = config_int("size", 64 * 1024), sent = 0, refused = 0;
    if (size > (int)sizeof block) size = sizeof block;
    long long end = now_ms() + hold_ms;
    while (now_ms() < end) {
      bh_result_t r = bh_publish(topic, block, (size_t)size);
      if (r.is_err) { refused++; free((void *)r.message.ptr); } else sent++;
    }
    bh_logf("exhaust flood: published %d, refused %d", sent, refused);
  } else if (!strcmp(attack, "subscribe")) {
    int count = config_int("count", 100000), ok = 0;
    char pat[256], why[200] = "no refusal";
    memset(pat, 'a', sizeof pat);
    int n = snprintf(pat, sizeof pat, "%s/", topic);
    if (n > 0 && n < 200) pat[n] = 'a';
    for (int i = 0; i < count; i++) {
      snprintf(pat + 240, 16, "/%08d", i);  // "<topic>/aaa...a/00000042": distinct, 249 characters
      bh_result_t r = bh_subscribe(pat);
      if (r.is_err) {
        snprintf(why, sizeof why, "%.*s", (int)r.message.len, r.message.ptr);
        free((void *)r.message.ptr);
        break;
      }
      ok++;
    }
    bh_logf("exhaust subscribe: subscribed %d, then: %s", ok, why);
    usleep((useconds_t)hold_ms * 1000);
  }
  return 0;
}
