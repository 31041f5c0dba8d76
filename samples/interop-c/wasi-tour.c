// Interop sample: an ordinary WASI program (C, wasi-libc), built once as a preview1 core module
// and made into a WASI 0.2 component by jco's own `jco new` with its bundled preview1 adapter.
// Tests run both forms and compare everything they produce. It touches args, env, a directory
// listing, reading and writing files, stat, clocks, random and the exit code.
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) printf("arg %d: %s\n", i, argv[i]);
  const char *who = getenv("WHO");
  printf("WHO=%s\n", who ? who : "(unset)");

  DIR *d = opendir("/data");
  if (!d) { perror("opendir /data"); return 2; }
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, n, sizeof *names, cmp);
  for (int i = 0; i < n; i++) printf("entry: %s\n", names[i]);

  FILE *in = fopen("/data/input.txt", "r");
  if (!in) { perror("open input"); return 3; }
  char line[256];
  int lines = 0;
  long sum = 0;
  while (fgets(line, sizeof line, in)) { lines++; sum += atol(line); }
  fclose(in);
  printf("lines=%d sum=%ld\n", lines, sum);

  FILE *out = fopen("/data/out/result.txt", "w");
  if (!out) { perror("open output"); return 4; }
  fprintf(out, "sum=%ld\n", sum);
  fclose(out);
  struct stat st;
  if (stat("/data/out/result.txt", &st) != 0) { perror("stat"); return 5; }
  printf("result size=%lld\n", (long long)st.st_size);

  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  usleep(2000);
  clock_gettime(CLOCK_MONOTONIC, &b);
  long waited_us = (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000;
  printf("slept>=2ms: %s\n", waited_us >= 2000 ? "yes" : "no");
  printf("realtime after 2020: %s\n", time(NULL) > 1577836800 ? "yes" : "no");

  unsigned char r[16] = {0};
  getentropy(r, sizeof r);
  int nonzero = 0;
  for (int i = 0; i < 16; i++) nonzero += r[i] != 0;
  printf("random bytes: %s\n", nonzero > 0 ? "ok" : "all zero");

  FILE *esc = fopen("/data/../../etc/passwd", "r");
  printf("escape: %s\n", esc ? "OPENED" : "refused");
  return 0;
}
