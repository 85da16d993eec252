// SPDX-License-Identifier: Apache-2.0
// The /metrics endpoint of arenalab run|watch --metrics: gauges set at each runner tick from what
// the timeline gained since the last one (LiveSignals: a tick costs what one interval wrote,
// however long the run). Names follow Prometheus' conventions (prometheus.io/docs/practices/
// naming): base units, _bytes, a ratio for 0..1. The endpoint itself (prometheus-cpp's Exposer,
// civetweb) is in libarenalab_fleet_net.so, loaded when an Exporter starts (net/net_api.h).
#include "arenalab/fleet/exporter.h"

#include <array>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>

#include "arenalab/analysis/timeline_signals.h"
#include "arenalab/analysis/verdict_json.h"
#include "arenalab/core/live_pace.h"
#include "net/net_api.h"

namespace arenalab::fleet {

struct Exporter::Impl {
  std::unique_ptr<net::Exposition> exposition;
  std::string command, allocator;
  std::mutex mu;  // update() may come from any thread; series are added lazily
  pid_t pid = 0;
  std::map<std::string, net::Gauge*> gauges;  // "family\0label" -> series
  // update_from's reader of the timeline it follows (made again if the path changes).
  std::unique_ptr<analysis::LiveSignals> tail;
  std::string tail_path;
  // update_from's classification, paced by its own CPU like watch's live line (LivePace; and
  // by classify_every's period when given): the sample gauges follow every tick, the verdict
  // is the last one made. A tick is every 500 ms
  // and a classification whose signals go to the knee selection's bootstrap costs ~0.5 s
  // (detectors/analysis/README.md, "The knee's selection"): unpaced, nearly a core.
  LivePace pace{0};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::optional<analysis::Classification> verdict;
  std::uint64_t classifications = 0;  // how many `verdict` has been: Latest::classification

  // Every gauge from the last sample (none: only the verdict's), the verdict from `c`, and the
  // count of samples. The caller holds mu.
  void set(pid_t pid_now, const timeline::Sample* last, std::size_t samples,
           const analysis::Classification& c);

  net::Gauge& gauge(const std::string& name, const std::string& help,
                    const std::map<std::string, std::string>& extra = {}) {
    std::string key = name;
    for (const auto& [k, v] : extra) key += '\0' + k + '=' + v;
    auto it = gauges.find(key);
    if (it != gauges.end()) return *it->second;
    std::map<std::string, std::string> labels = {
        {"pid", std::to_string(pid)}, {"command", command}, {"allocator", allocator}};
    for (const auto& [k, v] : extra) labels[k] = v;
    auto& g = exposition->gauge(name, help, labels);
    gauges[key] = &g;
    return g;
  }
};

Exporter::Exporter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Exporter::~Exporter() = default;

Result<std::unique_ptr<Exporter>> Exporter::start(const std::string& addr_port, std::string command,
                                                  std::string allocator) {
  const auto colon = addr_port.rfind(':');
  const std::string addr = colon == std::string::npos ? "" : addr_port.substr(0, colon);
  const std::string port = colon == std::string::npos ? "" : addr_port.substr(colon + 1);
  if (addr.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoi(port) > 65535)
    return make_error("--metrics " + addr_port +
                      ": expected ADDR:PORT (127.0.0.1:9464, [::1]:9464)");
  auto api = net::load();
  if (!api) return make_error("--metrics " + addr_port + ": " + api.error().message);
  auto impl = std::make_unique<Impl>();
  impl->command = std::move(command);
  impl->allocator = std::move(allocator);
  // civetweb's listening_ports syntax: 127.0.0.1:9464, [::1]:9464 (the brackets are kept).
  auto listening = (*api)->listen(addr_port);
  if (!listening)
    return make_error("--metrics " + addr_port + ": cannot listen there (" +
                      listening.error().message + ")");
  impl->exposition = std::move(*listening);
  return std::unique_ptr<Exporter>(new Exporter(std::move(impl)));
}

int Exporter::port() const { return impl_->exposition->port(); }

void Exporter::Impl::set(pid_t pid_now, const timeline::Sample* last, std::size_t samples,
                         const analysis::Classification& c) {
  Impl& m = *this;
  m.pid = pid_now;
  if (last) {
    const timeline::Sample& s = *last;
    auto put = [&](const timeline::Opt& v, const char* name, const char* help) {
      if (v) m.gauge(name, help).set(*v);
    };
    put(s.rss, "arenalab_rss_bytes", "Resident set size of the target (VmRSS).");
    put(s.rss_anon, "arenalab_rss_anon_bytes",
        "Anonymous resident memory of the target (RssAnon).");
    put(s.live_bytes, "arenalab_live_bytes",
        "Bytes the target holds from the malloc family, counted by the interposer.");
    put(s.live_allocs, "arenalab_live_allocations",
        "Allocations the target holds from the malloc family, counted by the interposer.");
    put(s.mmap_bytes, "arenalab_mmap_bytes", "Anonymous mmap bytes the target mapped itself.");
    put(s.allocated, "arenalab_allocator_allocated_bytes", "The allocator's allocated bytes.");
    put(s.active, "arenalab_allocator_active_bytes",
        "The allocator's active bytes (pages in use).");
    put(s.resident, "arenalab_allocator_resident_bytes", "The allocator's resident bytes.");
    put(s.mapped, "arenalab_allocator_mapped_bytes", "The allocator's mapped bytes.");
    put(s.retained, "arenalab_allocator_retained_bytes",
        "The allocator's retained bytes (unmapped-but-kept virtual memory).");
    for (const auto& [name, value] : s.gauges)
      m.gauge("arenalab_program_bytes",
              "A figure the program published (arenalab_gauge_set), in bytes.", {{"name", name}})
          .set(value);
  }
  // The verdict as a state set: one series per verdict, 1 for the current one.
  for (const analysis::Verdict v : {analysis::Verdict::kLeak, analysis::Verdict::kRetention,
                                    analysis::Verdict::kBounded, analysis::Verdict::kNonHeapGrowth,
                                    analysis::Verdict::kStable, analysis::Verdict::kUnresolved})
    m.gauge("arenalab_verdict", "The current verdict on the timeline so far (1: this one).",
            {{"verdict", analysis::verdict_name(v)}})
        .set(c.verdict == v ? 1 : 0);
  m.gauge("arenalab_verdict_confidence_ratio", "Confidence of the current verdict, 0..1.")
      .set(c.confidence);
  // The growth rate behind a leak (what the program holds) or non-heap growth (RSS); 0 otherwise.
  double rate = 0;
  const std::string deciding = c.verdict == analysis::Verdict::kLeak
                                   ? (c.held_signal.empty() ? c.rss_signal : c.held_signal)
                               : c.verdict == analysis::Verdict::kNonHeapGrowth ? c.rss_signal
                                                                                : "";
  for (const auto& e : c.evidence)
    if (!deciding.empty() && e.signal == deciding) rate = (e.v.tail ? *e.v.tail : e.v.whole).slope;
  m.gauge("arenalab_leak_rate_bytes_per_second",
          "Growth rate behind a leak or non-heap-growth verdict (0 for any other verdict).")
      .set(rate);
  m.gauge("arenalab_timeline_samples", "Samples in the target's timeline so far.")
      .set(static_cast<double>(samples));
}

void Exporter::update(pid_t pid, const timeline::Timeline& tl, const analysis::Classification& c) {
  std::lock_guard lock(impl_->mu);
  impl_->set(pid, tl.samples.empty() ? nullptr : &tl.samples.back(), tl.samples.size(), c);
}

void Exporter::update_from(pid_t pid, const std::string& timeline_path,
                           const analysis::Options& o) {
  std::lock_guard lock(impl_->mu);
  Impl& m = *impl_;
  // Only the lines appended since the last tick are read (and a timeline replaced by an exec is
  // followed from its start); the classifier sees at most LiveSignals' bounded set of rows.
  if (!m.tail || m.tail_path != timeline_path) {
    m.tail = std::make_unique<analysis::LiveSignals>(timeline_path);
    m.tail_path = timeline_path;
    m.verdict.reset();
  }
  m.tail->poll();
  if (!m.tail->last()) return;
  const double now_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - m.started)
          .count();
  if (!m.verdict || m.pace.due(now_ms)) {
    LivePace::Line line(m.pace, now_ms);
    // The target runs while its timeline is followed: no release is final (analysis README
    // "The live line").
    analysis::Options live = o;
    live.running = true;
    m.verdict = analysis::classify(m.tail->signals(), live);
    ++m.classifications;
  }
  m.set(pid, &*m.tail->last(), m.tail->samples(), *m.verdict);
}

void Exporter::classify_every(double every_ms) {
  std::lock_guard lock(impl_->mu);
  impl_->pace = LivePace(every_ms);
}

std::optional<Exporter::Latest> Exporter::latest() const {
  std::lock_guard lock(impl_->mu);
  const Impl& m = *impl_;
  if (!m.verdict || !m.tail || !m.tail->last()) return std::nullopt;
  return Latest{*m.verdict, *m.tail->last(), m.tail->samples(), m.classifications};
}

}  // namespace arenalab::fleet
