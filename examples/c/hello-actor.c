// A Tessera actor in C (wasm32-wasi reactor): printf goes to the logs through the deterministic
// WASI subset; the reply goes through the tessera ABI.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tessera.h"

__attribute__((export_name("handle"))) void handle(void) {
  int n = tessera_input_size();
  char *in = malloc(n + 1);
  tessera_input_read(in);
  in[n] = 0;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  unsigned char r[4];
  arc4random_buf(r, sizeof r);
  printf("hello from C, input=%s time=%lld\n", in, (long long)ts.tv_sec);
  fflush(stdout);
  char out[256];
  int len = snprintf(out, sizeof out, "C says hi to %s (random %02x%02x%02x%02x)", in, r[0], r[1], r[2], r[3]);
  tessera_reply(out, len);
  free(in);
}
