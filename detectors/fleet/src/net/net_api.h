// SPDX-License-Identifier: Apache-2.0
// The boundary between arenalab_fleet (linked into the arenalab executable) and
// libarenalab_fleet_net.so, the module that holds the fleet's network stack: libcurl (range
// queries against a Prometheus server) and prometheus-cpp's Exposer (the /metrics endpoint of
// --metrics). Only classify --prometheus and --metrics need them, and the dynamic loader's
// relocation of the 32 shared objects they pull in was most of every arenalab command's start-up
// (docs/interposer.md, "The start-up floor"), so the module is loaded with dlopen on first use
// (net_loader.cc) and the executable does not link them.
// Both sides are built from this tree by the same compiler against the same libstdc++: the
// interface is C++ (std::string, Result, virtual calls), guarded by kAbi at load.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "arenalab/core/result.h"
#include "arenalab/fleet/http.h"

namespace arenalab::fleet::net {

// Bump on any change to this file: a module of another build is refused at load.
inline constexpr int kAbi = 1;

// The module's file name, in lib_dir() (build/lib, or $ARENALAB_LIB_DIR).
inline constexpr const char* kLibrary = "libarenalab_fleet_net.so";

// The entry point the module exports (the only symbol it exports).
inline constexpr const char* kEntry = "arenalab_fleet_net_api";

// One series of a gauge family.
class Gauge {
 public:
  virtual void set(double value) = 0;

 protected:
  ~Gauge() = default;
};

// A /metrics endpoint: prometheus-cpp's Exposer (civetweb) serving one Registry.
class Exposition {
 public:
  virtual ~Exposition() = default;
  virtual int port() const = 0;  // the port it listens on, 0 if none
  // The series `labels` of the gauge family `name` (registered with `help` on first use). Owned
  // by the Exposition, valid while it lives. Not thread-safe: the caller serialises.
  virtual Gauge& gauge(const std::string& name, const std::string& help,
                       const std::map<std::string, std::string>& labels) = 0;
};

struct Api {
  int abi = 0;
  // fleet::http_get (fleet.h), over libcurl.
  Result<HttpResponse> (*http_get)(const std::string& url, double timeout_s) = nullptr;
  // Listens on `addr_port` (civetweb's listening_ports syntax: 127.0.0.1:9464, [::1]:9464).
  // Error: why it cannot listen there (prometheus-cpp's text).
  Result<std::unique_ptr<Exposition>> (*listen)(const std::string& addr_port) = nullptr;
};

// The module's table, loaded on the first call (later calls return the same answer), or an
// Error naming the library and why it could not be loaded, as one line.
Result<const Api*> load();

}  // namespace arenalab::fleet::net

// What the module exports under kEntry: its table, with abi = kAbi.
extern "C" const arenalab::fleet::net::Api* arenalab_fleet_net_api();
