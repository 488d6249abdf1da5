// The Redis key-value backend (`type = "redis"`, `url = "redis://..."`), over hiredis.
// As in Spin, every label of one provider shares the server's key space (the label is not
// a prefix), increments are Redis integers (decimal text), and compare-and-swap is
// WATCH / MULTI / EXEC on a connection of its own. Other operations use the connection the
// store was opened with, from a pool of idle ones per provider, and wait on the server
// through the calling guest's Suspender (spin/redis/redis_client.hpp): no thread is held.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "spin/key_value/store.hpp"

namespace gyre::spin::key_value {

// A parsed `redis://[user[:password]@]host[:port][/db]` or `unix:///path` (also
// `redis+unix://`) URL.
struct RedisUrl {
  std::string host;         // empty for a Unix socket
  int port = 6379;          //
  std::string socket_path;  // Unix sockets only
  std::string username;
  std::string password;
  int database = 0;
};

// The URL, or why it is not one Gyre can use.
Result<RedisUrl, std::string> parse_redis_url(std::string_view url);

std::shared_ptr<StoreProvider> make_redis_provider(RedisUrl url);

}  // namespace gyre::spin::key_value
