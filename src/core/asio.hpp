#pragma once
// One place for the Asio include order quirk (g++ 12 + Boost 1.74 need <utility> first) and short names.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

// g++ 12 coroutine bug: a temporary with a non-trivial destructor made by ?:, by a lambda with captures, or by a
// braced aggregate inside a co_await expression may be destroyed twice. Name such values before co_await.
// Awaitables start lazily: a coroutine called (not co_awaited) in a return statement outlives the caller's
// temporaries, so coroutines that may be called that way take strings by value.

namespace vpnbot {
namespace asio = boost::asio;
template <typename T = void>
using awaitable = asio::awaitable<T>;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
}  // namespace vpnbot
