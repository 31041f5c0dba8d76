// Hostile vendor (Rogue Labs): tries every way out of its grant that a component has, and prints
// one line per attempt: "probe NAME: refused (...)" or "probe NAME: ESCAPED". Tests assert that
// every probe is refused and audited, and that the other vendors' outputs are unaffected.
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "bulkhead_host.h"

static int escaped = 0;

static void file_probe(const char *name, const char *path) {
  FILE *f = fopen(path, "r");
  if (f) {
    char line[128] = {0};
    fgets(line, sizeof line, f);
    printf("probe %s: ESCAPED (read \"%s\")\n", name, line);
    escaped++;
    fclose(f);
  } else {
    printf("probe %s: refused (%s)\n", name, strerror(errno));
  }
}

static void result_probe(const char *name, bh_result_t r) {
  if (r.is_err) printf("probe %s: refused (%.*s)\n", name, (int)r.message.len, r.message.ptr);
  else { printf("probe %s: ESCAPED\n", name); escaped++; }
}

int main(void) {
  BH_STDIO_INIT();
  // Another vendor's files, through `..`, an absolute path and symlinks.
  file_probe("dotdot", "/data/../../globex-analytics/secret.txt");
  file_probe("absolute", "/etc/passwd");
  file_probe("planted-symlink", "/data/planted/secret.txt");
  if (symlink("/", "/data/root-link") == 0) file_probe("absolute-symlink", "/data/root-link/etc/passwd");
  else printf("probe absolute-symlink: refused (%s)\n", strerror(errno));
  if (symlink("../../globex-analytics", "/data/up-link") == 0) file_probe("relative-symlink", "/data/up-link/secret.txt");
  else printf("probe relative-symlink: refused (%s)\n", strerror(errno));

  // Messaging outside its topics: forging the sensor's readings, and listening to everything.
  const char *forged = "{\"seq\":999,\"celsius\":-273.15}";
  result_probe("publish-forged", bh_publish("plant/line1/temperature", forged, strlen(forged)));
  result_probe("subscribe-all", bh_subscribe("#"));

  // kv: fill the namespace past its quota.
  static char block[1024];
  memset(block, 'x', sizeof block);
  int stored = 0;
  for (int i = 0; i < 1000; i++) {
    char key[32];
    snprintf(key, sizeof key, "fill-%d", i);
    bh_result_t r = bh_kv_set(key, block, sizeof block);
    if (r.is_err) {
      printf("probe kv-quota: refused after %d KiB (%.*s)\n", stored, (int)r.message.len, r.message.ptr);
      break;
    }
    stored++;
  }
  if (stored == 1000) { printf("probe kv-quota: ESCAPED\n"); escaped++; }

  // Log flood: far more records than the rate allows.
  for (int i = 0; i < 20000; i++) bh_log(BH_INFO, "flood", NULL, 0);
  printf("probe log-flood: sent 20000 records\n");

  printf("rogue-probe: %d escaped\n", escaped);
  return escaped ? 1 : 0;
}
