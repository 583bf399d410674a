// Not compiled: tests/CMakeLists.txt hands this file to cmake/check_layers.cmake as if it were in src/db/, which
// must refuse it (db may include only core and db).
#include "bot/bot.hpp"
#include "core/log.hpp"
#include "db/pool.hpp"
