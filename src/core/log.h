// Leveled logging to stderr. The level is process-wide (set once by the CLI from --log-level or
// SWALLOW_LOG); log_* functions are thread-safe and write whole lines.
#pragma once

#include <string>
#include <string_view>

namespace swallow {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "debug|info|warn|error|off"; throws swallow::Error on anything else.
LogLevel parse_log_level(std::string_view name);

void log_line(LogLevel level, std::string_view message);
inline void log_debug(std::string_view m) { log_line(LogLevel::kDebug, m); }
inline void log_info(std::string_view m) { log_line(LogLevel::kInfo, m); }
inline void log_warn(std::string_view m) { log_line(LogLevel::kWarn, m); }
inline void log_error(std::string_view m) { log_line(LogLevel::kError, m); }

}  // namespace swallow
