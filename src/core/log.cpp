#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>

#include "core/json.h"
#include "core/redact.h"
#include "core/strings.h"

namespace airlock::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kText};
std::mutex g_write_mutex;

std::string_view level_name(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
    case Level::kOff: return "off";
  }
  return "info";
}

std::string utc_timestamp() {
  auto now = std::chrono::system_clock::now();
  auto seconds = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buffer, static_cast<int>(millis));
}

}  // namespace

void configure(Level level, Format format) {
  g_level.store(level);
  g_format.store(format);
}

Level level() { return g_level.load(); }
Format format() { return g_format.load(); }
bool enabled(Level level) { return level >= g_level.load() && level != Level::kOff; }

Result<Level> parse_level(std::string_view text) {
  std::string name = to_lower(text);
  if (name == "debug" || name == "trace") return Level::kDebug;
  if (name == "info") return Level::kInfo;
  if (name == "warn" || name == "warning") return Level::kWarn;
  if (name == "error") return Level::kError;
  if (name == "off" || name == "none") return Level::kOff;
  return invalid_argument(fmt::format("unknown log level '{}': use debug, info, warn, error or off", text));
}

Result<Format> parse_format(std::string_view text) {
  std::string name = to_lower(text);
  if (name == "text") return Format::kText;
  if (name == "json") return Format::kJson;
  return invalid_argument(fmt::format("unknown log format '{}': use text or json", text));
}

void write(Level level, std::string_view message) {
  std::string clean = redact(message);
  std::string line;
  if (g_format.load() == Format::kJson) {
    Json record;
    record["time"] = utc_timestamp();
    record["level"] = level_name(level);
    record["message"] = clean;
    line = dump_json(record);
  } else {
    // Plain lines keep the form NIM users grep for: "<time> <LEVEL> <message>".
    std::string name = std::string(level_name(level));
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    line = fmt::format("{} {:5} {}", utc_timestamp(), name, clean);
  }
  line += '\n';
  std::lock_guard lock(g_write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace airlock::log
