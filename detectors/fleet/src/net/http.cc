// SPDX-License-Identifier: Apache-2.0
// A blocking HTTP GET over libcurl, for the Prometheus API (one request per query, no reuse:
// a fleet classification makes two or three). Part of libarenalab_fleet_net.so (net_api.h);
// fleet::http_get calls it through the module's table.
#include <curl/curl.h>

#include <mutex>

#include "module.h"

namespace arenalab::fleet::net {
namespace {

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

}  // namespace

Result<HttpResponse> curl_get(const std::string& url, double timeout_s) {
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    return make_error(url + ": not an http:// or https:// URL");
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  CURL* curl = curl_easy_init();
  if (!curl) return make_error(url + ": libcurl could not start a request");
  HttpResponse r;
  char err[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, err);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_s * 1000));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: we own the signals
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "arenalab");
  const CURLcode rc = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK)
    return make_error(url + ": " + (err[0] ? std::string(err) : curl_easy_strerror(rc)));
  // The API answers errors as JSON with 400 (bad_data), 422 (execution), 503 (timeout, canceled);
  // those bodies carry the message worth printing. Anything else is not the API.
  if (r.status != 200 && r.status != 400 && r.status != 422 && r.status != 503)
    return make_error(url + ": HTTP " + std::to_string(r.status) +
                      " (is this the Prometheus server's base URL?)");
  return r;
}

}  // namespace arenalab::fleet::net
