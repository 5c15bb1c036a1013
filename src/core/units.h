// Human units: what progress lines, summaries and flags show and accept.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace airlock {

// 1536 -> "1.5 KiB", 80 * 2^30 -> "80.0 GiB" (binary units, one decimal).
std::string format_bytes(std::uint64_t bytes);
// Bytes per second as "123.4 MB/s" (decimal, as transfer rates are usually quoted).
std::string format_rate(double bytes_per_second);
// 75 s -> "1m15s", 3725 s -> "1h02m05s", 2.5 s -> "2.5s".
std::string format_duration(std::chrono::duration<double> duration);
// "80GiB", "80 GB", "1.5T", "512" (bytes), "4k". Binary suffixes (KiB, Ki, K) are powers of
// 1024, decimal ones (kB, MB) powers of 1000; a bare K/M/G/T is binary.
Result<std::uint64_t> parse_bytes(std::string_view text);

}  // namespace airlock
