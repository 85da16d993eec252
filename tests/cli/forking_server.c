// SPDX-License-Identifier: Apache-2.0
// A pre-forking TCP server, as nginx or apache prefork run: the parent listens on 127.0.0.1
// (an ephemeral port), forks WORKERS workers that accept on the shared socket, and waits for
// them. With "leak" each request keeps 256 KiB in the worker that served it; with "fixed" it is
// freed. Workers stop after SECONDS (accept times out every 100 ms to look at the clock).
// Prints "port N" and then "workers PID..." on stdout. usage: forking_server leak|fixed WORKERS
// SECONDS
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void serve(int listener, int leak, double until) {
  enum { kRequest = 256 * 1024 };
  while (now_s() < until) {
    int c = accept(listener, NULL, NULL);
    if (c < 0) continue;  // the 100 ms timeout, or an interrupted accept
    char line[64];
    ssize_t n = read(c, line, sizeof line);
    char* block = malloc(kRequest);
    if (block) {
      memset(block, n > 0 ? line[0] : 'x', kRequest);  // touch the pages
      if (!leak) free(block);
    }
    static const char ok[] = "ok\n";
    if (write(c, ok, sizeof ok - 1) < 0) perror("write");
    close(c);
  }
}

int main(int argc, char** argv) {
  if (argc != 4 || (strcmp(argv[1], "leak") != 0 && strcmp(argv[1], "fixed") != 0)) {
    fprintf(stderr, "usage: %s leak|fixed WORKERS SECONDS\n", argv[0]);
    return 2;
  }
  const int leak = strcmp(argv[1], "leak") == 0;
  const int workers = atoi(argv[2]);
  const double until = now_s() + atof(argv[3]);
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  struct timeval timeout = {.tv_sec = 0, .tv_usec = 100000};
  if (listener < 0 || bind(listener, (struct sockaddr*)&a, sizeof a) != 0 ||
      listen(listener, 64) != 0 || getsockname(listener, (struct sockaddr*)&a, &len) != 0 ||
      setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0) {
    perror("forking_server: listen on 127.0.0.1");
    return 1;
  }
  printf("port %d\n", ntohs(a.sin_port));
  fflush(stdout);
  pid_t pids[64];
  int started = 0;
  for (; started < workers && started < 64; ++started) {
    pids[started] = fork();
    if (pids[started] < 0) {
      perror("fork");
      break;
    }
    if (pids[started] == 0) {
      serve(listener, leak, until);
      _exit(0);
    }
  }
  printf("workers");
  for (int i = 0; i < started; ++i) printf(" %d", (int)pids[i]);
  printf("\n");
  fflush(stdout);
  int status = 0, failed = 0;
  for (int i = 0; i < started; ++i)
    if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      failed = 1;
  close(listener);
  return failed || started != workers;
}
