// Hostile vendor sample for the grant swap race (issue 9). One binary, two roles chosen by argv:
//   swap DIR TARGET N   (app A, granted the parent of DIR): N times, rename DIR away and plant a
//                       symlink TARGET in its place, then put it back; it ends with the symlink
//                       planted, so an app of the same vendor opened by path afterwards would follow it.
//   read                (app B, granted DIR as /data): prints what /data/secret.txt holds, then
//                       tries to leave a file /data/written-by-b.txt.
//   forge               writes terminal escapes and a forged line into its log, and tries a path
//                       outside /data carrying them, so its own audit line would erase itself.
// Tests assert that B only ever sees its own directory, whatever A did in between.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bulkhead_host.h"

static int swap(const char *dir, const char *target, int rounds) {
  char path[256], away[256];
  snprintf(path, sizeof path, "/data/%s", dir);
  snprintf(away, sizeof away, "/data/%s.away", dir);
  int planted = 0;
  for (int i = 0; i < rounds; i++) {
    if (rename(path, away) != 0) { printf("swap: rename failed (%s)\n", strerror(errno)); return 1; }
    if (symlink(target, path) != 0) { printf("swap: symlink failed (%s)\n", strerror(errno)); return 1; }
    planted++;
    if (i == rounds - 1) break; // leave the symlink in place
    unlink(path);
    rename(away, path);
    // Linger with the real directory in place: that is when the daemon's check passes.
    for (int k = 0; k < 4; k++) access(path, F_OK);
  }
  printf("swap: %d swaps, symlink left in place\n", planted);
  return 0;
}

static int read_and_write(void) {
  FILE *f = fopen("/data/secret.txt", "r");
  if (f) {
    char line[128] = {0};
    if (!fgets(line, sizeof line, f)) line[0] = 0;
    line[strcspn(line, "\n")] = 0;
    printf("read: %s\n", line);
    fclose(f);
  } else {
    printf("read: refused (%s)\n", strerror(errno));
  }
  FILE *w = fopen("/data/written-by-b.txt", "w");
  if (w) {
    fputs("written by B\n", w);
    fclose(w);
    printf("write: done\n");
  } else {
    printf("write: refused (%s)\n", strerror(errno));
  }
  return 0;
}

static int forge(void) {
  bh_log(BH_INFO, "harmless\r\x1b[2K\n2026-01-01T00:00:00.000Z INFO  main: all good", NULL, 0);
  FILE *f = fopen("/data/../\r\x1b[2Kescape", "r");
  printf("forge: %s\n", f ? "opened" : "refused");
  return 0;
}

int main(int argc, char **argv) {
  BH_STDIO_INIT();
  if (argc >= 2 && strcmp(argv[1], "forge") == 0) return forge();
  if (argc >= 5 && strcmp(argv[1], "swap") == 0) return swap(argv[2], argv[3], atoi(argv[4]));
  if (argc >= 2 && strcmp(argv[1], "read") == 0) return read_and_write();
  printf("usage: swap DIR TARGET N | read | forge\n");
  return 2;
}
