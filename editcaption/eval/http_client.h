// A minimal blocking HTTP client over libcurl for the judge: POST a JSON body, get the status,
// the body and Retry-After. One client per thread (a curl easy handle is not shareable).
#pragma once

#include <string>
#include <vector>

namespace ec::eval {

struct HttpResponse {
  long status = 0;          ///< HTTP status; 0 when no response arrived
  std::string body;
  std::string error;        ///< transport error (connection refused, timeout, TLS...); empty otherwise
  bool timed_out = false;
  double retry_after_s = -1;  ///< the Retry-After header in seconds, when sent
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse post_json(const std::string& url, const std::string& body, const std::vector<std::string>& headers,
                         double timeout_s, double connect_timeout_s);

 private:
  void* curl_ = nullptr;  // CURL*, kept opaque so that users of this header do not need curl.h
};

}  // namespace ec::eval
