#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "jobs/scheduler.hpp"
#include "jobs/worker.hpp"

namespace vpnbot::support {

struct SupportJobOptions {
  int64_t chat_id = 0;  // the support forum group
  int sla_minutes = 60;
  // createForumTopic in the support group: the new topic's message_thread_id (throws when Telegram refuses).
  std::function<awaitable<int64_t>(std::string name)> create_topic;
  // Closes a ticket as the staff do (topic closed, the user told in their language); false when it was not open.
  std::function<awaitable<bool>(db::Transaction& tx, int64_t ticket_id, std::string unique_suffix)> close_by_staff;
};

// support.topic {ticket_id}: makes the ticket's forum topic (once; a ticket's job is unique), then, under the
// ticket's lock, stores it, posts who the user is and relays every message that arrived meanwhile.
// support.close {ticket_id}: an admin closed the ticket from the CLI (the bot's wording and topic change).
// support.sla {at_ms}: reminds the staff in each topic whose user has waited longer than sla_minutes, once per wait.
void register_job_handlers(jobs::Worker& worker, SupportJobOptions options);
// support.sla every minute while a support group is configured.
std::vector<jobs::PeriodicTask> periodic_tasks(int64_t chat_id);

}  // namespace vpnbot::support
