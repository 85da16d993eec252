// SPDX-License-Identifier: Apache-2.0
// The C++ target of level count's tests (stats_test.py count_cxx): every 50 ms it keeps one
// 10,000-byte block from operator new[] and takes blocks in and out through the other forms of
// operator new and delete (nothrow, aligned, sized), printing "<i> <f(i)>" per tick as
// stats_target does. libstdc++'s variants call its plain operator new through its own GOT: a
// new[] counted twice would show as live bytes growing twice as fast as the allocator's books.
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <memory>
#include <new>
#include <vector>

int main() {
  std::vector<std::unique_ptr<char[]>> keep;
  keep.reserve(1 << 16);  // no vector growth mid-run: the kept blocks alone grow
  for (unsigned long i = 0;; ++i) {
    keep.emplace_back(new char[10000]);
    int* t = new (std::nothrow) int[100];
    delete[] t;
    auto* a = static_cast<double*>(::operator new[](64, std::align_val_t(64)));
    ::operator delete[](a, std::align_val_t(64));
    auto* one = new long(7);
    ::operator delete(one, sizeof(long));
    auto* na = static_cast<char*>(::operator new(128, std::align_val_t(32), std::nothrow));
    ::operator delete(na, std::align_val_t(32));
    std::printf("%lu %lu\n", i, (i * i) % 9973);
    std::fflush(stdout);
    usleep(50000);
  }
}
