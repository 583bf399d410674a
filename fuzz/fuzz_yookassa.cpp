// A YooKassa notification body: never crashes; whatever is accepted has a bounded event and object id.
#include <cstdlib>
#include <string>

#include "billing/yookassa/notification.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto notice = vpnbot::billing::parse_yookassa_notification(std::string(reinterpret_cast<const char*>(data), size));
  if (notice && (notice->id.empty() || notice->id.size() > 64 || notice->event.empty() || notice->event.size() > 64))
    std::abort();
  return 0;
}
