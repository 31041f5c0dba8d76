// Hostile guest (redteam finding 4): writes a file, unlinks it while keeping it open, and repeats,
// so the disk holds the bytes of files no directory shows. Each file gets `KIB` KiB (argv[1],
// default 1536) and at most `FILES` (argv[2], default 40) files; it says how far it got and why
// it stopped, then holds its descriptors for `HOLD_MS` (argv[3], default 1500) before exiting.
// Built as a preview1 module and, through `jco new`, as a component (the preview2 path).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char buf[65536];

int main(int argc, char **argv) {
  long kib = argc > 1 ? atol(argv[1]) : 1536;
  int max_files = argc > 2 ? atoi(argv[2]) : 40;
  long hold_ms = argc > 3 ? atol(argv[3]) : 1500;
  memset(buf, 'x', sizeof buf);
  long total = 0;
  int files = 0, err = 0;
  for (int i = 0; i < max_files && !err; i++) {
    char name[64];
    snprintf(name, sizeof name, "/data/unlinked-%d", i);
    int fd = open(name, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) { err = errno; break; }
    // Most of it before the unlink (refunded in full at the unlink, before the fix), a last
    // 64 KiB after it: writes to a file no directory shows must be charged too.
    for (long w = 0; !err && w < kib * 1024 + (long)sizeof buf;) {
      if (w == kib * 1024) {
        if (unlink(name) != 0) { err = errno; break; }
        files++;
      }
      ssize_t n = write(fd, buf, sizeof buf);
      if (n < 0) { err = errno; break; }
      w += n;
      total += n;
    }
  }
  printf("unlinked: held %d unlinked files open, %ld KiB written, then: %s\n", files, total / 1024, err ? strerror(err) : "none");
  fflush(stdout);
  struct timespec ts = { hold_ms / 1000, (hold_ms % 1000) * 1000000L };
  nanosleep(&ts, 0);
  return 0;
}
