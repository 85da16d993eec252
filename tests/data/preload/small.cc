// SPDX-License-Identifier: Apache-2.0
// A small C++ file g++ compiles under the interposer (real-programs test).
#include <cstdio>
template <int N>
struct Fib {
  static constexpr long value = Fib<N - 1>::value + Fib<N - 2>::value;
};
template <>
struct Fib<1> {
  static constexpr long value = 1;
};
template <>
struct Fib<0> {
  static constexpr long value = 0;
};
int main() {
  std::printf("%ld\n", Fib<60>::value);
  return 0;
}
