#include "ops/backup.hpp"

#include <fcntl.h>
#include <fmt/chrono.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/log.hpp"
#include "core/process.hpp"
#include "db/connection.hpp"
#include "vpn/keys.hpp"

namespace vpnbot::ops {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'V', 'P', 'N', 'B', 'K', 'P', '0', '1'};
constexpr size_t kChunk = 64 * 1024;
constexpr const char* kPrefix = "vpnbot-";
constexpr const char* kSuffix = ".dump.enc";

// Closes a descriptor on every path out of a scope.
struct FdGuard {
  int fd = -1;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
  void close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// Reads up to n bytes, fewer only at the end of input. With `should_stop`, waits at most half a second at a time
// and gives up (BackupError) once it says so.
size_t read_full(int fd, unsigned char* buf, size_t n, const std::function<bool()>& should_stop = {}) {
  size_t got = 0;
  while (got < n) {
    if (should_stop) {
      if (should_stop()) throw BackupError("stopped before the backup was complete");
      pollfd ready{fd, POLLIN, 0};
      int r = ::poll(&ready, 1, 500);
      if (r < 0 && errno != EINTR) throw BackupError(std::string("poll: ") + std::strerror(errno));
      if (r <= 0) continue;
    }
    ssize_t r = ::read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw BackupError(std::string("read: ") + std::strerror(errno));
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

void write_full(int fd, const unsigned char* buf, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) throw BackupError(std::string("write: ") + std::strerror(errno));
    buf += w;
    n -= static_cast<size_t>(w);
  }
}

std::string tool(const std::string& bin_dir, const std::string& name) {
  return bin_dir.empty() ? name : (fs::path(bin_dir) / name).string();
}

std::string tail_of(const std::string& log_file) {
  std::ifstream in(log_file);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  while (!all.empty() && (all.back() == '\n' || all.back() == ' ')) all.pop_back();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

// A temp file for a child's stderr, removed when the scope ends.
struct StderrLog {
  std::string path;
  StderrLog() {
    char name[] = "/tmp/vpnbot-backup-XXXXXX";
    int fd = ::mkstemp(name);
    if (fd < 0) throw BackupError(std::string("mkstemp: ") + std::strerror(errno));
    ::close(fd);
    path = name;
  }
  ~StderrLog() { ::unlink(path.c_str()); }
};

std::string utc_stamp() {
  return fmt::format("{:%Y%m%d-%H%M%S}", fmt::gmtime(std::time(nullptr)));
}

db::SplitConnection connection_for_tool(const std::string& url) {
  try {
    return db::split_password(url);
  } catch (const std::invalid_argument& e) {
    throw BackupError(e.what());
  }
}

// The password for pg_dump and pg_restore, by environment: never on their command line.
std::vector<std::string> password_environment(const db::SplitConnection& connection) {
  if (connection.password.empty()) return {};
  return {"PGPASSWORD=" + connection.password};
}

}  // namespace

BackupKey read_backup_key(const std::string& key_file) {
  try {
    return vpn::read_key_file(key_file, "backup key", false);
  } catch (const std::runtime_error& e) {
    throw BackupError(e.what());
  }
}

void encrypt_stream(int in_fd, int out_fd, const BackupKey& key, const std::function<bool()>& should_stop) {
  if (sodium_init() < 0) throw BackupError("libsodium cannot start");
  crypto_secretstream_xchacha20poly1305_state state;
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  crypto_secretstream_xchacha20poly1305_init_push(&state, header, key.data());
  write_full(out_fd, reinterpret_cast<const unsigned char*>(kMagic), sizeof kMagic);
  write_full(out_fd, header, sizeof header);
  std::vector<unsigned char> plain(kChunk), cipher(kChunk + crypto_secretstream_xchacha20poly1305_ABYTES);
  // Read one chunk ahead so the last one (possibly empty) can carry the FINAL tag.
  size_t have = read_full(in_fd, plain.data(), kChunk, should_stop);
  std::vector<unsigned char> next(kChunk);
  for (;;) {
    size_t next_have = have == kChunk ? read_full(in_fd, next.data(), kChunk, should_stop) : 0;
    bool last = have < kChunk || next_have == 0;
    unsigned long long cipher_len = 0;
    crypto_secretstream_xchacha20poly1305_push(
        &state, cipher.data(), &cipher_len, plain.data(), have, nullptr, 0,
        last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
    unsigned char len_be[4] = {static_cast<unsigned char>(cipher_len >> 24),
                               static_cast<unsigned char>(cipher_len >> 16),
                               static_cast<unsigned char>(cipher_len >> 8), static_cast<unsigned char>(cipher_len)};
    write_full(out_fd, len_be, 4);
    write_full(out_fd, cipher.data(), static_cast<size_t>(cipher_len));
    if (last) break;
    plain.swap(next);
    have = next_have;
  }
}

void decrypt_stream(int in_fd, int out_fd, const BackupKey& key) {
  if (sodium_init() < 0) throw BackupError("libsodium cannot start");
  unsigned char magic[sizeof kMagic];
  if (read_full(in_fd, magic, sizeof magic) != sizeof magic || std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    throw BackupError("not a vpnbot backup (no VPNBKP01 header)");
  unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
  if (read_full(in_fd, header, sizeof header) != sizeof header)
    throw BackupError("the backup is cut off in its header");
  crypto_secretstream_xchacha20poly1305_state state;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state, header, key.data()) != 0)
    throw BackupError("the backup's header is invalid");
  std::vector<unsigned char> cipher(kChunk + crypto_secretstream_xchacha20poly1305_ABYTES), plain(kChunk);
  for (bool first = true;; first = false) {
    unsigned char len_be[4];
    size_t got = read_full(in_fd, len_be, 4);
    if (got == 0) throw BackupError("the backup is cut off: its last part is missing");
    if (got != 4) throw BackupError("the backup is cut off inside a part's length");
    size_t len = (size_t(len_be[0]) << 24) | (size_t(len_be[1]) << 16) | (size_t(len_be[2]) << 8) | len_be[3];
    if (len < crypto_secretstream_xchacha20poly1305_ABYTES || len > cipher.size())
      throw BackupError("the backup is damaged: a part has an impossible length");
    if (read_full(in_fd, cipher.data(), len) != len) throw BackupError("the backup is cut off inside a part");
    unsigned long long plain_len = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&state, plain.data(), &plain_len, &tag, cipher.data(), len, nullptr,
                                                   0) != 0)
      throw BackupError(first ? "the backup cannot be decrypted: a wrong key, or the file was changed"
                              : "the backup was changed: a part fails its authentication");
    if (out_fd >= 0) write_full(out_fd, plain.data(), static_cast<size_t>(plain_len));
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) break;
  }
  unsigned char extra = 0;
  if (read_full(in_fd, &extra, 1) != 0) throw BackupError("the backup has bytes after its end");
}

std::vector<BackupFile> list_backups(const std::string& dir) {
  std::vector<BackupFile> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.rfind(kPrefix, 0) != 0 || name.size() <= std::strlen(kSuffix) ||
        name.compare(name.size() - std::strlen(kSuffix), std::string::npos, kSuffix) != 0)
      continue;
    out.push_back({entry.path().string(), name, static_cast<int64_t>(entry.file_size())});
  }
  if (ec) throw BackupError("cannot list " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

BackupFile make_backup(const BackupOptions& options, const std::string& database_url,
                       const std::function<bool()>& should_stop) {
  if (options.keep < 1) throw BackupError("backup keep must be at least 1");
  BackupKey key = read_backup_key(options.key_file);
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) throw BackupError("cannot create the backup directory " + options.dir + ": " + ec.message());
  std::string stamp = utc_stamp();
  std::string name = kPrefix + stamp + kSuffix;
  fs::path final_path = fs::path(options.dir) / name;
  // Two backups in the same second (a retried job right after a success) must not replace a finished file.
  for (int n = 1; fs::exists(final_path); ++n) {
    name = kPrefix + stamp + "-" + std::to_string(n) + kSuffix;
    final_path = fs::path(options.dir) / name;
  }
  fs::path temp_path = fs::path(options.dir) / ("." + name + ".partial");
  auto connection = connection_for_tool(database_url);
  FdGuard out{::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (out.fd < 0) throw BackupError("cannot write " + temp_path.string() + ": " + std::strerror(errno));
  StderrLog errors;
  PipedChild child;
  try {
    child = spawn_piped(
        {tool(options.pg_bin_dir, "pg_dump"), "--format=custom", "--no-password", "--dbname=" + connection.conninfo},
        PipeDirection::from_child, errors.path, password_environment(connection));
  } catch (const std::runtime_error& e) {
    fs::remove(temp_path, ec);
    throw BackupError(std::string(e.what()) + " (pg_bin_dir names where pg_dump is)");
  }
  FdGuard dump{child.fd};
  try {
    encrypt_stream(dump.fd, out.fd, key, should_stop);
  } catch (const BackupError&) {
    ::kill(child.pid, SIGTERM);  // stopped or the disk failed: pg_dump ends (SIGPIPE at the latest)
    dump.close();
    wait_for_child(child.pid);
    fs::remove(temp_path, ec);
    throw;
  }
  dump.close();
  int status = wait_for_child(child.pid);
  if (status != 0) {
    fs::remove(temp_path, ec);
    throw BackupError("pg_dump failed (exit " + std::to_string(status) + "): " + tail_of(errors.path));
  }
  if (::fsync(out.fd) != 0) throw BackupError(std::string("fsync: ") + std::strerror(errno));
  out.close();
  fs::rename(temp_path, final_path, ec);
  if (ec) throw BackupError("cannot rename the backup into place: " + ec.message());
  FdGuard dir{::open(options.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (dir.fd >= 0) ::fsync(dir.fd);  // the rename itself survives a crash
  BackupFile made{final_path.string(), name, static_cast<int64_t>(fs::file_size(final_path))};
  // Old copies go only after the new one is safely in place.
  auto all = list_backups(options.dir);
  for (size_t i = 0; i + static_cast<size_t>(options.keep) < all.size(); ++i) {
    fs::remove(all[i].path, ec);
    log::info("backup", "old backup deleted", {{"file", all[i].name}});
  }
  // Partial files a day old are leftovers of crashed runs; younger ones may be another backup still being written.
  auto stale_before = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (const auto& entry : fs::directory_iterator(options.dir, ec)) {
    std::string leftover = entry.path().filename().string();
    std::error_code age_error;
    auto written = entry.last_write_time(age_error);
    if (leftover.size() > 8 && leftover[0] == '.' && leftover.rfind(".partial") == leftover.size() - 8 && !age_error &&
        written < stale_before)
      fs::remove(entry.path(), ec);
  }
  return made;
}

void restore_backup(const std::string& file, const BackupKey& key, const std::string& target_url,
                    const std::string& pg_bin_dir) {
  {
    FdGuard check{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
    if (check.fd < 0) throw BackupError("cannot read " + file + ": " + std::strerror(errno));
    decrypt_stream(check.fd, -1, key);
  }
  FdGuard in{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (in.fd < 0) throw BackupError("cannot read " + file + ": " + std::strerror(errno));
  auto connection = connection_for_tool(target_url);
  StderrLog errors;
  PipedChild child;
  try {
    child = spawn_piped({tool(pg_bin_dir, "pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                         "--single-transaction", "--no-password", "--dbname=" + connection.conninfo},
                        PipeDirection::to_child, errors.path, password_environment(connection));
  } catch (const std::runtime_error& e) {
    throw BackupError(std::string(e.what()) + " (pg_bin_dir names where pg_restore is)");
  }
  FdGuard to_restore{child.fd};
  std::string stream_error;
  try {
    decrypt_stream(in.fd, to_restore.fd, key);
  } catch (const BackupError& e) {
    stream_error = e.what();  // pg_restore stopped reading (its own error says why) or the file changed since
  }
  to_restore.close();
  int status = wait_for_child(child.pid);
  if (status != 0)
    throw BackupError("pg_restore failed (exit " + std::to_string(status) + "): " + tail_of(errors.path) +
                      (stream_error.empty() ? "" : " (" + stream_error + ")"));
  if (!stream_error.empty()) throw BackupError(stream_error);
}

}  // namespace vpnbot::ops
