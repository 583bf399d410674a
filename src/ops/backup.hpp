#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vpnbot::ops {

// A backup could not be made, read or restored; the message says which step and why.
class BackupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using BackupKey = std::array<unsigned char, 32>;

// An encrypted dump on disk, `vpnbot-YYYYMMDD-HHMMSS.dump.enc`.
struct BackupFile {
  std::string path;
  std::string name;
  int64_t bytes = 0;
};

struct BackupOptions {
  std::string dir;         // where the encrypted dumps are kept
  std::string key_file;    // 32 bytes or 64 hex characters, mode 0600, kept apart from the backups
  int keep = 7;            // the newest N stay, older ones are deleted after a successful backup
  std::string pg_bin_dir;  // where pg_dump and pg_restore are ("" = PATH)
};

// The key from backup_key_file (32 bytes or 64 hex characters, mode 0600); BackupError when it cannot be read.
BackupKey read_backup_key(const std::string& key_file);

// The file format: "VPNBKP01", libsodium's secretstream (XChaCha20-Poly1305) header, then chunks of at most 64 KiB of
// plaintext, each a 4-byte big-endian length and its ciphertext; the last chunk carries the FINAL tag, so a file cut
// short, reordered or changed anywhere fails to decrypt instead of restoring part of a database.
// `should_stop` (optional, called from this thread between reads) abandons the stream with a BackupError.
void encrypt_stream(int in_fd, int out_fd, const BackupKey& key, const std::function<bool()>& should_stop = {});
// Throws BackupError on a wrong key, a changed byte, a cut-off file or bytes after the end. `out_fd` < 0 only checks.
void decrypt_stream(int in_fd, int out_fd, const BackupKey& key);

// pg_dump --format=custom of `database_url`, encrypted into options.dir under a temporary name, fsynced and renamed,
// so a crash never leaves a half file under a backup's name; then all but the newest `keep` backups are deleted.
// Blocking (runs a child process for minutes on a large database): never on the event loop. `should_stop` ends it
// early (the partial file removed).
BackupFile make_backup(const BackupOptions& options, const std::string& database_url,
                       const std::function<bool()>& should_stop = {});
// Checks the whole file first (a tampered or cut file restores nothing), then streams it decrypted into pg_restore
// against `target_url` in one transaction (--single-transaction --exit-on-error --no-owner). Blocking.
void restore_backup(const std::string& file, const BackupKey& key, const std::string& target_url,
                    const std::string& pg_bin_dir);
// The backups in `dir`, oldest first.
std::vector<BackupFile> list_backups(const std::string& dir);

}  // namespace vpnbot::ops
