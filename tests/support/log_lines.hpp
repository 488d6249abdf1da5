// A Logger whose lines a test can read: each message (without time or level) is kept.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/log.hpp"

namespace gyre::testing {

class LogLines {
 public:
  LogLines()
      : sink_(std::make_shared<Sink>()), logger_(std::make_shared<spdlog::logger>("test", sink_)) {}

  const Logger& logger() const { return logger_; }
  std::vector<std::string> lines() const {
    std::lock_guard lock(sink_->lines_mutex);
    return sink_->lines;
  }

 private:
  struct Sink final : spdlog::sinks::base_sink<std::mutex> {
    mutable std::mutex lines_mutex;
    std::vector<std::string> lines;
    void sink_it_(const spdlog::details::log_msg& message) override {
      std::lock_guard lock(lines_mutex);
      lines.emplace_back(message.payload.data(), message.payload.size());
    }
    void flush_() override {}
  };
  std::shared_ptr<Sink> sink_;
  Logger logger_;
};

}  // namespace gyre::testing
