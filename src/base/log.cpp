#include "base/log.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/dup_filter_sink.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace gyre {

Logger make_stderr_logger(std::string name, std::chrono::milliseconds repeat_window) {
  auto filter = std::make_shared<spdlog::sinks::dup_filter_sink_mt>(repeat_window);
  filter->add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  auto logger = std::make_shared<spdlog::logger>(std::move(name), std::move(filter));
  logger->set_formatter(std::make_unique<spdlog::pattern_formatter>(
      "%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %n: %v", spdlog::pattern_time_type::utc));
  logger->set_level(spdlog::level::info);
  logger->flush_on(spdlog::level::info);
  return logger;
}

Logger null_logger() {
  auto logger =
      std::make_shared<spdlog::logger>("null", std::make_shared<spdlog::sinks::null_sink_mt>());
  logger->set_level(spdlog::level::off);  // nothing is even formatted
  return logger;
}

}  // namespace gyre
