// SPDX-License-Identifier: Apache-2.0
// Level stats's injection (private to detectors/attach): load libarenalab_agent.so into a
// running process with ptrace alone and start its sampler, then leave the target exactly as it
// was. Why not gdb, and every step: docs/attach.md ("Level stats: how the agent gets in").
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "arenalab/attach/attach.h"
#include "arenalab/core/result.h"

namespace arenalab::attach::detail {

// A dynamic symbol of an ELF file: st_value of `name` (its default version when versioned)
// and the p_vaddr of the file's first PT_LOAD (the load bias is mapping start - that).
struct ElfSymbol {
  std::uint64_t value = 0;
  std::uint64_t first_load_vaddr = 0;
};
Result<ElfSymbol> elf_dynamic_symbol(const std::string& path, const std::string& name);
// True when the ELF file has a PT_INTERP (dynamically linked); errors name the file.
Result<bool> elf_is_dynamic(const std::string& path);

// The refusals of level stats, checked before anything is touched (one line each): ptrace
// forbidden by Yama or not ours, a statically linked target, another mount namespace, the
// interposer already loaded, a stopped or already traced process, no dlopen in its libc.
Status stats_preflight(pid_t pid, const std::string& agent_path);

// Loads `agent_path` into `pid` and calls arenalab_agent_start(out_dir, interval_ms, t0_ns,
// getpid(), level, sample_bytes) on one of its threads stopped at a safe point; level: 0 stats,
// 1 count, 2 | (dump_every << 8) sample (agent/agent.cc). Every register
// and the extended state are restored, an interrupted syscall restarts, and the thread is detached
// on every path. Errors say whether the target was changed.
Result<Injection> inject_agent(pid_t pid, const std::string& agent_path, const std::string& out_dir,
                               unsigned interval_ms, std::uint64_t t0_ns, int level,
                               std::uint64_t sample_bytes = 0);

}  // namespace arenalab::attach::detail
