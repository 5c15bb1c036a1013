// The `airlock cache` operations on small caches built here: inventory, verify, prune, rm and
// the model-store copy.
#include <gtest/gtest.h>

#include <filesystem>

#include "cache/cache_cleanup.h"
#include "cache/cache_inventory.h"
#include "cache/cache_lock.h"
#include "cache/cache_verify.h"
#include "cache/hub_repo.h"
#include "cache/model_store.h"
#include "cache/profile_record.h"
#include "core/blake3.h"
#include "core/hash.h"
#include "testing.h"

namespace airlock::cache {
namespace {
namespace fs = std::filesystem;

class CacheOps : public ::testing::Test {
 protected:
  CacheOps() : layout_(dir_.path()) {}

  // Puts `content` into `repo` as snapshot file `file` and returns its record entry.
  RecordedFile put(const RepoId& repo, const std::string& snapshot, const std::string& file, const std::string& content,
                   const std::string& workspace_path, std::string blob = "") {
    if (blob.empty()) blob = sha256_hex(content);
    fs::path staged = dir_ / "staged";
    testing::write_text(staged, content);
    EXPECT_TRUE(install_blob(layout_, repo, staged, blob).ok());
    EXPECT_TRUE(link_snapshot_file(layout_, repo, snapshot, file, blob).ok());
    RecordedFile recorded;
    recorded.path = workspace_path;
    recorded.uri = "test://" + file;
    recorded.repo = repo;
    recorded.snapshot = snapshot;
    recorded.file = file;
    recorded.blob = blob;
    recorded.size = content.size();
    recorded.sha256 = sha256_hex(content);
    return recorded;
  }

  void record(const std::string& id, std::vector<RecordedFile> files) {
    ProfileRecord r;
    r.id = id;
    r.description = "test-" + id;
    r.files = std::move(files);
    ASSERT_TRUE(write_profile_record(layout_, r).ok());
  }

  // Two profiles sharing a Hugging Face config, each with its own NGC engine.
  void build() {
    std::string commit(40, 'a');
    auto config = put(hf_, commit, "config.json", "{\"hidden\": 8}", "config.json", git_blob_sha1_hex("{\"hidden\": 8}"));
    ASSERT_TRUE(write_ref(layout_, hf_, "main", commit).ok());
    auto weights = put(hf_, commit, "model.safetensors", std::string(5000, 'w'), "model.safetensors");
    std::string engine_a = "engine A bytes";
    std::string sums = blake3_hex(engine_a) + "  rank0.engine\n";
    auto sums_file = put(ngc_, "1.0+a", "checksums.blake3", sums, "trtllm_engine/checksums.blake3", "0355b8d0421a12e6aeb6a2e9ef42ae60");
    auto rank0 = put(ngc_, "1.0+a", "rank0.engine", engine_a, "trtllm_engine/rank0.engine", "3e710a79e58ddecbe63a8dffa7464658-3");
    rank0.blake3 = blake3_hex(engine_a);
    auto other = put(ngc_, "1.0+b", "rank0.engine", "engine B bytes", "trtllm_engine/rank0.engine", "b886348a7506a562c510ab622d73a865");
    record("aaaa", {config, weights, sums_file, rank0});
    record("bbbb", {config, weights, other});
  }

  testing::TempDir dir_;
  CacheLayout layout_;
  RepoId hf_{Hub::kHuggingFace, "org/name"};
  RepoId ngc_{Hub::kNgc, "nim/team/model"};
  ProgressOptions quiet_{.style = ProgressStyle::kQuiet};
};

TEST_F(CacheOps, InventoryListsReposRevisionsRefsAndProfiles) {
  build();
  auto inventory = scan_cache(layout_);
  ASSERT_TRUE(inventory.ok()) << inventory.error().message();
  ASSERT_EQ(inventory->repos.size(), 2u);
  const RepoInfo& ngc = inventory->repos[0];
  EXPECT_EQ(ngc.repo, ngc_);
  EXPECT_EQ(ngc.revisions.size(), 2u);
  EXPECT_EQ(ngc.blobs, 3u);
  const RepoInfo& hf = inventory->repos[1];
  ASSERT_EQ(hf.revisions.size(), 1u);
  EXPECT_EQ(hf.revisions[0].refs, std::vector<std::string>{"main"});
  EXPECT_EQ(hf.size, 5000u + 13u);
  EXPECT_EQ(hf.profiles, (std::vector<std::string>{"aaaa", "bbbb"}));
  EXPECT_TRUE(hf.warnings.empty());
  EXPECT_EQ(inventory->profiles.size(), 2u);
  std::string table = render_inventory(*inventory, true);
  EXPECT_NE(table.find("hf:org/name"), std::string::npos) << table;
  EXPECT_NE(table.find("@1.0+a"), std::string::npos) << table;
  EXPECT_NE(render_disk_usage(*inventory).find("total"), std::string::npos);
  EXPECT_EQ(inventory_to_json(*inventory)["repos"].size(), 2u);
}

TEST_F(CacheOps, VerifyFindsCorruptAndMissingFiles) {
  build();
  VerifyOptions options;
  options.progress = quiet_;
  auto clean = verify_cache(layout_, options);
  ASSERT_TRUE(clean.ok()) << clean.error().message();
  EXPECT_TRUE(clean->clean()) << render_verify_report(*clean);
  EXPECT_GT(clean->ok, 8u);

  // Flip a byte of the NGC engine: the record's sha256 and checksums.blake3 both catch it.
  fs::path engine = layout_.blob_path(ngc_, "3e710a79e58ddecbe63a8dffa7464658-3");
  testing::write_text(engine, "engine A bytez");
  fs::remove(layout_.blob_path(hf_, sha256_hex(std::string(5000, 'w'))));
  auto broken = verify_cache(layout_, options);
  ASSERT_TRUE(broken.ok());
  EXPECT_FALSE(broken->clean());
  EXPECT_EQ(broken->corrupt, 2u) << render_verify_report(*broken);
  EXPECT_GE(broken->missing, 3u) << render_verify_report(*broken);  // two records + the dangling link
  std::string text = render_verify_report(*broken);
  EXPECT_NE(text.find("BLAKE3"), std::string::npos) << text;
  EXPECT_NE(text.find("NOT intact"), std::string::npos) << text;

  options.profile = "bbbb";
  auto only_b = verify_cache(layout_, options);
  ASSERT_TRUE(only_b.ok());
  EXPECT_EQ(only_b->corrupt, 0u);
  EXPECT_EQ(only_b->missing, 1u);
}

TEST_F(CacheOps, VerifyChecksHuggingFaceBlobNamesWithoutRecords) {
  std::string commit(40, 'f');
  put(hf_, commit, "tokenizer.json", "tok", "tokenizer.json", git_blob_sha1_hex("tok"));
  VerifyOptions options;
  options.progress = quiet_;
  ASSERT_TRUE(verify_cache(layout_, options)->clean());
  testing::write_text(layout_.blob_path(hf_, git_blob_sha1_hex("tok")), "tak");
  auto report = verify_cache(layout_, options);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->corrupt, 1u) << render_verify_report(*report);
}

TEST_F(CacheOps, PruneRemovesOnlyUnreferencedBlobsAfterADryRun) {
  build();
  testing::write_text(dir_ / "stray", "stray");
  ASSERT_TRUE(install_blob(layout_, hf_, dir_ / "stray", sha256_hex("stray")).ok());
  testing::write_text(layout_.incomplete_path(hf_, "deadbeef"), "partial");
  auto plan = plan_prune(layout_, {});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->items.size(), 1u);
  EXPECT_EQ(plan->items[0].path, layout_.blob_path(hf_, sha256_hex("stray")));
  EXPECT_TRUE(fs::exists(plan->items[0].path));  // planning removes nothing
  EXPECT_NE(render_cleanup_plan(layout_, *plan, false).find("dry run"), std::string::npos);
  ASSERT_TRUE(apply_cleanup(layout_, *plan).ok());
  EXPECT_FALSE(fs::exists(layout_.blob_path(hf_, sha256_hex("stray"))));
  EXPECT_TRUE(fs::exists(layout_.incomplete_path(hf_, "deadbeef")));
  auto with_partial = plan_prune(layout_, {.partial = true});
  ASSERT_TRUE(with_partial.ok());
  EXPECT_EQ(with_partial->items.size(), 1u);

  VerifyOptions options;
  options.progress = quiet_;
  EXPECT_TRUE(verify_cache(layout_, options)->clean());
}

TEST_F(CacheOps, PruneWaitsForRunningDownloads) {
  build();
  auto plan = plan_prune(layout_, {});
  ASSERT_TRUE(plan.ok());
  auto held = CacheUseLock::shared(layout_);
  ASSERT_TRUE(held.ok());
  auto refused = apply_cleanup(layout_, *plan);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::kUnavailable);
}

TEST_F(CacheOps, RemovingAProfileKeepsWhatOthersUse) {
  build();
  auto plan = plan_remove(layout_, {"aaaa"});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->records, std::vector<std::string>{"aaaa"});
  ASSERT_TRUE(apply_cleanup(layout_, *plan).ok());
  EXPECT_FALSE(fs::exists(layout_.profile_record_path("aaaa")));
  EXPECT_FALSE(fs::exists(layout_.snapshot_dir(ngc_, "1.0+a")));
  EXPECT_FALSE(fs::exists(layout_.blob_path(ngc_, "3e710a79e58ddecbe63a8dffa7464658-3")));
  EXPECT_TRUE(fs::exists(layout_.snapshot_dir(hf_, std::string(40, 'a')) / "config.json"));
  VerifyOptions options;
  options.progress = quiet_;
  auto report = verify_cache(layout_, options);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->clean()) << render_verify_report(*report);

  auto repo_plan = plan_remove(layout_, {"hf:org/name"});
  ASSERT_TRUE(repo_plan.ok());
  EXPECT_EQ(repo_plan->records, std::vector<std::string>{"bbbb"});  // it needed that repo
  ASSERT_TRUE(apply_cleanup(layout_, *repo_plan).ok());
  EXPECT_FALSE(fs::exists(layout_.repo_dir(hf_)));
  EXPECT_FALSE(plan_remove(layout_, {"nothing-here"}).ok());
  EXPECT_FALSE(plan_remove(layout_, {"hf:org/absent"}).ok());
}

TEST_F(CacheOps, RemovingARevisionTakesItsRefsAndRecords) {
  build();
  auto plan = plan_remove(layout_, {"hf:org/name@main"});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(plan->records.size(), 2u);
  ASSERT_TRUE(apply_cleanup(layout_, *plan).ok());
  EXPECT_FALSE(fs::exists(layout_.ref_path(hf_, "main")));
  EXPECT_FALSE(fs::exists(layout_.snapshot_dir(hf_, std::string(40, 'a'))));
  EXPECT_TRUE(fs::is_empty(layout_.blobs_dir(hf_)));
}

TEST_F(CacheOps, ModelStoreIsAFlatCheckedCopy) {
  build();
  auto record = read_profile_record(layout_, "aaaa");
  ASSERT_TRUE(record.ok());
  fs::path store = dir_ / "store";
  auto result = create_model_store(layout_, *record, store, quiet_);
  ASSERT_TRUE(result.ok()) << result.error().message();
  EXPECT_EQ(result->files, 4u);
  EXPECT_FALSE(fs::is_symlink(store / "trtllm_engine" / "rank0.engine"));
  EXPECT_EQ(testing::read_text(store / "trtllm_engine" / "rank0.engine"), "engine A bytes");
  EXPECT_EQ(testing::read_text(store / "model.safetensors"), std::string(5000, 'w'));
  auto again = create_model_store(layout_, *record, store, quiet_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->unchanged, 4u);

  testing::write_text(layout_.blob_path(ngc_, "3e710a79e58ddecbe63a8dffa7464658-3"), "engine A bytez");
  fs::remove(store / "trtllm_engine" / "rank0.engine");
  auto corrupt = create_model_store(layout_, *record, store, quiet_);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_EQ(corrupt.error().code(), ErrorCode::kCorrupt);
  EXPECT_FALSE(fs::exists(store / "trtllm_engine" / "rank0.engine"));  // never under its final name
}

}  // namespace
}  // namespace airlock::cache
