#include "support/relay.hpp"

#include "support/tickets.hpp"
#include "telegram/outbox.hpp"

namespace vpnbot::support {

awaitable<void> relay_to_topic(db::Transaction& tx, int64_t support_chat_id, int64_t topic_id, int64_t from_chat_id,
                               int64_t message_id, int64_t row_id) {
  telegram::OutMessage copy;
  copy.chat_id = support_chat_id;
  copy.method = "copyMessage";
  copy.priority = telegram::kPriorityNotice;
  copy.payload = {{"from_chat_id", from_chat_id}, {"message_id", message_id}, {"message_thread_id", topic_id}};
  copy.unique_key = "ticket-message:" + std::to_string(row_id);
  co_await telegram::Outbox::enqueue(tx, copy);
  co_await Tickets::mark_relayed(tx, row_id);
}

awaitable<void> say_in_topic(db::Transaction& tx, int64_t support_chat_id, int64_t topic_id, std::string text,
                             std::string unique_key) {
  telegram::OutMessage note;
  note.chat_id = support_chat_id;
  note.priority = telegram::kPriorityNotice;
  note.payload = {{"text", std::move(text)}, {"parse_mode", "HTML"}, {"message_thread_id", topic_id}};
  note.unique_key = std::move(unique_key);
  co_await telegram::Outbox::enqueue(tx, note);
}

awaitable<void> set_topic_state(db::Transaction& tx, int64_t support_chat_id, int64_t topic_id, bool open,
                                std::string unique_key) {
  telegram::OutMessage change;
  change.chat_id = support_chat_id;
  change.method = open ? "reopenForumTopic" : "closeForumTopic";
  change.priority = telegram::kPriorityNotice;
  change.payload = {{"message_thread_id", topic_id}};
  change.unique_key = std::move(unique_key);
  co_await telegram::Outbox::enqueue(tx, change);
}

}  // namespace vpnbot::support
