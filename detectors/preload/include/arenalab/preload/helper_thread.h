// SPDX-License-Identifier: Apache-2.0
// Starting a helper thread inside someone else's process, as the interposer's sampler and the
// attach agent's both do: detached, and deaf to the program's signals. Header-only, no
// allocation of ours, no exceptions: usable from injected code.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <cstddef>

namespace arenalab::preload {

// Starts fn(nullptr) on a detached thread with a stack of stack_bytes. Every signal is blocked
// around pthread_create and the thread inherits that mask, so the program's signals are never
// delivered to it; the caller's mask is restored before returning. Returns pthread_create's
// result (0 started, else an errno value).
// glibc places the program's static TLS (every __thread variable of the executable and of the
// libraries loaded at start) in each thread's stack and refuses a stack that cannot hold it
// with EINVAL: a program with 512 KiB of __thread data got no sampler thread at 256 KiB, and its
// timeline only the first and the last sample. The stack is doubled until it holds it.
inline int start_helper_thread(void* (*fn)(void*), std::size_t stack_bytes = 256 * 1024) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  int rc = EINVAL;
  for (std::size_t s = stack_bytes; rc == EINVAL && s <= (std::size_t{1} << 30); s *= 2) {
    if (pthread_attr_setstacksize(&attr, s) != 0) break;
    rc = pthread_create(&th, &attr, fn, nullptr);
  }
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return rc;
}

}  // namespace arenalab::preload
