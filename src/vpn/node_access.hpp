#pragma once
#include <string>

#include "core/asio.hpp"
#include "db/pool.hpp"
#include "vpn/keys.hpp"

namespace vpnbot::vpn {

// What a WireGuard node's agent runs with instead of the shop's secrets (migrations/0025): a database role that
// sees only its own node and peers and writes only its readings, status and lease, and the node's own sealing key.
struct NodeCredential {
  std::string role;
  std::string database_url;  // the shop's connection string with the node's role and its new password
  std::string node_key_hex;  // SecretBox::for_node of the new generation
  int generation = 0;
};

// Issues a node's credential, or rotates it when it has one: a new password (the old one stops working; sessions
// opened with it are ended where the shop's role may end them), the node's secrets re-sealed with the key of a new
// generation, and its role's grants set again (they are the only privileges it has). The shop's role needs
// CREATEROLE. `database_url` is the shop's own, whose host, port and database the node's URL keeps.
awaitable<NodeCredential> issue_node_credential(db::Pool& pool, const SecretBox& master,
                                                const std::string& database_url, const std::string& node_name);

// Writes database.url and node.key (mode 0600, replaced atomically) into `dir` for the operator to install on the
// node; returns their paths.
std::pair<std::string, std::string> write_node_credential(const NodeCredential& credential, const std::string& dir);
// The node's side: database.url from its credential directory; refused when others may read it.
std::string read_node_database_url(const std::string& dir);

}  // namespace vpnbot::vpn
