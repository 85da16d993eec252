// SPDX-License-Identifier: Apache-2.0
// Loads libarenalab_fleet_net.so (net_api.h) on first use, and fleet::http_get through it: the
// arenalab executable links neither libcurl nor prometheus-cpp.
#include <dlfcn.h>

#include "arenalab/core/files.h"
#include "net/net_api.h"

namespace arenalab::fleet {
namespace net {

Result<const Api*> load() {
  static const Result<const Api*> loaded = []() -> Result<const Api*> {
    const std::string path = lib_dir() + "/" + kLibrary;
    const std::string need =
        " (classify --prometheus and --metrics need it: build target arenalab_fleet_net, or set "
        "ARENALAB_LIB_DIR)";
    // RTLD_LOCAL: its libraries' symbols stay its own. Never closed: the objects it made live
    // as long as the process.
    void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char* why = ::dlerror();
      // dlerror() names the file and what was wrong with it (missing, a library it needs).
      return make_error(std::string(why ? why : (path + ": dlopen failed").c_str()) + need);
    }
    auto entry = reinterpret_cast<const Api* (*)()>(::dlsym(h, kEntry));
    if (!entry) return make_error(path + ": no " + kEntry + " in it" + need);
    const Api* api = entry();
    if (!api || api->abi != kAbi || !api->http_get || !api->listen)
      return make_error(path + ": built from another arenalab (interface " +
                        std::to_string(api ? api->abi : 0) + ", expected " + std::to_string(kAbi) +
                        ")" + need);
    return api;
  }();
  return loaded;
}

}  // namespace net

Result<HttpResponse> http_get(const std::string& url, double timeout_s) {
  auto api = net::load();
  if (!api) return api.error();
  return (*api)->http_get(url, timeout_s);
}

}  // namespace arenalab::fleet
