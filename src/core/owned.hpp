#pragma once
#include <memory>
#include <utility>
#include <vector>

namespace vpnbot {

// Makes a T owned by `owners` (the unique_ptrs to its base a registry keeps, in the order added) and returns it typed,
// for the caller to wire to what it builds next.
template <typename T, typename Base, typename... Args>
T& emplace_owned(std::vector<std::unique_ptr<Base>>& owners, Args&&... args) {
  auto object = std::make_unique<T>(std::forward<Args>(args)...);
  T& ref = *object;
  owners.push_back(std::move(object));
  return ref;
}

}  // namespace vpnbot
