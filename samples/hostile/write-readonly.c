/* Hostile: tries every kind of write to a read-only preopen (argv[1]) and reports each one as
 * "<attempt>: BLOCKED (<errno>)" or "<attempt>: WROTE". Exit 1 if anything got through. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int wrote = 0;

static void report(const char *attempt, int ok) {
  if (ok) { printf("%s: WROTE\n", attempt); wrote = 1; }
  else printf("%s: BLOCKED (%s)\n", attempt, strerror(errno));
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: write-readonly DIR\n"); return 2; }
  char p[512], q[512];
  snprintf(p, sizeof p, "%s/new-file", argv[1]);
  report("create file", open(p, O_WRONLY | O_CREAT, 0644) >= 0);
  snprintf(p, sizeof p, "%s/existing.txt", argv[1]);
  int fd = open(p, O_WRONLY);
  report("open existing for write", fd >= 0 && write(fd, "x", 1) == 1);
  report("truncate existing", truncate(p, 0) == 0);
  report("append to existing", (fd = open(p, O_WRONLY | O_APPEND)) >= 0 && write(fd, "x", 1) == 1);
  snprintf(q, sizeof q, "%s/renamed.txt", argv[1]);
  report("rename", rename(p, q) == 0);
  report("unlink", unlink(p) == 0);
  snprintf(q, sizeof q, "%s/new-dir", argv[1]);
  report("mkdir", mkdir(q, 0755) == 0);
  snprintf(q, sizeof q, "%s/subdir", argv[1]);
  report("rmdir", rmdir(q) == 0);
  snprintf(q, sizeof q, "%s/new-link", argv[1]);
  report("symlink", symlink("existing.txt", q) == 0);
  return wrote ? 1 : 0;
}
