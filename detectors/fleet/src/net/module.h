// SPDX-License-Identifier: Apache-2.0
// Inside libarenalab_fleet_net.so: the functions its table (net_api.h) points at.
#pragma once

#include "net_api.h"

namespace arenalab::fleet::net {

Result<HttpResponse> curl_get(const std::string& url, double timeout_s);   // http.cc
Result<std::unique_ptr<Exposition>> listen(const std::string& addr_port);  // exposition.cc

}  // namespace arenalab::fleet::net
