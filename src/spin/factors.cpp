#include "spin/factors.hpp"

#include "spin/key_value/key_value_factor.hpp"
#include "spin/llm/llm_factor.hpp"
#include "spin/mqtt/mqtt_factor.hpp"
#include "spin/mysql/mysql_factor.hpp"
#include "spin/postgres/postgres_factor.hpp"
#include "spin/redis/redis_factor.hpp"
#include "spin/sqlite/sqlite_factor.hpp"
#include "spin/variables/variables_factor.hpp"

namespace gyre::spin {

std::vector<std::unique_ptr<Factor>> make_factors(const CommandLineSettings& settings) {
  std::vector<std::unique_ptr<Factor>> out;
  out.push_back(variables::make_factor());
  // SQLite before key-value, so their start-up lines come in Spin's order.
  out.push_back(sqlite::make_factor({settings.sqlite_statements}));
  out.push_back(key_value::make_factor({settings.key_values}));
  out.push_back(llm::make_factor());
  out.push_back(redis::make_factor());
  out.push_back(mqtt::make_factor());
  out.push_back(postgres::make_factor());
  out.push_back(mysql::make_factor());
  return out;
}

}  // namespace gyre::spin
