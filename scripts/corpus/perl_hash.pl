# SPDX-License-Identifier: Apache-2.0
# Recorded corpus: a perl hash. leak: gains RATE KiB/s of 1 KiB strings that are never deleted;
# churn: a 32 MiB working set (built in the first half second) whose entries are replaced at
# RATE KiB/s, old ones deleted (stable); free90: RATE MiB of 100-byte strings built in 3 s, then
# nine keys in ten deleted (the survivors scattered over the heap) and idle (not a leak); cap:
# gains RATE KiB/s of 1 KiB strings like leak, but past 8192 entries (8 MiB) deletes the oldest
# for every new one (a cache under a cap, full at 8192 / RATE s: bounded).
# usage: perl perl_hash.pl leak|churn|free90|cap RATE SECONDS
use strict;
use warnings;
use Time::HiRes qw(time sleep);

my ($mode, $rate, $seconds) = @ARGV;
my %h;
my $t0 = time;
my $n = 0;
if ($mode eq 'churn') {
  $h{$n++} = 'x' x 1000 while $n < 32 * 1024;
}
if ($mode eq 'free90') {
  my $n_all = int($rate * 1024 * 1024 / 180);  # a key, a 100-byte value, the hash entry
  for my $i (0 .. $n_all - 1) {
    $h{$i} = 'z' x 100;
    if ($i % 10000 == 0) {
      my $want = $t0 + 3.0 * $i / $n_all;
      sleep($want - time) if $want > time;
    }
  }
  for my $i (0 .. $n_all - 1) { delete $h{$i} if $i % 10; }
  sleep 0.1 while time - $t0 < $seconds;
  exit 0;
}
my $first = 0;
my $done = 0;
while ((my $t = time - $t0) < $seconds) {
  my $want = int($rate * $t);
  while ($done < $want) {
    $h{$n++} = ('y' x 999) . chr(65 + $done % 26);
    if ($mode eq 'churn' || ($mode eq 'cap' && $n - $first > 8192)) { delete $h{$first++}; }
    $done++;
  }
  sleep 0.02;
}
