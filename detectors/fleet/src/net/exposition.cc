// SPDX-License-Identifier: Apache-2.0
// The /metrics endpoint's network side, in libarenalab_fleet_net.so: prometheus-cpp's Exposer
// (civetweb) serving one Registry of gauges; what the gauges say is set by fleet::Exporter
// (exporter.cc, in the executable). And the module's entry point, its table (net_api.h).
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>

#include "module.h"

namespace arenalab::fleet::net {
namespace {

namespace pm = ::prometheus;

class PmGauge final : public Gauge {
 public:
  explicit PmGauge(pm::Gauge& g) : g_(g) {}
  void set(double value) override { g_.Set(value); }

 private:
  pm::Gauge& g_;
};

class PmExposition final : public Exposition {
 public:
  explicit PmExposition(const std::string& addr_port) : exposer_(addr_port, /*num_threads=*/1) {
    exposer_.RegisterCollectable(registry_);
  }
  int port() const override {
    const auto ports = exposer_.GetListeningPorts();
    return ports.empty() ? 0 : ports.front();
  }
  Gauge& gauge(const std::string& name, const std::string& help,
               const std::map<std::string, std::string>& labels) override {
    auto it = families_.find(name);
    if (it == families_.end())
      it = families_.emplace(name, &pm::BuildGauge().Name(name).Help(help).Register(*registry_))
               .first;
    pm::Gauge& g = it->second->Add(labels);  // the same series for the same labels
    return gauges_.try_emplace(&g, g).first->second;
  }

 private:
  // The registry outlives the exposer that serves it (members are destroyed in reverse).
  std::shared_ptr<pm::Registry> registry_ = std::make_shared<pm::Registry>();
  std::map<std::string, pm::Family<pm::Gauge>*> families_;
  std::map<const pm::Gauge*, PmGauge> gauges_;  // one handle per series
  pm::Exposer exposer_;
};

}  // namespace

Result<std::unique_ptr<Exposition>> listen(const std::string& addr_port) {
  try {
    return std::unique_ptr<Exposition>(std::make_unique<PmExposition>(addr_port));
  } catch (const std::exception& e) {
    return make_error(e.what());
  }
}

}  // namespace arenalab::fleet::net

extern "C" __attribute__((visibility("default"))) const arenalab::fleet::net::Api*
arenalab_fleet_net_api() {
  namespace net = arenalab::fleet::net;
  static const net::Api api{net::kAbi, &net::curl_get, &net::listen};
  return &api;
}
