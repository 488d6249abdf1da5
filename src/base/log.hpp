// Gyre's own log (not a component's output): spdlog loggers, so that every line has a
// time, a level and its newline. A logger is handed to whatever logs, never reached
// through spdlog's global registry, so tests can read what one part said.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <memory>
#include <string>

namespace gyre {

using Logger = std::shared_ptr<spdlog::logger>;

// Lines to stderr, `2026-12-07T04:50:00.123Z ERROR gyre: message` (UTC, as Spin's). The
// same line repeated within `repeat_window` is written once, then "Skipped N duplicate
// messages" (spdlog's dup_filter_sink): an error a peer can cause on every request
// cannot flood the log or the disk.
Logger make_stderr_logger(std::string name,
                          std::chrono::milliseconds repeat_window = std::chrono::seconds(5));

// Drops every line: the default where a caller gave no logger.
Logger null_logger();

}  // namespace gyre
