#pragma once
#include <CLI/CLI.hpp>
#include <memory>

#include "admin/cli.hpp"

namespace vpnbot::admin {

// `vpnbot admin backup` (an encrypted pg_dump into backup_dir, keeping backup_keep) and
// `vpnbot admin restore FILE --target-url URL` (into a fresh database, in one transaction).
Runner add_backup_commands(CLI::App& admin, std::shared_ptr<bool> json_out);

}  // namespace vpnbot::admin
