#include "editcaption/eval/http_client.h"

#include <curl/curl.h>

#include <cstdlib>
#include <mutex>

#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"

namespace ec::eval {

namespace {

// libcurl needs curl_global_init once per process before any handle, and it is not
// thread-safe itself: call_once makes the first client do it.
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  std::string_view line(data, size * n);
  auto* resp = static_cast<HttpResponse*>(user);
  if (to_lower(line.substr(0, std::min<size_t>(line.size(), 12))) == "retry-after:") {
    std::string value(trim(line.substr(12)));
    char* end = nullptr;
    double s = std::strtod(value.c_str(), &end);
    if (end != value.c_str() && s >= 0) resp->retry_after_s = s;
  }
  return size * n;
}

}  // namespace

HttpClient::HttpClient() {
  global_init();
  curl_ = curl_easy_init();
  EC_CHECK(curl_ != nullptr, "curl_easy_init failed");
}

HttpClient::~HttpClient() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

HttpResponse HttpClient::post_json(const std::string& url, const std::string& body,
                                   const std::vector<std::string>& headers, double timeout_s,
                                   double connect_timeout_s) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);
  HttpResponse resp;
  curl_slist* list = curl_slist_append(nullptr, "Content-Type: application/json");
  // No "Expect: 100-continue" round trip for large bodies (images): judges answer the POST directly.
  list = curl_slist_append(list, "Expect:");
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &resp);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_s * 1000));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout_s * 1000));
  // Worker threads: no SIGALRM-based DNS timeouts.
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  // The judge URL is given explicitly; no proxy from the environment for loopback servers.
  curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    resp.error = curl_easy_strerror(rc);
    resp.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
    resp.status = 0;
    return resp;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

}  // namespace ec::eval
