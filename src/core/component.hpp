#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/asio.hpp"
#include "core/event.hpp"
#include "core/log.hpp"
#include "core/owned.hpp"
#include "core/task_group.hpp"

namespace vpnbot {

// One part of a running process (a server, a consumer, a lease, a client): built from its own settings and
// references to the components it needs, which the runtime built before it and stops after it.
class Component {
 public:
  virtual ~Component() = default;
  virtual std::string name() const = 0;
  // Starts the component's loops (into a group it owns). Runs after every component it depends on started.
  virtual void start() {}
  // Stops taking work, finishes or hands back what is in flight by `deadline`, and joins its loops: when it
  // returns, nothing the component started is still running.
  virtual awaitable<void> stop(Clock::time_point /*deadline*/) { co_return; }
};

// A component whose one loop runs until asked to stop (a lease, a listener, a background retry): the loop is
// spawned into the component's group on start and joined on stop. A loop that ends with an exception is fatal:
// `on_fatal` takes the process down so that its supervisor restarts it.
class LoopComponent : public Component {
 public:
  using Fatal = std::function<void(const std::string& component, const std::string& error)>;
  LoopComponent(asio::any_io_executor ex, std::string name, std::function<awaitable<void>()> loop,
                std::function<void()> request_stop, Fatal on_fatal)
      : name_(std::move(name)),
        loop_(std::move(loop)),
        request_stop_(std::move(request_stop)),
        group_(ex, std::move(on_fatal)) {}
  std::string name() const override { return name_; }
  void start() override { group_.spawn(name_, loop_()); }
  awaitable<void> stop(Clock::time_point deadline) override {
    if (request_stop_) request_stop_();
    bool in_time = co_await group_.join(deadline);  // named: g++ 12 miscompiles `if (!co_await ...)` here
    if (!in_time) {
      log::warn("app", "component still stopping at the deadline", {{"component", name_}});
      co_await group_.join(Clock::time_point::max());  // its waits carry their own deadlines
    }
  }

 private:
  std::string name_;
  std::function<awaitable<void>()> loop_;
  std::function<void()> request_stop_;
  TaskGroup group_;
};

// Owns an object that has no loops of its own (a router, a client, the bot) so that the runtime destroys it after
// the components built on it.
template <typename T>
class Holder : public Component {
 public:
  template <typename... Args>
  explicit Holder(std::string name, Args&&... args) : name_(std::move(name)), object_(std::forward<Args>(args)...) {}
  std::string name() const override { return name_; }
  T& get() { return object_; }

 private:
  std::string name_;
  T object_;
};

// Owns an object whose loop is `awaitable<void> run()` until `stop()` (a lease, the LISTEN listener, the
// scheduler, the poller) and runs that loop as a component.
template <typename T>
class RunStop : public LoopComponent {
 public:
  RunStop(asio::any_io_executor ex, std::string name, Fatal on_fatal, std::unique_ptr<T> object)
      : LoopComponent(
            ex, std::move(name), [this] { return object_->run(); }, [this] { object_->stop(); }, std::move(on_fatal)),
        object_(std::move(object)) {}
  T& get() { return *object_; }

 private:
  std::unique_ptr<T> object_;
};

// Retries a start-up call to an external API (registering the webhook, getMe) with backoff from 1 s to 60 s until it
// succeeds or the process stops: the process keeps serving meanwhile instead of crashing in a restart loop.
class BackgroundRetry : public Component {
 public:
  BackgroundRetry(asio::any_io_executor ex, std::string what, std::function<awaitable<void>()> attempt)
      : what_(std::move(what)), attempt_(std::move(attempt)), wake_(ex), group_(ex, [](auto& task, auto& error) {
          log::error("app", "background retry failed", {{"task", task}, {"error", error}});
        }) {}
  std::string name() const override { return what_; }
  void start() override { group_.spawn(what_, loop()); }
  awaitable<void> stop(Clock::time_point deadline) override {
    stopping_ = true;
    wake_.notify();
    bool in_time = co_await group_.join(deadline);
    if (!in_time) co_await group_.join(Clock::time_point::max());  // the call's own timeout
  }

 private:
  awaitable<void> loop() {
    Millis delay{1000};
    while (!stopping_) {
      std::string error;
      try {
        co_await attempt_();
        co_return;
      } catch (const std::exception& e) {
        error = e.what();
      }
      log::warn("app", what_ + " failed, will retry", {{"error", error}, {"retry_ms", delay.count()}});
      wake_.reset();
      co_await wake_.wait_for(delay);
      delay = std::min(delay * 2, Millis(60000));
    }
  }

  std::string what_;
  std::function<awaitable<void>()> attempt_;
  Event wake_;
  bool stopping_ = false;
  TaskGroup group_;
};

// Owns the components of one process. They are added in dependency order (each may reference only those added
// before it), started in that order and stopped in reverse; destroying the runtime destroys them in reverse too.
class ComponentRuntime {
 public:
  template <typename T, typename... Args>
  T& add(Args&&... args) {
    return emplace_owned<T>(components_, std::forward<Args>(args)...);
  }
  void add(std::unique_ptr<Component> component) { components_.push_back(std::move(component)); }

  void start() {
    for (auto& component : components_) {
      component->start();
      ++started_;
    }
  }
  // Stops the started components in reverse order, all under one deadline.
  awaitable<void> stop(Clock::time_point deadline) {
    while (started_ > 0) {
      auto& component = components_[--started_];
      auto begin = Clock::now();
      co_await component->stop(deadline);
      log::info(
          "app", "component stopped",
          {{"component", component->name()}, {"ms", std::chrono::duration_cast<Millis>(Clock::now() - begin).count()}});
    }
  }
  ~ComponentRuntime() {
    while (!components_.empty()) components_.pop_back();
  }

 private:
  std::vector<std::unique_ptr<Component>> components_;
  size_t started_ = 0;
};

}  // namespace vpnbot
