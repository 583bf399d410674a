#include "agent/persist.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace vpnbot::agent {
namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& contents, int mode, bool fail_before_rename) {
  Fd lock{::open((path + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
  if (lock.fd < 0) fail("cannot open lock file for " + path);
  if (::flock(lock.fd, LOCK_EX) != 0) fail("cannot lock " + path);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    Fd out{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)};
    if (out.fd < 0) fail("cannot create " + tmp);
    size_t written = 0;
    while (written < contents.size()) {
      ssize_t n = ::write(out.fd, contents.data() + written, contents.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        fail("cannot write " + tmp);
      }
      written += static_cast<size_t>(n);
    }
    if (::fsync(out.fd) != 0) fail("cannot fsync " + tmp);
  }
  if (fail_before_rename) throw std::runtime_error("simulated crash before rename of " + path);
  if (::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename " + tmp);
  auto dir = std::filesystem::path(path).parent_path();
  Fd d{::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd >= 0) ::fsync(d.fd);  // the rename itself is durable
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace vpnbot::agent
