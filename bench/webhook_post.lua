-- wrk script: POSTs Telegram updates with unique update_ids (each thread in its own id range), like a busy bot.
local counter = 0
thread_base = 0
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_base", next_thread * 100000000)
end

function init(args)
  secret = args[1] or ""
end

function request()
  counter = counter + 1
  local id = thread_base + counter
  local chat = 1000 + (counter % 500)
  local body = string.format(
    '{"update_id":%d,"message":{"message_id":%d,"date":1700000000,"chat":{"id":%d,"type":"private"},' ..
    '"from":{"id":%d,"is_bot":false,"first_name":"Load"},"text":"/start"}}', id, id, chat, chat)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
                                  ["X-Telegram-Bot-Api-Secret-Token"] = secret}, body)
end
