#pragma once
#include <cstdint>
#include <string>

#include "core/asio.hpp"
#include "db/pool.hpp"

namespace vpnbot::support {

// The outbox rows of the support group, each unique by its key (a retried update or job writes it once).
// A user's message copied into its ticket's topic, then marked relayed.
awaitable<void> relay_to_topic(db::Transaction& tx, int64_t support_chat_id, int64_t topic_id, int64_t from_chat_id,
                               int64_t message_id, int64_t row_id);
// A note from the bot in a topic (HTML).
awaitable<void> say_in_topic(db::Transaction& tx, int64_t support_chat_id, int64_t topic_id, std::string text,
                             std::string unique_key);
// closeForumTopic / reopenForumTopic.
awaitable<void> set_topic_state(db::Transaction& tx, int64_t support_chat_id, int64_t topic_id, bool open,
                                std::string unique_key);

}  // namespace vpnbot::support
