#include "core/progress.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <string>

namespace airlock {
namespace {

std::string read_stream(std::FILE* stream) {
  std::rewind(stream);
  std::string out;
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, stream)) > 0) out.append(buffer, n);
  return out;
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  std::FILE* stream = std::tmpfile();
  {
    ProgressOptions options;
    options.stream = stream;
    options.line_interval = std::chrono::milliseconds(20);
    Progress progress("Downloading", 1000, 4, options);
    progress.add_bytes(500);
    progress.add_items(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    progress.add_bytes(500);
    progress.add_items(2);
    progress.finish();
  }
  std::string out = read_stream(stream);
  std::fclose(stream);
  EXPECT_EQ(out.find('\r'), std::string::npos) << "no terminal control in plain mode";
  EXPECT_NE(out.find("Downloading"), std::string::npos);
  EXPECT_NE(out.find("100%"), std::string::npos) << out;
  EXPECT_NE(out.find("4/4 files"), std::string::npos) << out;
  EXPECT_GE(std::count(out.begin(), out.end(), '\n'), 2) << "periodic lines plus a final one";
}

TEST(Progress, BarHasRateAndEta) {
  ProgressOptions options;
  options.style = ProgressStyle::kQuiet;
  Progress progress("Pushing", 4000, 0, options);
  progress.add_bytes(1000);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::string bar = progress.render_line(true);
  EXPECT_NE(bar.find("[#######"), std::string::npos) << bar;
  EXPECT_NE(bar.find("25%"), std::string::npos) << bar;
  EXPECT_NE(bar.find("/s"), std::string::npos) << bar;
  EXPECT_NE(bar.find("ETA"), std::string::npos) << bar;
}

TEST(Progress, QuietPrintsNothing) {
  std::FILE* stream = std::tmpfile();
  {
    ProgressOptions options;
    options.stream = stream;
    options.style = ProgressStyle::kQuiet;
    Progress progress("x", 10, 0, options);
    progress.add_bytes(10);
  }
  EXPECT_EQ(read_stream(stream), "");
  std::fclose(stream);
}

}  // namespace
}  // namespace airlock
