// SPDX-License-Identifier: Apache-2.0
// Finding this process's own memory cgroup: /proc/self/cgroup names the path inside each
// hierarchy (cgroups(7)), /proc/self/mountinfo says where each hierarchy is mounted and which
// subtree of it the mount shows (proc(5), field 4 "root").
#include <sys/stat.h>

#include <algorithm>
#include <sstream>

#include "arenalab/budget/cgroup.h"
#include "arenalab/core/files.h"

namespace arenalab::budget {
namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? s.npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

struct Mount {
  std::string root;         // the subtree of the hierarchy this mount shows
  std::string mount_point;  // where
  std::string fstype;       // cgroup | cgroup2
  std::vector<std::string> super_options;
};

Result<std::vector<Mount>> parse_mountinfo(std::string_view text) {
  std::vector<Mount> mounts;
  int line_no = 0;
  for (const std::string& line : split(text, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    // id parent major:minor root mount-point options [optional fields...] - fstype source super
    std::vector<std::string> f;
    std::istringstream in(line);
    for (std::string w; in >> w;) f.push_back(w);
    const auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 6 || dash == f.end() || dash - f.begin() < 6 || f.end() - dash < 3)
      return make_error("/proc/self/mountinfo:" + std::to_string(line_no) +
                        ": expected 'id parent dev root mountpoint options ... - fstype source "
                        "options', got '" +
                        line + "'");
    Mount m;
    m.root = unescape_mount_path(f[3]);
    m.mount_point = unescape_mount_path(f[4]);
    m.fstype = *(dash + 1);
    m.super_options = split(*(dash + 3), ',');
    mounts.push_back(std::move(m));
  }
  return mounts;
}

// The directory of cgroup path `path` under the mounts of one hierarchy: the mount whose root
// is the longest prefix of `path` (a container may mount only its own subtree).
std::optional<std::string> map_to_mount(const std::string& path, const std::vector<Mount>& mounts) {
  const Mount* best = nullptr;
  for (const Mount& m : mounts) {
    const bool prefix = m.root == "/" || path == m.root ||
                        (path.size() > m.root.size() &&
                         path.compare(0, m.root.size(), m.root) == 0 && path[m.root.size()] == '/');
    if (prefix && (!best || m.root.size() > best->root.size())) best = &m;
  }
  if (!best) return std::nullopt;
  std::string rest = best->root == "/" ? path : path.substr(best->root.size());
  if (rest == "/") rest.clear();
  return best->mount_point + rest;
}

}  // namespace

const char* version_name(CgroupVersion v) { return v == CgroupVersion::kV2 ? "v2" : "v1"; }

std::string unescape_mount_path(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        std::all_of(s.begin() + static_cast<long>(i) + 1, s.begin() + static_cast<long>(i) + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<OwnCgroups> locate_own_cgroups(std::string_view proc_self_cgroup,
                                      std::string_view proc_self_mountinfo) {
  auto mounts = parse_mountinfo(proc_self_mountinfo);
  if (!mounts) return mounts.error();
  std::vector<Mount> v2_mounts, memory_mounts;
  for (const Mount& m : *mounts) {
    if (m.fstype == "cgroup2") v2_mounts.push_back(m);
    if (m.fstype == "cgroup" && contains(m.super_options, "memory")) memory_mounts.push_back(m);
  }

  OwnCgroups own;
  std::optional<std::string> v2_path, memory_path;
  int line_no = 0;
  for (const std::string& line : split(proc_self_cgroup, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    // hierarchy-id:controller-list:cgroup-path (the path may itself contain ':').
    const std::size_t a = line.find(':');
    const std::size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos || line.size() <= b + 1 || line[b + 1] != '/')
      return make_error("/proc/self/cgroup:" + std::to_string(line_no) +
                        ": expected 'id:controllers:/path', got '" + line + "'");
    const std::string id = line.substr(0, a);
    const std::vector<std::string> controllers = split(line.substr(a + 1, b - a - 1), ',');
    const std::string path = line.substr(b + 1);
    if (id == "0" && b == a + 1) v2_path = path;
    if (contains(controllers, "memory")) memory_path = path;
  }

  auto place = [&](const std::optional<std::string>& path, const std::vector<Mount>& ms,
                   const char* what, std::optional<std::string>& dir) {
    if (!path) {
      own.notes.push_back(std::string("this process is in no ") + what + " (/proc/self/cgroup)");
      return;
    }
    if (path->rfind("/..", 0) == 0) {
      own.notes.push_back(std::string("own ") + what + " '" + *path +
                          "' lies outside this cgroup namespace");
      return;
    }
    if (ms.empty()) {
      own.notes.push_back(std::string(what) + " is not mounted (/proc/self/mountinfo)");
      return;
    }
    dir = map_to_mount(*path, ms);
    if (!dir)
      own.notes.push_back(std::string("own ") + what + " '" + *path +
                          "' is not visible under any mount of it");
  };
  place(v2_path, v2_mounts, "cgroup v2 hierarchy", own.v2_dir);
  place(memory_path, memory_mounts, "cgroup v1 memory hierarchy", own.v1_memory_dir);
  return own;
}

Result<MemoryParent> choose_memory_parent(const OwnCgroups& own, FileReader read) {
  std::vector<std::string> why = own.notes;
  auto words = [](const std::optional<std::string>& text) {
    std::vector<std::string> out;
    if (!text) return out;
    std::istringstream in(*text);
    for (std::string w; in >> w;) out.push_back(w);
    return out;
  };
  if (own.v2_dir) {
    const auto controllers = read(*own.v2_dir + "/cgroup.controllers");
    const auto subtree = read(*own.v2_dir + "/cgroup.subtree_control");
    if (contains(words(subtree), "memory")) return MemoryParent{CgroupVersion::kV2, *own.v2_dir};
    if (!controllers)
      why.push_back("cannot read " + *own.v2_dir + "/cgroup.controllers");
    else if (!contains(words(controllers), "memory"))
      why.push_back(
          "cgroup v2 at " + *own.v2_dir + " has no memory controller (cgroup.controllers: '" +
          (words(controllers).empty() ? std::string() : *controllers) + "'; it is bound to v1)");
    else
      why.push_back("cgroup v2 at " + *own.v2_dir +
                    ": memory is not enabled for child groups (cgroup.subtree_control), and "
                    "arenalab does not change a group it did not create");
  }
  if (own.v1_memory_dir) {
    if (read(*own.v1_memory_dir + "/memory.limit_in_bytes"))
      return MemoryParent{CgroupVersion::kV1, *own.v1_memory_dir};
    why.push_back("cannot read " + *own.v1_memory_dir + "/memory.limit_in_bytes");
  }
  std::string msg = "no usable memory cgroup";
  for (std::size_t i = 0; i < why.size(); ++i) msg += (i == 0 ? ": " : "; ") + why[i];
  return make_error(msg);
}

Result<MemoryParent> discover_memory_parent() {
  auto cg = read_file("/proc/self/cgroup");
  if (!cg) return cg.error();
  auto mi = read_file("/proc/self/mountinfo");
  if (!mi) return mi.error();
  auto own = locate_own_cgroups(*cg, *mi);
  if (!own) return own.error();
  return choose_memory_parent(*own, [](const std::string& path) -> std::optional<std::string> {
    auto r = read_file(path);
    if (!r) return std::nullopt;
    return std::move(r.value());
  });
}

}  // namespace arenalab::budget
