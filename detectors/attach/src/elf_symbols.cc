// SPDX-License-Identifier: Apache-2.0
// Just enough of ELF64 (System V gABI, "Symbol Table", and the GNU symbol versioning section
// .gnu.version) to find dlopen in a target's libc and the agent's entry point: .dynsym, its
// string table, the versym of each symbol, and the first PT_LOAD.
#include <elf.h>

#include <cstring>
#include <fstream>
#include <vector>

#include "inject.h"

namespace arenalab::attach::detail {
namespace {

Result<std::vector<char>> read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error("cannot read " + path);
  // One read of the whole file (libc is 2 MB): on a machine busy with the target's own threads
  // a character-wise read took tens of seconds.
  f.seekg(0, std::ios::end);
  const auto size = static_cast<std::size_t>(f.tellg());
  f.seekg(0);
  std::vector<char> data(size);
  if (!f.read(data.data(), static_cast<std::streamsize>(size)))
    return make_error("cannot read " + path);
  if (data.size() < sizeof(Elf64_Ehdr) || std::memcmp(data.data(), ELFMAG, SELFMAG) != 0 ||
      data[EI_CLASS] != ELFCLASS64)
    return make_error(path + ": not a 64-bit ELF file");
  return data;
}

template <class T>
const T* at(const std::vector<char>& d, std::uint64_t off, std::uint64_t count = 1) {
  if (off > d.size() || count > (d.size() - off) / sizeof(T)) return nullptr;
  return reinterpret_cast<const T*>(d.data() + off);
}

}  // namespace

Result<bool> elf_is_dynamic(const std::string& path) {
  auto d = read_all(path);
  if (!d) return d.error();
  const auto* eh = at<Elf64_Ehdr>(*d, 0);
  const auto* ph = at<Elf64_Phdr>(*d, eh->e_phoff, eh->e_phnum);
  if (!ph) return make_error(path + ": program headers out of the file");
  for (int i = 0; i < eh->e_phnum; ++i)
    if (ph[i].p_type == PT_INTERP) return true;
  return false;
}

Result<ElfSymbol> elf_dynamic_symbol(const std::string& path, const std::string& name) {
  auto d = read_all(path);
  if (!d) return d.error();
  const auto* eh = at<Elf64_Ehdr>(*d, 0);
  ElfSymbol out;
  const auto* ph = at<Elf64_Phdr>(*d, eh->e_phoff, eh->e_phnum);
  if (!ph) return make_error(path + ": program headers out of the file");
  bool load = false;
  for (int i = 0; i < eh->e_phnum && !load; ++i)
    if (ph[i].p_type == PT_LOAD) {
      out.first_load_vaddr = ph[i].p_vaddr;
      load = true;
    }
  const auto* sh = at<Elf64_Shdr>(*d, eh->e_shoff, eh->e_shnum);
  if (!load || !sh) return make_error(path + ": no PT_LOAD or no section headers");
  const Elf64_Shdr* dynsym = nullptr;
  const Elf64_Shdr* versym = nullptr;
  for (int i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type == SHT_DYNSYM) dynsym = &sh[i];
    if (sh[i].sh_type == SHT_GNU_versym) versym = &sh[i];
  }
  if (!dynsym || dynsym->sh_link >= eh->e_shnum || dynsym->sh_entsize != sizeof(Elf64_Sym))
    return make_error(path + ": no .dynsym");
  const Elf64_Shdr& strtab = sh[dynsym->sh_link];
  const std::uint64_t n = dynsym->sh_size / sizeof(Elf64_Sym);
  const auto* syms = at<Elf64_Sym>(*d, dynsym->sh_offset, n);
  const auto* vers = versym ? at<Elf64_Half>(*d, versym->sh_offset, n) : nullptr;
  if (!syms) return make_error(path + ": .dynsym out of the file");
  bool found = false;
  for (std::uint64_t i = 0; i < n; ++i) {
    const Elf64_Sym& s = syms[i];
    if (s.st_shndx == SHN_UNDEF || s.st_value == 0 || ELF64_ST_TYPE(s.st_info) != STT_FUNC)
      continue;
    if (s.st_name >= strtab.sh_size || strtab.sh_offset + s.st_name >= d->size()) continue;
    const char* sym = d->data() + strtab.sh_offset + s.st_name;
    if (name != sym) continue;
    // glibc 2.34+ defines dlopen twice (dlopen@@GLIBC_2.34 and the old dlopen@GLIBC_2.2.5);
    // the default one has no hidden bit (0x8000) in its versym.
    const bool hidden = vers && (vers[i] & 0x8000);
    if (found && hidden) continue;
    out.value = s.st_value;
    found = true;
    if (!hidden) break;
  }
  if (!found) return make_error(path + ": no function " + name + " in .dynsym");
  return out;
}

}  // namespace arenalab::attach::detail
