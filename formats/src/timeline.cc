// SPDX-License-Identifier: Apache-2.0
// timeline.jsonl reading (a fast path for canonical sample lines, nlohmann::json for the rest),
// streaming, following a growing file, and writing.
#include "arenalab/formats/timeline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <string_view>

#include "arenalab/core/lines.h"
#include "arenalab/core/text.h"
#include "arenalab/formats/json.h"

namespace arenalab::timeline {
using formats::put;
using nlohmann::json;

namespace {

// A figure that is present must be a finite number; absent (or null) stays empty.
Opt opt_number(const json& obj, const char* key, const char* where) {
  if (!obj.is_object()) return std::nullopt;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_number())
    throw formats::FormatError(std::string(where) + key + ": expected a number, found " +
                               formats::describe_type(*it));
  return it->get<double>();
}

// Byte figures are counts of bytes: >= 0 and at most 2^64 (what a 64-bit counter can hold).
constexpr double kMaxBytes = 18446744073709551616.0;
// Times: up to 1e15 ms (31,000 years) since the target started.
constexpr double kMaxTimeMs = 1e15;
// The smallest step between two sample times that means anything: 1 ns, the resolution of the
// clocks the samplers read (the interposer writes whole microseconds). Smaller non-zero steps
// are not measurements, and make every rate per second overflow (issue 21: t_ms = i x 1e-300).
constexpr double kMinStepMs = 1e-6;

Opt opt_bytes(const json& obj, const char* key, const char* where) {
  Opt v = opt_number(obj, key, where);
  if (v && !(*v >= 0 && *v <= kMaxBytes))
    throw formats::FormatError(std::string(where) + key +
                               ": expected a byte count in [0, 2^64], found " +
                               formats::number_text(*v));
  return v;
}

// The fast path of parse_sample: the canonical line the interposer and sample_line() write
// (no whitespace, plain keys, numbers, null, true/false, "alloc" and "gauges" objects). It
// accepts only lines the general parser below accepts and fills the same Sample (numbers go
// through std::from_chars on the same JSON token, correctly rounded like the strtod nlohmann
// uses); anything else - whitespace, escapes, a duplicate key, a negative number, a figure out
// of range, a string value - returns false and the general parser decides, with its messages.
// Why: nlohmann's DOM costs ~3 us a line, the whole of `classify` on a week of samples.
class FastLine {
 public:
  explicit FastLine(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool parse(Sample& out) {
    if (!eat('{')) return false;
    std::uint32_t seen = 0;
    bool have_t = false;
    if (peek() == '}') return false;  // no t_ms
    for (;;) {
      std::string_view key;
      if (!string(key) || !eat(':')) return false;
      const int k = top_key(key);
      if (k >= 0) {
        if (seen & (1u << k)) return false;  // duplicate: let the general parser decide
        seen |= 1u << k;
      }
      if (k >= 0 && kKeys[k].bytes) {  // a figure in bytes (or a count)
        if (!bytes(out.*kKeys[k].bytes)) return false;
      } else {
        switch (k) {
          case 0: {  // t_ms
            double t;
            if (!number(t) || !(t >= 0 && t <= kMaxTimeMs)) return false;
            out.t_ms = t, have_t = true;
            break;
          }
          case 7:  // alloc
            if (!alloc(out)) return false;
            break;
          case 8:  // gauges
            if (!gauges(out)) return false;
            break;
          case 9:  // after_purge
            if (literal("true"))
              out.after_purge = true;
            else if (literal("false"))
              out.after_purge = false;
            else
              return false;
            break;
          default:  // a key the reader ignores: only a scalar is skipped here
            if (!skip_scalar()) return false;
        }
      }
      if (eat(',')) continue;
      if (!eat('}')) return false;
      break;
    }
    return have_t && p_ == end_;
  }

 private:
  // The keys the fast path knows; a figure in bytes (or a count) names its Sample member.
  struct Key {
    std::string_view name;
    Opt Sample::*bytes;
  };
  static constexpr Key kKeys[] = {{"t_ms", nullptr},
                                  {"rss", &Sample::rss},
                                  {"rss_anon", &Sample::rss_anon},
                                  {"live_bytes", &Sample::live_bytes},
                                  {"live_allocs", &Sample::live_allocs},
                                  {"mmap_bytes", &Sample::mmap_bytes},
                                  {"mmap_reserved_bytes", &Sample::mmap_reserved_bytes},
                                  {"alloc", nullptr},
                                  {"gauges", nullptr},
                                  {"after_purge", nullptr},
                                  {"rss_file", &Sample::rss_file},
                                  {"rss_shmem", &Sample::rss_shmem},
                                  {"vm_size", &Sample::vm_size}};
  static int top_key(std::string_view k) {
    for (int i = 0; i < static_cast<int>(std::size(kKeys)); ++i)
      if (k == kKeys[i].name) return i;
    return -1;
  }
  char peek() const { return p_ < end_ ? *p_ : '\0'; }
  bool eat(char c) {
    if (p_ < end_ && *p_ == c) return ++p_, true;
    return false;
  }
  bool literal(std::string_view w) {
    if (static_cast<std::size_t>(end_ - p_) < w.size() || std::string_view(p_, w.size()) != w)
      return false;
    p_ += w.size();
    return true;
  }
  // A key without escapes or control characters.
  bool string(std::string_view& out) {
    if (!eat('"')) return false;
    const char* b = p_;
    while (p_ < end_ && *p_ != '"') {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++p_;
    }
    if (p_ == end_) return false;
    out = std::string_view(b, static_cast<std::size_t>(p_ - b));
    ++p_;
    return true;
  }
  // A JSON number that is not negative (-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)? without the '-').
  bool number(double& v) {
    const char* b = p_;
    auto digits = [&] {
      const char* d = p_;
      while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      return p_ > d;
    };
    if (peek() == '0') {
      ++p_;
    } else if (!digits()) {
      return false;
    }
    if (eat('.') && !digits()) return false;
    if (peek() == 'e' || peek() == 'E') {
      ++p_;
      if (!eat('+')) eat('-');
      if (!digits()) return false;
    }
    const auto r = std::from_chars(b, p_, v);
    return r.ec == std::errc() && r.ptr == p_ && std::isfinite(v);
  }
  bool bytes(Opt& out) {
    if (literal("null")) return out.reset(), true;
    double v;
    if (!number(v) || !(v >= 0 && v <= kMaxBytes)) return false;
    out = v;
    return true;
  }
  bool skip_scalar() {
    double v;
    return literal("null") || literal("true") || literal("false") || number(v);
  }
  bool alloc(Sample& out) {
    if (literal("null")) return true;
    if (!eat('{')) return false;
    if (eat('}')) return true;
    std::uint32_t seen = 0;
    for (;;) {
      std::string_view key;
      if (!string(key) || !eat(':')) return false;
      static constexpr std::string_view kAlloc[] = {"allocated", "active", "resident", "mapped",
                                                    "retained"};
      Opt* const dsts[] = {&out.allocated, &out.active, &out.resident, &out.mapped, &out.retained};
      int k = -1;
      for (int i = 0; i < 5; ++i)
        if (key == kAlloc[i]) k = i;
      Opt* dst = k >= 0 ? dsts[k] : nullptr;
      if (dst) {
        if (seen & (1u << k)) return false;
        seen |= 1u << k;
        if (!bytes(*dst)) return false;
      } else if (!skip_scalar()) {
        return false;
      }
      if (eat(',')) continue;
      return eat('}');
    }
  }
  bool gauges(Sample& out) {
    if (literal("null")) return true;
    if (!eat('{')) return false;
    if (eat('}')) return true;
    for (;;) {
      std::string_view key;
      double v;
      if (!string(key) || !eat(':')) return false;
      if (literal("null")) {
        // absent
      } else if (number(v)) {
        if (!out.gauges.emplace(std::string(key), v).second) return false;
      } else {
        return false;
      }
      if (eat(',')) continue;
      return eat('}');
    }
  }

  const char* p_;
  const char* end_;
};

}  // namespace

Result<Sample> parse_sample(const std::string& line) {
  {
    Sample s;
    if (FastLine(line).parse(s)) return s;
  }
  json j;
  try {
    j = json::parse(line);
  } catch (const json::exception& e) {
    return make_error(std::string("not valid JSON: ") + printable(e.what()));
  }
  if (!j.is_object() || !j.contains("t_ms") || !j["t_ms"].is_number())
    return make_error("expected a sample object with a numeric \"t_ms\"");
  const double t = j["t_ms"].get<double>();
  if (!(t >= 0 && t <= kMaxTimeMs))
    return make_error("t_ms: expected a time in [0, 1e15] ms, found " + formats::number_text(t));
  Sample s;
  s.t_ms = t;
  try {
    s.rss = opt_bytes(j, "rss", "");
    s.rss_anon = opt_bytes(j, "rss_anon", "");
    s.rss_file = opt_bytes(j, "rss_file", "");
    s.rss_shmem = opt_bytes(j, "rss_shmem", "");
    s.vm_size = opt_bytes(j, "vm_size", "");
    s.live_bytes = opt_bytes(j, "live_bytes", "");
    s.live_allocs = opt_bytes(j, "live_allocs", "");
    s.mmap_bytes = opt_bytes(j, "mmap_bytes", "");
    s.mmap_reserved_bytes = opt_bytes(j, "mmap_reserved_bytes", "");
    if (j.contains("alloc") && !j["alloc"].is_null()) {
      const json& a = j["alloc"];
      if (!a.is_object())
        return make_error("alloc: expected an object, found " + formats::describe_type(a));
      s.allocated = opt_bytes(a, "allocated", "alloc.");
      s.active = opt_bytes(a, "active", "alloc.");
      s.resident = opt_bytes(a, "resident", "alloc.");
      s.mapped = opt_bytes(a, "mapped", "alloc.");
      s.retained = opt_bytes(a, "retained", "alloc.");
    }
    if (j.contains("gauges") && j["gauges"].is_object())
      for (const auto& [k, v] : j["gauges"].items())
        if (auto g = opt_number(j["gauges"], k.c_str(), "gauges.")) s.gauges[k] = *g;
    if (j.contains("after_purge")) {
      if (!j["after_purge"].is_boolean())
        return make_error("after_purge: expected true or false, found " +
                          formats::describe_type(j["after_purge"]));
      s.after_purge = j["after_purge"].get<bool>();
    }
  } catch (const formats::FormatError& e) {
    return make_error(printable(e.what()));
  }
  return s;
}

// A compressed file starts with its format's magic bytes: a timeline kept compressed (the
// recorded corpus is LABEL__NAME__ALLOCATOR.jsonl.zst) is named as such, with the command that
// reads it, not as a header that is not JSON (the parser's "invalid literal; last read: '('"
// is zstd's first byte).
namespace {
std::optional<std::string> compressed_as(const std::string& line) {
  static const struct {
    std::string_view magic, name, decompress;
  } kinds[] = {{std::string_view("\x28\xb5\x2f\xfd", 4), "zstd", "zstd -d"},
               {std::string_view("\x1f\x8b", 2), "gzip", "gzip -d"},
               {std::string_view("\xfd\x37\x7a\x58\x5a\x00", 6), "xz", "xz -d"},
               {std::string_view("BZh", 3), "bzip2", "bzip2 -d"}};
  for (const auto& k : kinds)
    if (line.size() >= k.magic.size() &&
        std::string_view(line).substr(0, k.magic.size()) == k.magic)
      return std::string(k.name) + "-compressed, not a timeline.jsonl: decompress it first (" +
             std::string(k.decompress) + " -k FILE)";
  return std::nullopt;
}
}  // namespace

// The header line, checked field by field (a wrong type names the field, never a bare
// json exception).
Result<Header> parse_header(const std::string& line) {
  if (auto c = compressed_as(line)) return make_error(*c);
  json h;
  try {
    h = json::parse(line);
  } catch (const json::exception& e) {
    return make_error("header is not valid JSON: " + printable(e.what()));
  }
  if (!h.is_object() || !h.contains("schema") || h["schema"] != "arenalab.timeline/1")
    return make_error("expected a header with \"schema\": \"arenalab.timeline/1\"");
  Header out;
  try {
    const formats::Obj o(h, "");
    out.schema = o.str("schema");
    out.pid = o.opt_integer("pid", 0, std::numeric_limits<std::int64_t>::max()).value_or(0);
    out.command = o.strings("command");
    if (const auto a = o.opt_obj("allocator")) {
      out.allocator.name = a->str_or("name");
      out.allocator.backend = formats::backend_field(*a, "backend");
      out.allocator.library = a->str_or("library");
      out.allocator.version = a->str_or("version");
      out.allocator.verified = a->bool_or("verified", false);
    }
    out.mode = o.str_or("mode");
    out.interval_ms = o.opt_num("interval_ms", 0).value_or(0);
    if (const auto hi = o.opt_obj("history")) {
      History h;
      h.until_ms = hi->num("until_ms", 0, kMaxTimeMs);
      h.block_ms = hi->num("block_ms", kMinStepMs, kMaxTimeMs);
      h.samples = static_cast<std::uint64_t>(
          hi->opt_integer("samples", 0, std::numeric_limits<std::int64_t>::max()).value_or(0));
      h.rolls = static_cast<std::uint64_t>(
          hi->opt_integer("rolls", 0, std::numeric_limits<std::int64_t>::max()).value_or(0));
      out.history = h;
    }
  } catch (const formats::FormatError& e) {
    return make_error(printable(e.what()));
  }
  return out;
}

Result<bool> scan_timeline(const std::string& path, const std::function<void(Header&&)>& on_header,
                           const std::function<void(Sample&&)>& on_sample) {
  const std::string file = printable(path);
  auto in = LineReader::open(path);
  if (!in) {  // "cannot read P: why" (a missing file, a FIFO, ...) said as "cannot read timeline P:
              // why"
    std::string m = in.error().message;
    if (m.rfind("cannot read ", 0) == 0) m.insert(12, "timeline ");
    return make_error(m);
  }
  std::string line;
  auto got = in->next(line);
  if (!got) return got.error();
  if (!*got || line.empty()) return make_error(file + ": empty, expected a header line");
  auto header = parse_header(line);
  if (!header) return make_error(file + ":1: " + header.error().message);
  on_header(std::move(*header));
  // One line of look-ahead: only the very last line may be cut short by a kill.
  std::string next;
  got = in->next(line);
  if (!got) return got.error();
  bool have = *got;
  bool any = false;
  double prev = 0;  // the previous sample's time (purge probe included), ms
  while (have) {
    const std::size_t this_line = in->line_number();
    auto more = in->next(next);
    if (!more) return more.error();
    if (!line.empty()) {
      auto s = parse_sample(line);
      if (!s) {
        // Only the very last line may be cut short by a kill: then it is not JSON at all and
        // has no newline. A whole last line that is damaged is said, as any other line.
        if (!*more && in->last_unterminated() && s.error().message.rfind("not valid JSON", 0) == 0)
          return true;
        return make_error(file + ":" + std::to_string(this_line) + ": " + s.error().message);
      }
      if (any) {
        // One sampler writes the samples in time order: a step back is a damaged file.
        if (s->t_ms < prev)
          return make_error(file + ":" + std::to_string(this_line) +
                            ": t_ms: expected a time >= " + formats::number_text(prev) +
                            " ms (the previous sample's), found " + formats::number_text(s->t_ms));
        if (s->t_ms > prev && s->t_ms - prev < kMinStepMs)
          return make_error(file + ":" + std::to_string(this_line) + ": t_ms: expected " +
                            formats::number_text(prev) +
                            " ms (the previous sample's) or at least " +
                            "1e-06 ms (1 ns) later, found " + formats::number_text(s->t_ms) +
                            ": a window this short gives no rate");
      }
      // The order check compares with the previous kept sample (the probe is not one).
      if (!s->after_purge) any = true, prev = s->t_ms;
      on_sample(std::move(*s));
    }
    line.swap(next);
    have = *more;
  }
  return false;
}

Result<Timeline> read_timeline(const std::string& path) {
  Timeline tl;
  auto cut = scan_timeline(
      path, [&](Header&& h) { tl.header = std::move(h); },
      [&](Sample&& s) {
        if (s.after_purge)
          tl.after_purge = std::move(s);
        else
          tl.samples.push_back(std::move(s));
      });
  if (!cut) return cut.error();
  tl.truncated = *cut;
  return tl;
}

TimelineTail::~TimelineTail() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t TimelineTail::poll(const std::function<void(Sample&&)>& on_sample,
                               const std::function<void()>& on_replaced) {
  struct stat st {};
  // lstat and O_NOFOLLOW | O_NONBLOCK: the path is in a directory the traced processes write
  // to; a link or a FIFO put under a timeline's name is never followed or opened to block on.
  if (fd_ >= 0 && ::lstat(path_.c_str(), &st) == 0 &&
      (static_cast<std::uint64_t>(st.st_dev) != dev_ ||
       static_cast<std::uint64_t>(st.st_ino) != ino_)) {
    // Another file under the path: what is left unread of the old one belonged to an image
    // that is gone; the new one is read from its start.
    ::close(fd_);
    fd_ = -1;
    offset_ = 0;
    partial_.clear();
    header_.reset();
    if (on_replaced) on_replaced();
  }
  if (fd_ < 0) {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    if (fd_ < 0) return 0;  // not written yet (or a link: never read)
    if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd_);  // a FIFO, a device: not a timeline
      fd_ = -1;
      return 0;
    }
    dev_ = static_cast<std::uint64_t>(st.st_dev);
    ino_ = static_cast<std::uint64_t>(st.st_ino);
  }
  std::size_t n = 0;
  char buf[1 << 16];
  for (;;) {
    const ssize_t got = ::pread(fd_, buf, sizeof buf, static_cast<off_t>(offset_));
    if (got <= 0) break;  // nothing new (or a read error: tried again next time)
    offset_ += static_cast<std::uint64_t>(got);
    std::string_view chunk(buf, static_cast<std::size_t>(got));
    while (!chunk.empty()) {
      const std::size_t nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        // A line longer than any sample line is not one: dropped, in bounded memory.
        if (partial_.size() + chunk.size() <= kMaxLineBytes)
          partial_.append(chunk);
        else
          partial_.assign("\x01");  // never parses: the rest of this line is skipped
        break;
      }
      partial_.append(chunk.substr(0, nl));
      chunk.remove_prefix(nl + 1);
      if (!header_) {
        if (auto h = parse_header(partial_)) header_ = std::move(*h);
      } else if (!partial_.empty()) {
        if (auto s = parse_sample(partial_)) on_sample(std::move(*s)), ++n;
      }
      partial_.clear();
    }
  }
  return n;
}

std::string header_line(const Header& h) {
  json j = {{"schema", "arenalab.timeline/1"},
            {"pid", h.pid},
            {"command", h.command},
            {"allocator",
             {{"name", h.allocator.name},
              {"backend", formats::backend_name(h.allocator.backend)},
              {"library", h.allocator.library},
              {"version", h.allocator.version},
              {"verified", h.allocator.verified}}},
            {"mode", h.mode},
            {"interval_ms", h.interval_ms}};
  if (h.history)
    j["history"] = {{"until_ms", h.history->until_ms},
                    {"block_ms", h.history->block_ms},
                    {"samples", h.history->samples},
                    {"rolls", h.history->rolls}};
  return j.dump();
}

std::string sample_line(const Sample& s) {
  json j = {{"t_ms", s.t_ms}};
  put(j, "rss", s.rss);
  put(j, "rss_anon", s.rss_anon);
  put(j, "rss_file", s.rss_file);
  put(j, "rss_shmem", s.rss_shmem);
  put(j, "vm_size", s.vm_size);
  put(j, "live_bytes", s.live_bytes);
  put(j, "live_allocs", s.live_allocs);
  put(j, "mmap_bytes", s.mmap_bytes);
  put(j, "mmap_reserved_bytes", s.mmap_reserved_bytes);
  json a = json::object();
  put(a, "allocated", s.allocated);
  put(a, "active", s.active);
  put(a, "resident", s.resident);
  put(a, "mapped", s.mapped);
  put(a, "retained", s.retained);
  if (!a.empty()) j["alloc"] = a;
  if (!s.gauges.empty()) j["gauges"] = s.gauges;
  if (s.after_purge) j["after_purge"] = true;
  return j.dump();
}

Series series(const Timeline& tl, const std::string& signal) {
  Series out;
  const bool gauge = signal.rfind("gauge:", 0) == 0;
  const std::string gauge_name = gauge ? signal.substr(6) : "";
  for (const auto& s : tl.samples) {
    Opt v;
    if (gauge) {
      auto it = s.gauges.find(gauge_name);
      if (it != s.gauges.end()) v = it->second;
    } else if (signal == "rss") {
      v = s.rss;
    } else if (signal == "rss_anon") {
      v = s.rss_anon;
    } else if (signal == "rss_file") {
      v = s.rss_file;
    } else if (signal == "rss_shmem") {
      v = s.rss_shmem;
    } else if (signal == "vm_size") {
      v = s.vm_size;
    } else if (signal == "live_bytes") {
      v = s.live_bytes;
    } else if (signal == "live_allocs") {
      v = s.live_allocs;
    } else if (signal == "mmap_bytes") {
      v = s.mmap_bytes;
    } else if (signal == "mmap_reserved_bytes") {
      v = s.mmap_reserved_bytes;
    } else if (signal == "allocated") {
      v = s.allocated;
    } else if (signal == "active") {
      v = s.active;
    } else if (signal == "resident") {
      v = s.resident;
    } else if (signal == "mapped") {
      v = s.mapped;
    } else if (signal == "retained") {
      v = s.retained;
    }
    if (v) {
      out.t_ms.push_back(s.t_ms);
      out.value.push_back(*v);
    }
  }
  return out;
}

}  // namespace arenalab::timeline
