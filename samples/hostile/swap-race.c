/* Hostile: opens argv[2] (inside preopen argv[1]) over and over while the host swaps one of its
 * directory components for a symlink pointing outside. Prints how many reads saw the outside
 * secret ("LEAKED n") next to how many opens succeeded. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: swap-race DIR PATH ITERATIONS\n"); return 2; }
  char path[512];
  snprintf(path, sizeof path, "%s/%s", argv[1], argv[2]);
  int iterations = atoi(argv[3]);
  int leaked = 0, opened = 0;
  for (int i = 0; i < iterations; i++) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    opened++;
    char buf[32] = {0};
    if (read(fd, buf, sizeof buf - 1) > 0 && strstr(buf, "OUTSIDE-SECRET")) leaked++;
    close(fd);
  }
  printf("OPENED %d\nLEAKED %d\n", opened, leaked);
  return leaked ? 1 : 0;
}
