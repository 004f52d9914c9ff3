// A WASI command: prints its arguments to stdout, a note to stderr, exits with the argument count.
#include <stdio.h>

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) printf("%s%s", argv[i], i + 1 < argc ? " " : "\n");
  fprintf(stderr, "%d args\n", argc - 1);
  return argc - 1;
}
