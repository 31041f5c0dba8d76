/* Hostile: spins forever without calling the host. Only preemption can stop it. */
int main(void) {
  volatile unsigned long n = 0;
  for (;;) n++;
}
