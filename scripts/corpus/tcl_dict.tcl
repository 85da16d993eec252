# SPDX-License-Identifier: Apache-2.0
# tclsh patterns whose verdict is known by construction (tests/data/regressions/README.md).
# usage: tclsh tcl_dict.tcl MODE SECONDS [ARG]
#   grow RATE: a dict of 1 KiB strings keyed by request id, never unset: RATE B/s (leak)
#   lru CAP: the same dict, the oldest key unset once it holds CAP keys (bounded)
lassign $argv mode secs arg
if {$arg eq ""} {set arg 0}
set end [expr {[clock milliseconds] + int($secs * 1000)}]
set d [dict create]
set id 0
set old 0
set per [expr {$mode eq "grow" ? max(1, $arg / 10240) : 400}]
while {[clock milliseconds] < $end} {
    for {set i 0} {$i < $per} {incr i} {
        dict set d $id [string repeat [format %08d $id] 128]
        incr id
        if {$mode eq "lru" && [dict size $d] > $arg} {
            dict unset d $old
            incr old
        }
    }
    set junk {}
    for {set i 0} {$i < 200} {incr i} {lappend junk [string repeat y [expr {100 + $i}]]}
    after 100
}
