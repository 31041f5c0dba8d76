// Hostile vendor (Rogue Labs): a job that never yields. The vendor's CPU share is exceeded, so its
// sandbox is stopped and the app marked failed; other vendors keep running.
#include <stdio.h>

int main(void) {
  printf("spinning\n");
  fflush(stdout);
  volatile unsigned long n = 0;
  for (;;) n++;
}
