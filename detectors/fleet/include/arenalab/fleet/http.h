// SPDX-License-Identifier: Apache-2.0
// The fleet's HTTP GET (fleet.h's range queries use it). Its libcurl lives in
// libarenalab_fleet_net.so, loaded on the first call; this header is all that module and the
// executable share of fleet.h.
#pragma once

#include <string>

#include "arenalab/core/result.h"

namespace arenalab::fleet {

// GET of an http:// or https:// URL (libcurl). Returns the body for any HTTP status the
// Prometheus API answers with a JSON body (200, 400, 422, 503); an unreachable host, a refused
// connection or another status is an Error naming the URL, and so is a module that cannot be
// loaded (naming the library).
struct HttpResponse {
  long status = 0;
  std::string body;
};
Result<HttpResponse> http_get(const std::string& url, double timeout_s);

}  // namespace arenalab::fleet
