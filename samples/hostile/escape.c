/* Hostile: tries every way out of its preopen and reports each attempt on stdout as
 * "<attempt>: BLOCKED (<errno name>)" or "<attempt>: ESCAPED". Arguments: the preopen's guest path,
 * then a host path outside it to try directly. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int escaped = 0;

static void report(const char *attempt, int ok) {
  if (ok) {
    printf("%s: ESCAPED\n", attempt);
    escaped = 1;
  } else {
    printf("%s: BLOCKED (%s)\n", attempt, strerror(errno));
  }
}

static void try_read(const char *attempt, const char *path) {
  int fd = open(path, O_RDONLY);
  char buf[64];
  report(attempt, fd >= 0 && read(fd, buf, sizeof buf) >= 0);
  if (fd >= 0) close(fd);
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: escape PREOPEN OUTSIDE_HOST_PATH\n");
    return 2;
  }
  const char *root = argv[1];
  char path[512];

  try_read("absolute host path", argv[2]);
  snprintf(path, sizeof path, "%s/../../../../../../..%s", root, argv[2]);
  try_read("dot-dot traversal", path);
  snprintf(path, sizeof path, "%s/link-out", root);
  report("create symlink to absolute path", symlink(argv[2], path) == 0);
  snprintf(path, sizeof path, "%s/planted-abs", root);
  try_read("follow pre-planted absolute symlink", path);
  snprintf(path, sizeof path, "%s/planted-rel", root);
  try_read("follow pre-planted relative symlink", path);
  snprintf(path, sizeof path, "%s/planted-dir/secret", root);
  try_read("symlinked directory component", path);
  return escaped ? 1 : 0;
}
