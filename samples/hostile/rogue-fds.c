// Hostile vendor sample: hoards host file descriptors. The sandboxes of all vendors live in one
// process and share its fd table, so a guest that could open files without limit would leave the
// daemon and every other vendor unable to open anything (EMFILE).
//   hoard N SECONDS   opens /data N times (stopping at the first refusal), says how many it holds
//                     and why it stopped, then keeps them open for SECONDS.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[1], "hoard") != 0) {
    printf("usage: hoard N SECONDS\n");
    return 2;
  }
  int want = atoi(argv[2]), held = 0;
  const char *why = "asked count reached";
  for (; held < want; held++) {
    if (open("/data", O_RDONLY | O_DIRECTORY) < 0) {
      why = strerror(errno);
      break;
    }
  }
  printf("hoard: %d open (%s)\n", held, why);
  fflush(stdout);
  sleep(atoi(argv[3]));
  printf("hoard: done\n");
  return 0;
}
