// Backups: the encrypted stream format (round trip, wrong key, a changed byte, a cut file, bytes after the end),
// `vpnbot admin backup` keeping the newest N, `vpnbot admin restore` into a fresh PostgreSQL cluster (all or nothing),
// and the scheduled backup sent to an admin chat through the Telegram emulator.
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "db/local_cluster.hpp"
#include "ops/backup.hpp"
#include "support/emulator_thread.hpp"
#include "support/pg_fixture.hpp"
#include "support/process.hpp"

using namespace vpnbot;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream data;
  data << in.rdbuf();
  return data.str();
}

void write_all(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// A scratch directory removed at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    char name[] = "/tmp/vpnbot-backup-test-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

ops::BackupKey random_key() {
  ops::BackupKey key{};
  randombytes_buf(key.data(), key.size());
  return key;
}

std::string encrypt(const std::string& plain, const ops::BackupKey& key, const TempDir& dir) {
  write_all(dir.file("plain"), plain);
  int in = ::open(dir.file("plain").c_str(), O_RDONLY);
  int out = ::open(dir.file("cipher").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ops::encrypt_stream(in, out, key);
  ::close(in);
  ::close(out);
  return read_all(dir.file("cipher"));
}

// Decrypts `cipher`; the error message when it is refused.
std::pair<std::string, std::string> decrypt(const std::string& cipher, const ops::BackupKey& key, const TempDir& dir) {
  write_all(dir.file("cipher"), cipher);
  int in = ::open(dir.file("cipher").c_str(), O_RDONLY);
  int out = ::open(dir.file("back").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string error;
  try {
    ops::decrypt_stream(in, out, key);
  } catch (const ops::BackupError& e) {
    error = e.what();
  }
  ::close(in);
  ::close(out);
  return {read_all(dir.file("back")), error};
}

}  // namespace

TEST(BackupStream, RoundTripsAndRefusesAWrongKeyAChangedByteACutFileAndTrailingBytes) {
  ASSERT_GE(sodium_init(), 0);
  TempDir dir;
  auto key = random_key();
  std::string big(200 * 1024 + 7, '\0');
  randombytes_buf(big.data(), big.size());
  for (const std::string& plain : {std::string(), std::string("x"), std::string(64 * 1024, 'a'), big}) {
    auto cipher = encrypt(plain, key, dir);
    EXPECT_EQ(cipher.substr(0, 8), "VPNBKP01");
    // Nothing in the clear (a short plaintext's bytes turn up in any random-looking output by chance: not checked).
    if (plain.size() >= 64) EXPECT_EQ(cipher.find(plain.substr(0, 64)), std::string::npos) << plain.size();
    auto [back, error] = decrypt(cipher, key, dir);
    EXPECT_EQ(error, "") << plain.size();
    EXPECT_EQ(back, plain) << plain.size();
  }
  auto cipher = encrypt(big, key, dir);
  EXPECT_NE(decrypt(cipher, random_key(), dir).second.find("wrong key"), std::string::npos);
  std::string changed = cipher;
  changed[changed.size() / 2] ^= 0x01;
  EXPECT_NE(decrypt(changed, key, dir).second.find("fails its authentication"), std::string::npos);
  // Cut at a part boundary (the whole first part kept): still refused, the end is missing.
  size_t first_part = 8 + 24 + 4 + 64 * 1024 + 17;
  EXPECT_NE(decrypt(cipher.substr(0, first_part), key, dir).second.find("last part is missing"), std::string::npos);
  EXPECT_NE(decrypt(cipher.substr(0, cipher.size() - 1), key, dir).second.find("cut off"), std::string::npos);
  EXPECT_NE(decrypt(cipher + "x", key, dir).second.find("after its end"), std::string::npos);
  EXPECT_NE(decrypt("PGDMP not ours", key, dir).second.find("not a vpnbot backup"), std::string::npos);
}

class BackupTest : public vpnbot::testing::AsyncDbTest {
 protected:
  void SetUp() override {
    AsyncDbTest::SetUp();
    key_file = dir.file("backup.key");
    std::string hex(64, '0');
    auto key = random_key();
    sodium_bin2hex(hex.data(), hex.size() + 1, key.data(), key.size());
    int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_EQ(::write(fd, hex.data(), hex.size()), 64);
    ::close(fd);
    // Data in most tables a restore must bring back.
    vpnbot::testing::exec_sync(
        url,
        "INSERT INTO users (id, first_name, referral_code) SELECT g, 'user ' || g, 'r' || g FROM "
        "generate_series(1, 500) g");
    vpnbot::testing::exec_sync(url, "INSERT INTO promo_groups (name, plan_percent) VALUES ('friends', 15)");
    vpnbot::testing::exec_sync(url, "UPDATE users SET promo_group_id = 1 WHERE id <= 10");
    vpnbot::testing::exec_sync(url,
                               "INSERT INTO subscriptions (user_id, expires_at, device_limit) SELECT id, now() + "
                               "interval '30 days', 3 FROM users WHERE id <= 200");
  }
  std::map<std::string, std::string> env() const {
    return {{"VPNBOT_DATABASE_URL", vpnbot::testing::direct_url(url)},
            {"VPNBOT_MASTER_KEY_FILE", vpnbot::testing::test_master_key_file()}};
  }
  std::pair<int, std::string> admin(std::vector<std::string> args) const {
    args.insert(args.begin(), "admin");
    auto p = vpnbot::testing::spawn_vpnbot(args, env());
    int rc = p.wait(Millis(60000));
    return {rc, p.output()};
  }
  // A fingerprint of what matters: the rows of the tables the data went into.
  static std::string fingerprint(const std::string& database_url) {
    return vpnbot::testing::query_value_sync(
        database_url,
        "SELECT (SELECT md5(string_agg(id || ':' || first_name || ':' || coalesce(promo_group_id, 0), ',' ORDER BY "
        "id)) FROM users) || '/' || (SELECT count(*) FROM subscriptions) || '/' || (SELECT max(version) FROM "
        "schema_migrations)");
  }
  TempDir dir;
  std::string key_file;
};

// pg_dump gets the database password by environment, never on its command line (which `ps` shows every user): a
// stand-in pg_dump records what it was given.
TEST(BackupTool, GetsThePasswordByEnvironmentNeverOnItsCommandLine) {
  TempDir dir;
  write_all(dir.file("pg_dump"), "#!/bin/sh\nprintf '%s\\n' \"$@\" > '" + dir.file("args") +
                                     "'\nprintf '%s' \"$PGPASSWORD\" > '" + dir.file("password") +
                                     "'\nprintf 'dump'\n");
  ::chmod(dir.file("pg_dump").c_str(), 0755);
  std::string hex_key(64, 'a');
  write_all(dir.file("key"), hex_key);
  ::chmod(dir.file("key").c_str(), 0600);
  ops::BackupOptions options{dir.file("backups"), dir.file("key"), 2, dir.path.string()};
  auto made = ops::make_backup(options, "postgresql://vpnbot:s3cr'et%20pw@127.0.0.1:5432/shop?sslmode=disable");
  std::string args = read_all(dir.file("args"));
  EXPECT_EQ(args.find("s3cr"), std::string::npos) << args;
  EXPECT_NE(args.find("--dbname="), std::string::npos) << args;
  for (const char* part : {"user='vpnbot'", "host='127.0.0.1'", "port='5432'", "dbname='shop'", "sslmode='disable'"})
    EXPECT_NE(args.find(part), std::string::npos) << part << " in " << args;
  EXPECT_EQ(read_all(dir.file("password")), "s3cr'et pw");
  EXPECT_GT(made.bytes, 0);
  try {
    ops::make_backup(options, "host='s3cret-unterminated");
    ADD_FAILURE() << "an unreadable connection string was used";
  } catch (const ops::BackupError& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
  }
}

TEST_F(BackupTest, CliKeepsTheNewestBackupsAndRestoresIntoAFreshClusterAllOrNothing) {
  std::string backups = dir.file("backups");
  // A crashed run's partial file (two days old) is removed; one still being written (fresh) is left alone.
  fs::create_directories(backups);
  write_all(backups + "/.vpnbot-crashed.dump.enc.partial", "half");
  fs::last_write_time(backups + "/.vpnbot-crashed.dump.enc.partial",
                      fs::file_time_type::clock::now() - std::chrono::hours(48));
  write_all(backups + "/.vpnbot-running.dump.enc.partial", "in progress");
  for (int i = 0; i < 3; ++i) {
    auto made = admin({"--json", "backup", "--dir", backups, "--key-file", key_file, "--keep", "2"});
    ASSERT_EQ(made.first, 0) << made.second;
  }
  auto files = ops::list_backups(backups);
  ASSERT_EQ(files.size(), 2u) << "the oldest of three deleted";
  EXPECT_FALSE(fs::exists(backups + "/.vpnbot-crashed.dump.enc.partial"));
  EXPECT_TRUE(fs::exists(backups + "/.vpnbot-running.dump.enc.partial"));
  fs::remove(backups + "/.vpnbot-running.dump.enc.partial");
  for (const auto& f : fs::directory_iterator(backups))
    EXPECT_EQ(f.path().filename().string().rfind("vpnbot-", 0), 0u) << "no partial files of these runs: " << f.path();
  EXPECT_EQ((fs::status(files.back().path).permissions() & fs::perms::others_read), fs::perms::none);
  std::string newest = files.back().path;
  EXPECT_EQ(read_all(newest).find("PGDMP"), std::string::npos) << "the dump's header is not in the clear";

  // A fresh cluster, as after losing the server.
  db::LocalCluster target(db::LocalCluster::Options{});
  target.start();
  vpnbot::testing::exec_sync(target.url(), "CREATE DATABASE restored");
  std::string restored = target.url("restored");
  auto restore = admin({"restore", newest, "--target-url", restored, "--key-file", key_file});
  ASSERT_EQ(restore.first, 0) << restore.second;
  EXPECT_EQ(fingerprint(restored), fingerprint(url));
  EXPECT_EQ(std::stoll(vpnbot::testing::query_value_sync(restored, "SELECT count(*) FROM users")), 500);
  // A database that is not empty is refused as a whole: nothing doubled, nothing half-written.
  auto again = admin({"restore", newest, "--target-url", restored, "--key-file", key_file});
  EXPECT_EQ(again.first, 1) << again.second;
  EXPECT_NE(again.second.find("pg_restore failed"), std::string::npos) << again.second;
  EXPECT_EQ(std::stoll(vpnbot::testing::query_value_sync(restored, "SELECT count(*) FROM users")), 500);

  // A wrong key and a changed file restore nothing at all.
  vpnbot::testing::exec_sync(target.url(), "CREATE DATABASE untouched");
  std::string untouched = target.url("untouched");
  std::string other_key = dir.file("other.key");
  {
    std::ofstream out(other_key);
    out << std::string(64, 'a') << "\n";
  }
  fs::permissions(other_key, fs::perms::owner_read | fs::perms::owner_write);
  auto wrong = admin({"restore", newest, "--target-url", untouched, "--key-file", other_key});
  EXPECT_EQ(wrong.first, 1);
  EXPECT_NE(wrong.second.find("wrong key"), std::string::npos) << wrong.second;
  std::string damaged = read_all(newest);
  damaged[damaged.size() - 40] ^= 0x20;
  write_all(dir.file("damaged.dump.enc"), damaged);
  auto bad = admin({"restore", dir.file("damaged.dump.enc"), "--target-url", untouched, "--key-file", key_file});
  EXPECT_EQ(bad.first, 1);
  EXPECT_NE(bad.second.find("changed"), std::string::npos) << bad.second;
  EXPECT_EQ(vpnbot::testing::query_value_sync(untouched, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
            "0");
  // Bad arguments and settings: clear errors.
  EXPECT_EQ(admin({"backup", "--dir", backups}).first, 2) << "no key: neither --key-file nor backup_key_file";
  fs::permissions(other_key, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  auto open_key = admin({"backup", "--dir", backups, "--key-file", other_key});
  EXPECT_EQ(open_key.first, 1);
  EXPECT_NE(open_key.second.find("readable by others"), std::string::npos) << open_key.second;
  EXPECT_EQ(ops::list_backups(backups).size(), 2u);
  auto no_pg_dump = vpnbot::testing::spawn_vpnbot(
      {"admin", "backup", "--dir", backups, "--key-file", key_file},
      {{"VPNBOT_DATABASE_URL", vpnbot::testing::direct_url(url)}, {"VPNBOT_PG_BIN_DIR", dir.file("nowhere")}});
  EXPECT_EQ(no_pg_dump.wait(Millis(30000)), 1) << no_pg_dump.output();
  EXPECT_EQ(ops::list_backups(backups).size(), 2u);
  target.stop();
}

// The scheduler's backup every (fast-clock) hour: made by the worker, sent once per file to the admin chat as a
// document that is exactly the file on disk, older copies deleted.
TEST_F(BackupTest, ScheduledBackupGoesToTheAdminChatOncePerFile) {
  vpnbot::testing::EmulatorThread telegram;
  constexpr int64_t kAdmin = 9001;
  uint16_t port = vpnbot::testing::free_port();
  auto e = env();
  std::string backups = dir.file("scheduled");
  e["VPNBOT_HTTP_LISTEN"] = "127.0.0.1:" + std::to_string(port);
  e["VPNBOT_PUBLIC_URL"] = "http://127.0.0.1:" + std::to_string(port);
  e["VPNBOT_TELEGRAM_MODE"] = "webhook";
  e["VPNBOT_TELEGRAM_API_URL"] = telegram.base_url();
  e["VPNBOT_TELEGRAM_TOKEN"] = telegram.token();
  e["VPNBOT_TELEGRAM_WEBHOOK_SECRET"] = "backup-test-secret";
  e["VPNBOT_ADMIN_IDS"] = std::to_string(kAdmin);
  e["VPNBOT_BACKUP_DIR"] = backups;
  e["VPNBOT_BACKUP_KEY_FILE"] = key_file;
  e["VPNBOT_BACKUP_KEEP"] = "2";
  e["VPNBOT_BACKUP_INTERVAL_HOURS"] = "1";
  e["VPNBOT_BACKUP_CHAT_ID"] = std::to_string(kAdmin);
  e["VPNBOT_SCHEDULER_TIME_SCALE"] = "1200";  // an hour every 3 seconds
  e["VPNBOT_JOB_POLL_INTERVAL_MS"] = "200";
  e["VPNBOT_ROLES"] = "gateway,worker,scheduler";
  // Without backup_key_file the setting is refused at start.
  auto no_key = e;
  no_key.erase("VPNBOT_BACKUP_KEY_FILE");
  auto refused = vpnbot::testing::spawn_vpnbot({"serve"}, no_key);
  EXPECT_EQ(refused.wait(Millis(20000)), 2) << refused.output();
  EXPECT_NE(refused.output().find("backup_key_file"), std::string::npos) << refused.output();

  telegram.client("/client/send_message", {{"user_id", kAdmin}, {"first_name", "Admin"}, {"text", "/start"}});
  auto serve = vpnbot::testing::spawn_vpnbot({"serve"}, e);
  auto documents = [&] {
    json out = json::array();
    for (auto& m : telegram.messages(kAdmin))
      if (m.value("from_bot", false) && m.contains("document")) out.push_back(m);
    return out;
  };
  ASSERT_TRUE(vpnbot::testing::wait_until([&] { return documents().size() >= 3; }, Millis(90000)))
      << serve.output().substr(0, 4000);
  serve.signal(SIGTERM);
  EXPECT_EQ(serve.wait(Millis(30000)), 0);
  auto sent = documents();
  std::set<std::string> names;
  for (auto& d : sent) {
    std::string name = d["document"]["file_name"];
    EXPECT_TRUE(names.insert(name).second) << "each backup is sent once: " << name;
    EXPECT_NE(d.value("caption", "").find("vpnbot backup"), std::string::npos) << d;
  }
  // A sent backup leaves nothing of itself in the outbox, so no backup embeds the one before it (they would double).
  EXPECT_EQ(vpnbot::testing::query_value_sync(url,
                                              "SELECT count(*) FROM outbox WHERE files IS NOT NULL AND state "
                                              "NOT IN ('pending', 'sending')"),
            "0");
  for (auto& d : sent)
    EXPECT_LT(d["document"]["file_size"].get<int64_t>(), sent[0]["document"]["file_size"].get<int64_t>() * 3 / 2)
        << "a backup grew by an earlier one: " << d;
  auto files = ops::list_backups(backups);
  ASSERT_LE(files.size(), 2u);
  ASSERT_GE(files.size(), 1u);
  // The newest on disk is byte for byte the document Telegram got.
  for (auto& d : sent)
    if (d["document"]["file_name"] == files.back().name) {
      auto body = vpnbot::testing::http_request("GET",
                                                telegram.base_url() + "/client/file?chat_id=" + std::to_string(kAdmin) +
                                                    "&message_id=" + std::to_string(d["message_id"].get<int64_t>()),
                                                "");
      EXPECT_EQ(body.second, read_all(files.back().path));
    }
  EXPECT_EQ(vpnbot::testing::query_value_sync(url,
                                              "SELECT count(*) FROM jobs WHERE kind = 'ops.backup' AND state "
                                              "= 'dead'"),
            "0");
}
