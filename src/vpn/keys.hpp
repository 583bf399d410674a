#pragma once
#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace vpnbot::vpn {

// WireGuard keys: 32 bytes, shown as standard base64 with padding, exactly as `wg genkey`/`wg pubkey` print them.
struct KeyPair {
  std::string private_key;
  std::string public_key;
};

KeyPair generate_keypair();                                      // in-process (libsodium), never a subprocess
std::string public_key_for(const std::string& private_key_b64);  // throws std::invalid_argument
std::string generate_preshared_key();
std::array<unsigned char, 32> decode_key(const std::string& b64);  // throws std::invalid_argument
std::string encode_key(const unsigned char* key32);
// Lower-case hex, as the WireGuard UAPI expects keys.
std::string key_to_hex(const std::string& b64);
std::string hex_to_key(const std::string& hex);

// A 32-byte key from a file of 32 raw bytes or 64 hex characters; created (mode 0600, random) when `create` is set
// and it is missing. Refuses files readable by group/others. `what` names the key in errors.
std::array<unsigned char, 32> read_key_file(const std::string& path, const std::string& what, bool create);

// Private keys at rest: XSalsa20-Poly1305 (libsodium secretbox) under a 32-byte master key.
class SecretBox {
 public:
  explicit SecretBox(const std::array<unsigned char, 32>& key) : key_(key) {}
  // Reads the key file (32 raw bytes or 64 hex chars); creates it with mode 0600 when `create` is set and it is
  // missing. Refuses files readable by group/others.
  static SecretBox from_file(const std::string& path, bool create);
  std::string seal(const std::string& plaintext) const;  // base64(nonce || ciphertext)
  std::string open(const std::string& sealed) const;     // throws std::runtime_error if tampered or wrong key
  // The key that seals one node's secrets (its private key, its peers' preshared keys), derived from this master
  // key by node and generation (libsodium's BLAKE2b KDF): a node's agent holds its own and never the master key.
  // Generation 0 is the master key itself (secrets sealed before nodes had keys of their own).
  SecretBox for_node(int64_t node_id, int generation) const;
  std::string key_hex() const;  // for the node key file an operator installs on the node

 private:
  std::array<unsigned char, 32> key_;
};

}  // namespace vpnbot::vpn
