/* A program outside the project using the installed libsubq (find_package / pkg-config). */
#include <stdio.h>
#include <subq.h>

int main(int argc, char **argv) {
  if (subq_init(&argc, &argv)) return 1;
  double g = subq_rng_gauss(1, 2, 3);
  printf("subq %s gauss %.6f\n", subq_version(), g);
  subq_finalize();
  return 0;
}
