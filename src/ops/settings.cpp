#include "ops/settings.hpp"

namespace vpnbot::ops {

void declare_settings(ConfigSchema& schema, Settings& s) {
  schema.string("backup_dir", s.backup_dir, false,
                "Where the scheduler keeps encrypted database backups (pg_dump, custom format); empty: no scheduled "
                "backups.");
  schema.string("backup_key_file", s.backup_key_file, false,
                "The backups' encryption key: 32 bytes or 64 hex characters, mode 0600. Keep it away from the "
                "backups (without it they cannot be restored).");
  schema.integer("backup_keep", s.backup_keep, 1, 1000, "How many backups are kept; older ones are deleted.");
  schema.integer("backup_interval_hours", s.backup_interval_hours, 1, 8760, "How often the scheduler makes a backup.");
  schema.integer("backup_chat_id", s.backup_chat_id, INT64_MIN, INT64_MAX,
                 "A Telegram chat (an admin's id, or a group's) each backup is sent to as a document; 0: none.");
  schema.integer("backup_send_max_mb", s.backup_send_max_mb, 1, 50,
                 "Backups larger than this stay on disk only (a bot uploads at most 50 MB).");
  schema.string("pg_bin_dir", s.pg_bin_dir, false,
                "Where pg_dump and pg_restore are (e.g. /usr/lib/postgresql/15/bin); empty: looked up in PATH.");
}

}  // namespace vpnbot::ops
