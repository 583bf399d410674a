#pragma once
#include <string>

namespace vpnbot::agent {

// Replaces `path` with `contents` atomically under an exclusive flock on `path + ".lock"`: write a temp file in the
// same directory, fsync it, rename it over the old file, fsync the directory. A crash at any point leaves either
// the old or the new file, never a torn one. `fail_before_rename` exists for the crash test. Blocking: call it
// off the event loop.
void write_file_atomically(const std::string& path, const std::string& contents, int mode = 0600,
                           bool fail_before_rename = false);
std::string read_file(const std::string& path);

}  // namespace vpnbot::agent
