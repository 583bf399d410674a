#include "admin/backup_cli.hpp"

#include <iostream>
#include <string>

#include "core/log.hpp"
#include "ops/backup.hpp"

namespace vpnbot::admin {
namespace {

struct BackupArgs {
  std::string dir, key_file, file, target_url;
  int keep = 0;
};

}  // namespace

Runner add_backup_commands(CLI::App& admin, std::shared_ptr<bool> json_out) {
  auto args = std::make_shared<BackupArgs>();
  auto* backup = admin.add_subcommand(
      "backup", "Dump the database (pg_dump, custom format), encrypt it with the backup key and keep the newest N");
  backup->add_option("--dir", args->dir, "Where to write it (default: backup_dir)");
  backup->add_option("--key-file", args->key_file, "The encryption key (default: backup_key_file)");
  backup->add_option("--keep", args->keep, "How many backups to keep (default: backup_keep)")
      ->check(CLI::Range(1, 1000));
  auto* restore = admin.add_subcommand(
      "restore", "Restore an encrypted backup into a fresh database (one transaction: all or nothing)");
  restore->add_option("file", args->file, "The .dump.enc file")->required()->check(CLI::ExistingFile);
  restore
      ->add_option("--target-url", args->target_url,
                   "The database to restore into (created empty beforehand; never the configured one by default)")
      ->required();
  restore->add_option("--key-file", args->key_file, "The encryption key (default: backup_key_file)");

  return [=](const Config& config) -> std::optional<int> {
    if (!*backup && !*restore) return std::nullopt;
    std::string key_file = args->key_file.empty() ? config.ops.backup_key_file : args->key_file;
    if (key_file.empty()) throw CLI::ValidationError("--key-file", "give --key-file or set backup_key_file");
    try {
      if (*backup) {
        ops::BackupOptions options{args->dir.empty() ? config.ops.backup_dir : args->dir, key_file,
                                   args->keep ? args->keep : config.ops.backup_keep, config.ops.pg_bin_dir};
        if (options.dir.empty()) throw CLI::ValidationError("--dir", "give --dir or set backup_dir");
        auto made = ops::make_backup(options, config.db.listen_url);
        std::cout << (*json_out ? nlohmann::json{{"file", made.path}, {"bytes", made.bytes}}.dump()
                                : made.path + " (" + std::to_string(made.bytes) + " bytes)")
                  << "\n";
        return 0;
      }
      ops::restore_backup(args->file, ops::read_backup_key(key_file), args->target_url, config.ops.pg_bin_dir);
      std::cout << (*json_out ? nlohmann::json{{"restored", args->file}}.dump() : "restored " + args->file) << "\n";
      return 0;
    } catch (const ops::BackupError& e) {
      log::error("backup", *backup ? "backup failed" : "restore failed", {{"error", e.what()}});
      std::cerr << "vpnbot admin: " << e.what() << "\n";
      return 1;
    }
  };
}

}  // namespace vpnbot::admin
