// SPDX-License-Identifier: Apache-2.0
// A program with a small, known peak for the cell-peak test: it touches KIB kibibytes of heap
// (the first numeric argument; default 1024; the matrix's --json is ignored) on top of a C
// program's own ~1 MB, so its true peak is ~2 MB. Writes its own VmHWM (the peak of the address
// space exec gave it, kB) to the file named by $MATRIX_PEAK_HWM_FILE, and nothing on stdout.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  size_t kib = 1024;
  for (int i = 1; i < argc; ++i)
    if (argv[i][0] >= '0' && argv[i][0] <= '9') kib = (size_t)strtoul(argv[i], NULL, 10);
  volatile char* block = malloc(kib * 1024);
  if (block == NULL) return 1;
  for (size_t i = 0; i < kib * 1024; i += 4096) block[i] = 1;  // resident, page by page
  const char* out_path = getenv("MATRIX_PEAK_HWM_FILE");
  FILE* status = fopen("/proc/self/status", "r");
  FILE* out = out_path != NULL ? fopen(out_path, "w") : NULL;
  char line[256];
  while (status != NULL && out != NULL && fgets(line, sizeof line, status) != NULL)
    if (strncmp(line, "VmHWM:", 6) == 0) fprintf(out, "%ld\n", strtol(line + 6, NULL, 10));
  if (out != NULL) fclose(out);
  if (status != NULL) fclose(status);
  return block[0] == 1 ? 0 : 1;
}
