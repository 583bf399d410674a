#include "vpn/client_config.hpp"

#include <png.h>
#include <qrencode.h>

#include <memory>
#include <stdexcept>
#include <vector>

namespace vpnbot::vpn {

std::string render_client_config(const ClientConfigData& c) {
  std::string out;
  out += "[Interface]\n";
  out += "PrivateKey = " + c.private_key + "\n";
  out += "Address = " + c.address + "/32\n";
  out += "DNS = " + c.dns + "\n";
  out += "MTU = " + std::to_string(c.mtu) + "\n\n";
  out += "[Peer]\n";
  out += "PublicKey = " + c.server_public_key + "\n";
  out += "PresharedKey = " + c.preshared_key + "\n";
  out += "Endpoint = " + c.endpoint + "\n";
  out += "AllowedIPs = 0.0.0.0/0, ::/0\n";
  out += "PersistentKeepalive = 25\n";
  return out;
}

std::string client_config_filename(const std::string& node_name, int64_t peer_id) {
  std::string prefix = node_name.substr(0, 8);
  while (!prefix.empty() && prefix.back() == '-') prefix.pop_back();  // "sandbox-nl" -> "sandbox-1", not "sandbox--1"
  std::string base = prefix + "-" + std::to_string(peer_id % 1000000);
  for (auto& ch : base)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') ch = '_';
  return base.substr(0, 15) + ".conf";
}

std::string qr_png(const std::string& text, int module_pixels, int margin_modules) {
  std::unique_ptr<QRcode, decltype(&QRcode_free)> qr(QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_L, QR_MODE_8, 1),
                                                     &QRcode_free);
  if (!qr) throw std::runtime_error("qrencode failed (text too long?)");
  int size = (qr->width + 2 * margin_modules) * module_pixels;
  std::string png;
  png_structp writer = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(writer);
  if (!writer || !info) throw std::runtime_error("libpng init failed");
  if (setjmp(png_jmpbuf(writer))) {
    png_destroy_write_struct(&writer, &info);
    throw std::runtime_error("libpng write failed");
  }
  png_set_write_fn(
      writer, &png,
      [](png_structp p, png_bytep data, png_size_t length) {
        static_cast<std::string*>(png_get_io_ptr(p))->append(reinterpret_cast<const char*>(data), length);
      },
      nullptr);
  png_set_IHDR(writer, info, size, size, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(writer, info);
  std::vector<png_byte> row((size + 7) / 8);
  for (int y = 0; y < size; ++y) {
    std::fill(row.begin(), row.end(), 0xff);  // 1 bits are white
    int my = y / module_pixels - margin_modules;
    for (int x = 0; x < size; ++x) {
      int mx = x / module_pixels - margin_modules;
      bool dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width && (qr->data[my * qr->width + mx] & 1);
      if (dark) row[x / 8] &= static_cast<png_byte>(~(0x80 >> (x % 8)));
    }
    png_write_row(writer, row.data());
  }
  png_write_end(writer, nullptr);
  png_destroy_write_struct(&writer, &info);
  return png;
}

}  // namespace vpnbot::vpn
