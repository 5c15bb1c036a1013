#include "server/batch_scheduler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <future>

#include "engine/demo_model.h"
#include "testing.h"

namespace airlock::server {
namespace {

class BatchSchedulerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    ASSERT_TRUE(engine::write_demo_model(dir_->path()).ok());
    auto model = engine::Model::load(dir_->path());
    ASSERT_TRUE(model.ok()) << model.error().message();
    model_ = model->release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete dir_;
  }

  // Enough text to keep an executor busy for a while.
  static std::vector<std::string> heavy() {
    std::string text;
    for (int i = 0; i < 60; ++i) text += "the quick model reads a long passage about storage and networks ";
    return std::vector<std::string>(16, text);
  }

  static EmbedJob job(std::vector<std::string> texts, std::promise<Result<engine::Embeddings>>& done) {
    EmbedJob j;
    j.texts = std::move(texts);
    j.done = [&done](Result<engine::Embeddings> r) { done.set_value(std::move(r)); };
    return j;
  }

  static testing::TempDir* dir_;
  static engine::Model* model_;
};

testing::TempDir* BatchSchedulerTest::dir_ = nullptr;
engine::Model* BatchSchedulerTest::model_ = nullptr;

TEST_F(BatchSchedulerTest, MergesConcurrentRequestsAndKeepsEachAnswer) {
  SchedulerOptions options;
  options.executors = 1;
  std::atomic<std::size_t> largest{0};
  BatchScheduler scheduler(*model_, nullptr, options, [&](std::size_t requests, std::size_t, std::int64_t, double) {
    std::size_t seen = largest.load();
    while (requests > seen && !largest.compare_exchange_weak(seen, requests)) {
    }
  });
  std::promise<Result<engine::Embeddings>> first;
  ASSERT_EQ(scheduler.submit(job(heavy(), first), nullptr), Admission::kQueued);
  const std::vector<std::string> texts = {"hello from the air gap", "a b c", "storage", "one more sentence here", "x"};
  std::vector<std::promise<Result<engine::Embeddings>>> answers(texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ(scheduler.submit(job({texts[i]}, answers[i]), nullptr), Admission::kQueued);
  }
  ASSERT_TRUE(first.get_future().get().ok());
  for (std::size_t i = 0; i < texts.size(); ++i) {
    Result<engine::Embeddings> got = answers[i].get_future().get();
    ASSERT_TRUE(got.ok()) << got.error().message();
    auto alone = model_->embed(std::vector<std::string>{texts[i]});
    ASSERT_TRUE(alone.ok());
    ASSERT_EQ(got->rows, 1);
    ASSERT_EQ(got->values.size(), alone->values.size());
    for (std::size_t k = 0; k < got->values.size(); ++k) EXPECT_NEAR(got->values[k], alone->values[k], 1e-5);
    EXPECT_EQ(got->total_tokens, alone->total_tokens);
  }
  // The small requests waited behind the heavy one and ran together.
  EXPECT_GT(largest.load(), 1u);
}

TEST_F(BatchSchedulerTest, RefusesBeyondTheConcurrencyLimit) {
  SchedulerOptions options;
  options.executors = 1;
  options.max_concurrent_requests = 2;
  BatchScheduler scheduler(*model_, nullptr, options);
  std::promise<Result<engine::Embeddings>> a, b, c;
  ASSERT_EQ(scheduler.submit(job(heavy(), a), nullptr), Admission::kQueued);
  ASSERT_EQ(scheduler.submit(job(heavy(), b), nullptr), Admission::kQueued);
  EXPECT_EQ(scheduler.submit(job({"one too many"}, c), nullptr), Admission::kOverloaded);
  EXPECT_EQ(scheduler.gauges().rejected_requests, 1u);
  EXPECT_TRUE(a.get_future().get().ok());
  EXPECT_TRUE(b.get_future().get().ok());
}

TEST_F(BatchSchedulerTest, DropsRequestsWhoseClientLeft) {
  SchedulerOptions options;
  options.executors = 1;
  BatchScheduler scheduler(*model_, nullptr, options);
  std::promise<Result<engine::Embeddings>> busy;
  ASSERT_EQ(scheduler.submit(job(heavy(), busy), nullptr), Admission::kQueued);
  auto gone = std::make_shared<std::atomic<bool>>(false);
  bool called = false;
  EmbedJob left;
  left.texts = {"nobody will read this"};
  left.done = [&called](Result<engine::Embeddings>) { called = true; };
  ASSERT_EQ(scheduler.submit(std::move(left), gone), Admission::kQueued);
  gone->store(true);
  scheduler.wake();
  EXPECT_TRUE(busy.get_future().get().ok());
  scheduler.stop();
  EXPECT_FALSE(called);
  EXPECT_EQ(scheduler.gauges().dropped_requests, 1u);
}

TEST_F(BatchSchedulerTest, StopFinishesQueuedWorkThenRefuses) {
  SchedulerOptions options;
  options.executors = 2;
  BatchScheduler scheduler(*model_, nullptr, options);
  std::vector<std::promise<Result<engine::Embeddings>>> answers(6);
  for (auto& answer : answers) ASSERT_EQ(scheduler.submit(job({"queued before stop"}, answer), nullptr), Admission::kQueued);
  scheduler.stop();
  for (auto& answer : answers) EXPECT_TRUE(answer.get_future().get().ok());
  std::promise<Result<engine::Embeddings>> late;
  EXPECT_EQ(scheduler.submit(job({"late"}, late), nullptr), Admission::kStopping);
}

TEST_F(BatchSchedulerTest, OverLongInputFailsOnlyItsOwnRequest) {
  SchedulerOptions options;
  options.executors = 1;
  BatchScheduler scheduler(*model_, nullptr, options);
  std::promise<Result<engine::Embeddings>> busy, good, bad;
  ASSERT_EQ(scheduler.submit(job(heavy(), busy), nullptr), Admission::kQueued);
  EmbedJob strict = job({std::string(5000, 'a') + " " + std::string(3000, 'b')}, bad);
  std::string long_text;
  for (int i = 0; i < 400; ++i) long_text += "word ";
  strict.texts = {long_text};
  strict.options.truncate = engine::Truncate::kNone;
  EmbedJob fine = job({"short"}, good);
  fine.options.truncate = engine::Truncate::kNone;
  ASSERT_EQ(scheduler.submit(std::move(strict), nullptr), Admission::kQueued);
  ASSERT_EQ(scheduler.submit(std::move(fine), nullptr), Admission::kQueued);
  EXPECT_TRUE(busy.get_future().get().ok());
  auto failed = bad.get_future().get();
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message().find("exceeds maximum allowed token size"), std::string::npos);
  EXPECT_TRUE(good.get_future().get().ok());
}

}  // namespace
}  // namespace airlock::server
