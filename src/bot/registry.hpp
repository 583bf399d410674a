#pragma once
// What the bot's registries (bot/screens/, bot/actions/) share: a lookup by id in a table of a few dozen entries.
#include <string_view>

namespace vpnbot::bot {

// The entry of `table` whose `id_field` equals `id`, or nullptr.
template <typename Table, typename Entry>
const Entry* find_entry(const Table& table, std::string_view Entry::*id_field, std::string_view id) {
  for (const Entry& entry : table)
    if (entry.*id_field == id) return &entry;
  return nullptr;
}

}  // namespace vpnbot::bot
