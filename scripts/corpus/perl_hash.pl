# SPDX-License-Identifier: Apache-2.0
# Recorded corpus: a perl hash. leak: gains RATE KiB/s of 1 KiB strings that are never deleted;
# churn: a 32 MiB working set (built in the first half second) whose entries are replaced at
# RATE KiB/s, old ones deleted (stable). usage: perl perl_hash.pl leak|churn RATE SECONDS
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
my $first = 0;
my $done = 0;
while ((my $t = time - $t0) < $seconds) {
  my $want = int($rate * $t);
  while ($done < $want) {
    $h{$n++} = ('y' x 999) . chr(65 + $done % 26);
    if ($mode eq 'churn') { delete $h{$first++}; }
    $done++;
  }
  sleep 0.02;
}
