// Keys, sealing, config rendering, QR, UAPI protocol and atomic persistence: no database, no root.
#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "agent/persist.hpp"
#include "agent/uapi.hpp"
#include "agent/wg_agent.hpp"
#include "core/encoding.hpp"
#include "core/process.hpp"
#include "support/process.hpp"
#include "vpn/client_config.hpp"
#include "vpn/keys.hpp"
#include "vpn/remnawave/accounts.hpp"
#include "vpn/remnawave/apps.hpp"

using namespace vpnbot;

namespace {
std::string temp_dir() {
  char tmpl[] = "/tmp/vpnbot-vpn-unit-XXXXXX";
  return mkdtemp(tmpl);
}
}  // namespace

TEST(Keys, MatchWgPubkeyForAThousandRandomKeys) {
  if (system("command -v wg >/dev/null 2>&1") != 0) GTEST_SKIP() << "wg (wireguard-tools) is not installed";
  std::string dir = temp_dir();
  // One shell process computes all 1000 public keys with `wg pubkey`: the reference implementation.
  std::string script = dir + "/keys.sh";
  std::vector<vpn::KeyPair> pairs;
  {
    std::ofstream out(script);
    for (int i = 0; i < 1000; ++i) {
      pairs.push_back(vpn::generate_keypair());
      out << "echo " << pairs.back().private_key << " | wg pubkey\n";
    }
  }
  ASSERT_EQ(run_process({"sh", "-c", "sh " + script + " > " + dir + "/pub.txt"}), 0);
  std::ifstream in(dir + "/pub.txt");
  std::string line;
  int i = 0;
  while (std::getline(in, line)) {
    ASSERT_LT(i, 1000);
    EXPECT_EQ(line, pairs[i].public_key) << "key " << i;
    EXPECT_EQ(vpn::public_key_for(pairs[i].private_key), pairs[i].public_key);
    ++i;
  }
  EXPECT_EQ(i, 1000);
  std::filesystem::remove_all(dir);
}

TEST(Keys, EncodingAndValidation) {
  auto psk = vpn::generate_preshared_key();
  EXPECT_EQ(psk.size(), 44u);
  EXPECT_EQ(vpn::hex_to_key(vpn::key_to_hex(psk)), psk);
  EXPECT_THROW(vpn::decode_key("short"), std::invalid_argument);
  EXPECT_THROW(vpn::public_key_for("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"), std::invalid_argument);
}

TEST(SecretBox, SealsOpensAndRejectsTamperingOrWrongKey) {
  std::string dir = temp_dir();
  auto box = vpn::SecretBox::from_file(dir + "/master.key", true);
  EXPECT_EQ(std::filesystem::status(dir + "/master.key").permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto again = vpn::SecretBox::from_file(dir + "/master.key", false);
  auto sealed = box.seal("private key");
  EXPECT_NE(sealed.find("private"), 0u);
  EXPECT_EQ(again.open(sealed), "private key");
  std::string tampered = sealed;
  tampered[30] = tampered[30] == 'A' ? 'B' : 'A';
  EXPECT_THROW(box.open(tampered), std::runtime_error);
  EXPECT_THROW(vpn::SecretBox(std::array<unsigned char, 32>{}).open(sealed), std::runtime_error);
  EXPECT_THROW(vpn::SecretBox::from_file(dir + "/missing.key", false), std::runtime_error);
  std::filesystem::permissions(dir + "/master.key", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  EXPECT_THROW(vpn::SecretBox::from_file(dir + "/master.key", false), std::runtime_error) << "world-readable key";
  std::filesystem::remove_all(dir);
}

TEST(ClientConfig, RendersWgQuickConfigAndAQrPng) {
  vpn::ClientConfigData c{"PRIV",      "PSK",  "10.8.0.2", "1.1.1.1", "SERVERPUB", "vpn.example.com:51820",
                          "Amsterdam", "nl-1", 1420};
  auto text = vpn::render_client_config(c);
  EXPECT_EQ(text,
            "[Interface]\nPrivateKey = PRIV\nAddress = 10.8.0.2/32\nDNS = 1.1.1.1\nMTU = 1420\n\n[Peer]\n"
            "PublicKey = SERVERPUB\nPresharedKey = PSK\nEndpoint = vpn.example.com:51820\n"
            "AllowedIPs = 0.0.0.0/0, ::/0\nPersistentKeepalive = 25\n");
  auto png = vpn::qr_png(text);
  ASSERT_GT(png.size(), 100u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(vpn::client_config_filename("amsterdam-1", 1234567), "amsterda-234567.conf");
  EXPECT_EQ(vpn::client_config_filename("sandbox-nl", 1), "sandbox-1.conf") << "no doubled dash after the cut";
}

TEST(Uapi, ParsesGetAndFormatsSet) {
  auto a = vpn::generate_keypair(), b = vpn::generate_keypair();
  auto psk = vpn::generate_preshared_key();
  std::string get = "private_key=" + vpn::key_to_hex(a.private_key) +
                    "\nlisten_port=51820\npublic_key=" + vpn::key_to_hex(b.public_key) +
                    "\npreshared_key=" + vpn::key_to_hex(psk) +
                    "\nlast_handshake_time_sec=1700000000\nrx_bytes=10\ntx_bytes=20\nallowed_ip=10.8.0.2/32\n"
                    "errno=0\n\n";
  auto state = agent::Uapi::parse(get);
  EXPECT_EQ(state.private_key, a.private_key);
  EXPECT_EQ(state.listen_port, 51820);
  ASSERT_EQ(state.peers.size(), 1u);
  auto& p = state.peers.at(b.public_key);
  EXPECT_EQ(p.preshared_key, psk);
  EXPECT_EQ(p.allowed_ips, std::vector<std::string>{"10.8.0.2/32"});
  EXPECT_EQ(p.rx_bytes, 10);
  EXPECT_EQ(p.last_handshake_sec, 1700000000);
  auto set =
      agent::Uapi::format_set({{b.public_key, false, psk, "10.8.0.2/32"}, {a.public_key, true, "", ""}}, "", 0, false);
  EXPECT_EQ(set, "set=1\npublic_key=" + vpn::key_to_hex(b.public_key) + "\npreshared_key=" + vpn::key_to_hex(psk) +
                     "\nreplace_allowed_ips=true\nallowed_ip=10.8.0.2/32\npublic_key=" + vpn::key_to_hex(a.public_key) +
                     "\nremove=true\n\n");
  EXPECT_THROW(agent::Uapi::parse("errno=22\n\n"), std::runtime_error);
}

TEST(Persist, AtomicReplaceAndCrashBeforeRenameKeepsTheOldFile) {
  std::string dir = temp_dir();
  std::string path = dir + "/wg0.conf";
  agent::PersistedConfig config{vpn::generate_keypair().private_key, 51820, {}};
  for (int i = 0; i < 3; ++i)
    config.peers.push_back({vpn::generate_keypair().public_key, false, vpn::generate_preshared_key(),
                            "10.8.0." + std::to_string(i + 2) + "/32"});
  agent::write_file_atomically(path, agent::format_persisted(config));
  auto parsed = agent::parse_persisted(agent::read_file(path));
  EXPECT_EQ(parsed.private_key, config.private_key);
  EXPECT_EQ(parsed.listen_port, 51820);
  ASSERT_EQ(parsed.peers.size(), 3u);
  EXPECT_EQ(parsed.peers[2].allowed_ip, "10.8.0.4/32");
  EXPECT_EQ(parsed.peers[1].preshared_key, config.peers[1].preshared_key);
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto before = agent::read_file(path);
  EXPECT_THROW(agent::write_file_atomically(path, "[Interface]\ntorn", 0600, true), std::runtime_error);
  EXPECT_EQ(agent::read_file(path), before) << "a crash before the rename leaves the previous file intact";
  std::filesystem::remove_all(dir);
}

// Remnawave request builders and answer parsing (the contract test checks the same bodies against the schemas).
TEST(RemnawaveRequests, CreateCarriesTheWholeDesiredStateAndUpdateOmitsAPastExpiry) {
  vpnbot::remnawave::DesiredUser user;
  user.username = "tg42_7";
  user.expire_at = "2030-01-01T00:00:00.000Z";
  user.traffic_limit_bytes = 50LL << 30;
  user.device_limit = 2;
  user.telegram_id = 42;
  user.squads = {"6f1c7c5e-2f0b-4b8e-9a51-1f2d3c4b5a69"};
  auto create = vpnbot::remnawave::create_user_body(user);
  EXPECT_EQ(create["username"], "tg42_7");
  EXPECT_EQ(create["status"], "ACTIVE");
  EXPECT_EQ(create["expireAt"], "2030-01-01T00:00:00.000Z");
  EXPECT_EQ(create["trafficLimitBytes"], 50LL << 30);
  EXPECT_EQ(create["trafficLimitStrategy"], "NO_RESET");
  EXPECT_EQ(create["hwidDeviceLimit"], 2);
  EXPECT_EQ(create["telegramId"], 42);
  EXPECT_EQ(create["activeInternalSquads"].size(), 1u);
  user.active = false;
  user.expire_in_future = false;
  using vpnbot::remnawave::ApiVersion;
  auto update = vpnbot::remnawave::update_user_body(ApiVersion::v2, "0b6c2f60-8a44-4a0e-9d1e-7d7f1f0b1c2d", user);
  EXPECT_EQ(update["uuid"], "0b6c2f60-8a44-4a0e-9d1e-7d7f1f0b1c2d");
  EXPECT_FALSE(update.contains("id"));
  EXPECT_EQ(update["status"], "DISABLED");
  EXPECT_FALSE(update.contains("expireAt")) << "the panel refuses an expiry in the past";
  // 3.x addresses the user by its numeric id, and there is no uuid to send.
  auto update3 = vpnbot::remnawave::update_user_body(ApiVersion::v3, "17", user);
  EXPECT_EQ(update3["id"], 17);
  EXPECT_FALSE(update3.contains("uuid"));
  EXPECT_THROW(vpnbot::remnawave::update_user_body(ApiVersion::v3, "0b6c2f60-8a44", user), std::invalid_argument);
  EXPECT_EQ(vpnbot::remnawave::api_version_from(3), ApiVersion::v3);
  EXPECT_THROW(vpnbot::remnawave::api_version_from(1), std::invalid_argument);
  EXPECT_EQ(vpnbot::remnawave::panel_username(123456789012, 99), "tg123456789012_99");
}

TEST(RemnawaveRequests, ParsesUsersOfBoth2xShapesAnd3xAndRefusesOthers) {
  using vpnbot::remnawave::ApiVersion;
  nlohmann::json v23 = {{"uuid", "u"},
                        {"username", "n"},
                        {"status", "ACTIVE"},
                        {"subscriptionUrl", "https://s/x"},
                        {"trafficLimitBytes", 10},
                        {"userTraffic", {{"usedTrafficBytes", 7}}}};
  EXPECT_EQ(vpnbot::remnawave::parse_user(ApiVersion::v2, v23).used_traffic_bytes, 7);
  EXPECT_EQ(vpnbot::remnawave::parse_user(ApiVersion::v2, v23).ref, "u");
  nlohmann::json v3 = v23;
  v3.erase("uuid");
  v3["id"] = 41;
  EXPECT_EQ(vpnbot::remnawave::parse_user(ApiVersion::v3, v3).ref, "41");
  EXPECT_THROW(vpnbot::remnawave::parse_user(ApiVersion::v2, v3), std::invalid_argument) << "2.x needs the uuid";
  EXPECT_THROW(vpnbot::remnawave::parse_user(ApiVersion::v3, v23), std::invalid_argument) << "3.x needs the id";
  nlohmann::json older = {{"uuid", "u"},
                          {"username", "n"},
                          {"status", "LIMITED"},
                          {"subscriptionUrl", "https://s/x"},
                          {"usedTrafficBytes", 9}};
  EXPECT_EQ(vpnbot::remnawave::parse_user(ApiVersion::v2, older).used_traffic_bytes, 9);
  EXPECT_THROW(vpnbot::remnawave::parse_user(ApiVersion::v2, nlohmann::json::array()), std::invalid_argument);
  EXPECT_THROW(vpnbot::remnawave::parse_user(ApiVersion::v2, {{"uuid", "u"}}), std::invalid_argument);
}

TEST(RemnawaveApps, ParsesTheSettingAndBuildsOpenLinks) {
  auto apps = vpnbot::remnawave::parse_client_apps("Happ=happ://add/{url},Hiddify=hiddify://import/{url}#x");
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[1].name, "Hiddify");
  EXPECT_THROW(vpnbot::remnawave::parse_client_apps("Happ=happ://add/"), std::invalid_argument);
  EXPECT_THROW(vpnbot::remnawave::parse_client_apps("Web=https://x/{url}"), std::invalid_argument);
  EXPECT_THROW(vpnbot::remnawave::parse_client_apps("=happ://{url}"), std::invalid_argument);
  const std::string key = vpnbot::remnawave::open_page_key("123:token");
  const std::string signature = vpnbot::remnawave::open_page_signature(key, 1, "https://p/api/sub/a b");
  EXPECT_EQ(signature.size(), 32u);
  EXPECT_EQ(vpnbot::remnawave::open_page_url("https://bot.example/", 1, "https://p/api/sub/a b", key),
            "https://bot.example/open/1?s=" + signature + "&u=https%3A%2F%2Fp%2Fapi%2Fsub%2Fa%20b");
  EXPECT_NE(vpnbot::remnawave::open_page_signature(key, 0, "https://p/api/sub/a b"), signature) << "per app";
  EXPECT_NE(vpnbot::remnawave::open_page_signature(key, 1, "https://p/api/sub/a c"), signature) << "per link";
  EXPECT_NE(
      vpnbot::remnawave::open_page_signature(vpnbot::remnawave::open_page_key("124:token"), 1, "https://p/api/sub/a b"),
      signature)
      << "per bot";
  EXPECT_EQ(key.find("token"), std::string::npos);
  EXPECT_EQ(vpnbot::url_decode("https%3A%2F%2Fp%2Fa+b"), "https://p/a b");
  EXPECT_THROW(vpnbot::url_decode("%zz"), std::invalid_argument);
}
