// SPDX-License-Identifier: Apache-2.0
// A library the survival test dlopens with RTLD_DEEPBIND: its malloc/free bind to libc's own
// definitions, bypassing the interposer (run.json must say so; nothing may crash).
#include <stdlib.h>
#include <string.h>

long deepbind_churn(int n) {
  long sum = 0;
  for (int i = 0; i < n; ++i) {
    char* p = malloc(64 + (size_t)i % 512);
    memset(p, 1, 64);
    sum += p[0];
    free(p);
  }
  return sum;
}
