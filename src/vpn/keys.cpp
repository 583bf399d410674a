#include "vpn/keys.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace vpnbot::vpn {

std::string encode_key(const unsigned char* key32) {
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(out, sizeof out, key32, 32, sodium_base64_VARIANT_ORIGINAL);
  return out;
}

std::array<unsigned char, 32> decode_key(const std::string& b64) {
  std::array<unsigned char, 32> key{};
  size_t len = 0;
  if (b64.size() != 44 ||
      sodium_base642bin(key.data(), key.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len != 32)
    throw std::invalid_argument("not a WireGuard key (44 base64 characters)");
  return key;
}

KeyPair generate_keypair() {
  unsigned char priv[32], pub[32];
  randombytes_buf(priv, sizeof priv);
  // Clamping as `wg genkey` does (Curve25519 private key).
  priv[0] &= 248;
  priv[31] = (priv[31] & 127) | 64;
  crypto_scalarmult_base(pub, priv);
  KeyPair kp{encode_key(priv), encode_key(pub)};
  sodium_memzero(priv, sizeof priv);
  return kp;
}

std::string public_key_for(const std::string& private_key_b64) {
  auto priv = decode_key(private_key_b64);
  priv[0] &= 248;
  priv[31] = (priv[31] & 127) | 64;
  unsigned char pub[32];
  crypto_scalarmult_base(pub, priv.data());
  sodium_memzero(priv.data(), priv.size());
  return encode_key(pub);
}

std::string generate_preshared_key() {
  unsigned char key[32];
  randombytes_buf(key, sizeof key);
  return encode_key(key);
}

std::string key_to_hex(const std::string& b64) {
  auto key = decode_key(b64);
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, key.data(), key.size());
  return hex;
}

std::string hex_to_key(const std::string& hex) {
  unsigned char key[32];
  size_t len = 0;
  if (sodium_hex2bin(key, sizeof key, hex.data(), hex.size(), nullptr, &len, nullptr) != 0 || len != 32)
    throw std::invalid_argument("not a hex WireGuard key");
  return encode_key(key);
}

std::array<unsigned char, 32> read_key_file(const std::string& path, const std::string& what, bool create) {
  std::array<unsigned char, 32> key{};
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (!create) throw std::runtime_error(what + " file " + path + " does not exist");
    randombytes_buf(key.data(), key.size());
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, key.data(), key.size());
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + what + " file " + path + ": " + strerror(errno));
    std::string line = std::string(hex) + "\n";
    bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) throw std::runtime_error("cannot write " + what + " file " + path);
    return key;
  }
  if (st.st_mode & 077) throw std::runtime_error(what + " file " + path + " is readable by others: chmod 600 it");
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string data = buf.str();
  while (!data.empty() && (data.back() == '\n' || data.back() == '\r' || data.back() == ' ')) data.pop_back();
  size_t len = 0;
  if (data.size() == 64) {
    if (sodium_hex2bin(key.data(), key.size(), data.data(), data.size(), nullptr, &len, nullptr) != 0 || len != 32)
      throw std::runtime_error(what + " file " + path + " is not 64 hex characters");
  } else if (data.size() == 32) {
    std::copy(data.begin(), data.end(), key.begin());
  } else {
    throw std::runtime_error(what + " file " + path + " must hold 32 bytes or 64 hex characters");
  }
  return key;
}

SecretBox SecretBox::from_file(const std::string& path, bool create) {
  return SecretBox(read_key_file(path, "master key (VPNBOT_MASTER_KEY_FILE)", create));
}

SecretBox SecretBox::for_node(int64_t node_id, int generation) const {
  if (generation == 0) return *this;
  if (node_id <= 0 || node_id >= (int64_t{1} << 43) || generation < 0 || generation >= (1 << 20))
    throw std::invalid_argument("node key: node id or generation out of range");
  std::array<unsigned char, 32> key{};
  uint64_t subkey_id = (static_cast<uint64_t>(node_id) << 20) | static_cast<uint64_t>(generation);
  static constexpr char kContext[crypto_kdf_CONTEXTBYTES] = {'v', 'p', 'n', 'n', 'o', 'd', 'e', 's'};
  crypto_kdf_derive_from_key(key.data(), key.size(), subkey_id, kContext, key_.data());
  return SecretBox(key);
}

std::string SecretBox::key_hex() const {
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, key_.data(), key_.size());
  return hex;
}

std::string SecretBox::seal(const std::string& plaintext) const {
  std::vector<unsigned char> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(), out.data(),
                        key_.data());
  std::string b64(sodium_base64_ENCODED_LEN(out.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(b64.data(), b64.size(), out.data(), out.size(), sodium_base64_VARIANT_ORIGINAL);
  b64.resize(b64.size() - 1);
  return b64;
}

std::string SecretBox::open(const std::string& sealed) const {
  std::vector<unsigned char> raw(sealed.size());
  size_t len = 0;
  if (sodium_base642bin(raw.data(), raw.size(), sealed.data(), sealed.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    throw std::runtime_error("sealed secret is malformed");
  std::string out(len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()), raw.data() + crypto_secretbox_NONCEBYTES,
                                 len - crypto_secretbox_NONCEBYTES, raw.data(), key_.data()) != 0)
    throw std::runtime_error("sealed secret does not open: wrong master or node key, or tampered data");
  return out;
}

}  // namespace vpnbot::vpn
