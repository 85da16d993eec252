// SPDX-License-Identifier: Apache-2.0
// Flame graphs of the call sites with no extra tools: folded stacks (the "collapsed" format of
// flamegraph.pl, read by speedscope and inferno) and a self-contained SVG rendering of them
// (no external file: hover a frame for its name, bytes and share; click to zoom, by an inline
// script).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "arenalab/profilers/callsites.h"

namespace arenalab::profilers {

// One line per call site, "outermost;...;caller;site BYTES", frames above the allocator only
// (the site and its callers; "[mmap]" below the program's own mmap sites), sites with no
// bytes left out. No `from`: the live bytes at point `to` of every series; else the growth
// from point `from` to point `to` (sites that shrank are left out: a flame graph has no
// negative widths). Points index the series (the dumps, in time order); no `to`: the last
// point of each series; a series too short for them is left out.
std::string folded_stacks(const std::vector<CallsiteSeries>& sites, std::optional<std::size_t> from,
                          std::optional<std::size_t> to);

// The live bytes of every series at time `t_ms` (ms, the series' clock): each series' last
// point at or before it (a series that starts later held nothing then and is left out).
std::string folded_stacks_at(const std::vector<CallsiteSeries>& sites, double t_ms);

// A frame's name in folded stacks: the function, else Frame::describe(); no ';'.
std::string folded_frame_name(const Frame& frame);

// Renders folded stacks as an SVG flame graph, `title` above it. Frames named in `highlight`
// (folded_frame_name of the leaking sites) are drawn in red, the rest in warm colours hashed
// from the name. Bytes and share in each frame's tooltip; a click on a frame zooms to it (an
// inline script, see kZoomScript in flamegraph.cc).
std::string flamegraph_svg(const std::string& folded, const std::string& title,
                           const std::vector<std::string>& highlight = {});

}  // namespace arenalab::profilers
