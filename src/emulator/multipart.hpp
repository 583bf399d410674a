#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vpnbot::emulator {

struct FormPart {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string data;
};

// The boundary parameter of a multipart/form-data Content-Type, if any.
std::optional<std::string> multipart_boundary(std::string_view content_type);
// Parses a multipart/form-data body (RFC 7578). Throws std::invalid_argument on a malformed body.
std::vector<FormPart> parse_multipart(std::string_view body, std::string_view boundary);

}  // namespace vpnbot::emulator
