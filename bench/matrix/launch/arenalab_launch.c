// SPDX-License-Identifier: Apache-2.0
// arenalab-launch: starts one matrix cell's program and reports the program's own rusage, so
// arenalab's resident size never shows in a cell's peak (issue 29). A child's ru_maxrss keeps
// the high-water mark of the address space it had before exec (the kernel saves the old mm's
// hiwater into signal->maxrss), and a cell forked from arenalab starts with arenalab's pages.
// This launcher is small and static: its own hiwater (~0.1 MB of our pages) is all a program
// it forks can inherit, and LD_PRELOAD (the interposer, the allocator) passes through it
// unloaded to the program. Plain C, no allocation after the fork, async-signal-safe paths.
//
// Usage: arenalab-launch REPORT_FD PROGRAM [ARGS...]
// Lines written to REPORT_FD (a pipe arenalab made):
//   pid <pid>                                    at once, after the fork
//   exec-error <errno>                           the program could not be executed (exit 127)
//   exit <code> | signal <sig> <core 0|1>        how the program ended
//   rusage <user_us> <sys_us> <maxrss_kb> <minflt> <majflt> <nvcsw> <nivcsw> <wall_us>
// The launcher then ends as the program did (the same exit code, or the same signal raised
// without a core file), so its own wait status says the same even if the report is lost.
// Signals: SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2 sent to the launcher go on to the
// program, except those the terminal sent to the whole process group (the program has them
// already). The program gets SIGKILL when the launcher dies (PR_SET_PDEATHSIG), so arenalab
// killing the launcher (timeout, PDEATHSIG of the matrix) ends the program too.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_target = 0;  // the program's pid, 0 until forked
static const int kForwarded[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2};
enum { kForwardedCount = sizeof kForwarded / sizeof kForwarded[0] };

static void forward(int sig, siginfo_t* info, void* ctx) {
  (void)ctx;
  // SI_KERNEL: the terminal's line discipline sent it to the foreground group, the program
  // included; a second copy would read as "I insist" to some programs.
  if (g_target > 0 && !(info != NULL && info->si_code == SI_KERNEL)) kill(g_target, sig);
}

static void report(int fd, const char* line) {
  size_t left = strlen(line);
  while (left > 0) {
    const ssize_t n = write(fd, line, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // arenalab went away: the exit status still says what happened
    line += n;
    left -= (size_t)n;
  }
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static long long tv_us(struct timeval tv) { return (long long)tv.tv_sec * 1000000LL + tv.tv_usec; }

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: arenalab-launch REPORT_FD PROGRAM [ARGS...]\n");
    return 2;
  }
  char* end = NULL;
  const long fd_arg = strtol(argv[1], &end, 10);
  if (*argv[1] == '\0' || *end != '\0' || fd_arg < 0 || fcntl((int)fd_arg, F_GETFD) < 0) {
    fprintf(stderr, "arenalab-launch: REPORT_FD '%s' is not an open file descriptor\n", argv[1]);
    return 2;
  }
  const int fd = (int)fd_arg;
  fcntl(fd, F_SETFD, FD_CLOEXEC);  // the program never holds the report pipe

  // Forward signals that are not ignored (an ignored one stays ignored, as the shell does, and
  // the program inherits that). Blocked over the fork so none is lost before the pid is known.
  sigset_t forwarded, old_mask;
  sigemptyset(&forwarded);
  for (int i = 0; i < kForwardedCount; ++i) {
    struct sigaction old;
    sigaction(kForwarded[i], NULL, &old);
    if (old.sa_handler == SIG_IGN && !(old.sa_flags & SA_SIGINFO)) continue;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(kForwarded[i], &sa, NULL);  // reset to the default in the program by its exec
    sigaddset(&forwarded, kForwarded[i]);
  }
  sigprocmask(SIG_BLOCK, &forwarded, &old_mask);

  const pid_t launcher = getpid();
  const long long start = now_us();
  const pid_t pid = fork();
  if (pid < 0) {
    char line[64];
    snprintf(line, sizeof line, "exec-error %d\n", errno);
    report(fd, line);
    return 127;
  }
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != launcher) _exit(127);
    execvp(argv[2], argv + 2);
    char line[64];
    snprintf(line, sizeof line, "exec-error %d\n", errno);
    report(fd, line);
    _exit(127);
  }
  g_target = pid;
  sigprocmask(SIG_SETMASK, &old_mask, NULL);
  {
    char line[64];
    snprintf(line, sizeof line, "pid %d\n", (int)pid);
    report(fd, line);
  }

  int status = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  while (wait4(pid, &status, 0, &ru) < 0)
    if (errno != EINTR) return 127;
  const long long wall = now_us() - start;
  g_target = 0;

  char line[256];
  if (WIFSIGNALED(status))
    snprintf(line, sizeof line, "signal %d %d\n", WTERMSIG(status), WCOREDUMP(status) ? 1 : 0);
  else
    snprintf(line, sizeof line, "exit %d\n", WEXITSTATUS(status));
  report(fd, line);
  snprintf(line, sizeof line, "rusage %lld %lld %ld %ld %ld %ld %ld %lld\n", tv_us(ru.ru_utime),
           tv_us(ru.ru_stime), ru.ru_maxrss, ru.ru_minflt, ru.ru_majflt, ru.ru_nvcsw, ru.ru_nivcsw,
           wall);
  report(fd, line);
  close(fd);

  if (WIFSIGNALED(status)) {
    // End by the same signal, without a core file of our own.
    const int sig = WTERMSIG(status);
    const struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    sigprocmask(SIG_UNBLOCK, &one, NULL);
    raise(sig);
    return 128 + sig;
  }
  return WEXITSTATUS(status);
}
