#include "support/emulator_thread.hpp"

#include <curl/curl.h>

#include <future>

namespace vpnbot::testing {

namespace {
nlohmann::json call_client(const std::string& base_url, const std::string& path, const nlohmann::json& body) {
  auto [status, text] = http_request(body.is_null() ? "GET" : "POST", base_url + path,
                                     body.is_null() ? "" : body.dump(), {"Content-Type: application/json"});
  auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (status != 200 || parsed.is_discarded())
    throw std::runtime_error("emulator " + path + " answered " + std::to_string(status) + ": " + text);
  return parsed;
}
}  // namespace

nlohmann::json PaymentsThread::client(const std::string& path, const nlohmann::json& body) {
  return call_client(base_url(), path, body);
}

nlohmann::json RemnawaveThread::client(const std::string& path, const nlohmann::json& body) {
  return call_client(base_url(), path, body);
}

nlohmann::json EmulatorThread::client(const std::string& path, const nlohmann::json& body) {
  return call_client(base_url(), path, body);
}

nlohmann::json EmulatorThread::messages(int64_t chat_id) {
  return client("/client/messages?chat_id=" + std::to_string(chat_id))["messages"];
}

namespace {
size_t append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}
}  // namespace

std::pair<long, std::string> http_request(const std::string& method, const std::string& url, const std::string& body,
                                          const std::vector<std::string>& headers) {
  CURL* curl = curl_easy_init();
  std::string out;
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return {0, curl_easy_strerror(rc)};
  return {status, out};
}

}  // namespace vpnbot::testing
