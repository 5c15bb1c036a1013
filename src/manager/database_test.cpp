#include "manager/database.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <thread>

#include "manager/access_keys.h"
#include "manager/default_models.h"
#include "manager/model_registry.h"

namespace airlock::manager {
namespace {

namespace fs = std::filesystem;

class TempDirectory {
 public:
  TempDirectory() {
    path_ = fs::temp_directory_path() / ("airlock-manager-test-" + std::to_string(::getpid()) + "-" +
                                          std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDirectory() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

TEST(Database, MigratesInWalModeAndRefusesANewerSchema) {
  TempDirectory dir;
  {
    auto db = open_manager_database(dir.path());
    ASSERT_TRUE(db.ok()) << db.error().message();
    EXPECT_EQ((*db)->schema_version(), manager_migrations().back().version);
    auto mode = (*db)->query_one("PRAGMA journal_mode");
    ASSERT_TRUE(mode.ok());
    EXPECT_EQ((*mode)->text(0), "wal");
    ASSERT_TRUE((*db)->exec("PRAGMA user_version = 99").ok());
  }
  auto again = open_manager_database(dir.path());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message().find("newer than this airlock knows"), std::string::npos);
}

TEST(Database, AFailedMigrationLeavesNothingHalfDone) {
  TempDirectory dir;
  std::vector<Migration> migrations = {{1, "one", "CREATE TABLE a (x INTEGER);"},
                                       {2, "two", "CREATE TABLE b (y INTEGER); THIS IS NOT SQL;"}};
  auto db = Database::open(dir.path() / "m.db", migrations);
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message().find("schema 2"), std::string::npos);
  auto reopened = Database::open(dir.path() / "m.db", {migrations[0]});
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ((*reopened)->schema_version(), 1);
  EXPECT_FALSE((*reopened)->query("SELECT * FROM b").ok());  // rolled back with its migration
}

TEST(Database, NotADatabaseIsAClearError) {
  TempDirectory dir;
  std::FILE* f = std::fopen((dir.path() / "manager.db").c_str(), "w");
  std::fputs("this is a text file, not SQLite, and it is long enough to have a header page........................",
             f);
  std::fclose(f);
  auto db = open_manager_database(dir.path());
  ASSERT_FALSE(db.ok());
  EXPECT_NE(db.error().message().find("manager.db"), std::string::npos) << db.error().message();
}

TEST(AccessKeys, ShownOnceStoredAsHashRevocable) {
  TempDirectory dir;
  auto db = open_manager_database(dir.path()).value();
  AccessKeys keys(*db);
  auto created = keys.create("ci pipeline", AccessRole::kViewer);
  ASSERT_TRUE(created.ok()) << created.error().message();
  EXPECT_TRUE(created->key.starts_with("alk_"));
  EXPECT_EQ(created->key.size(), 4u + 48u);
  // The database never holds the key itself.
  auto rows = db->query("SELECT * FROM access_keys");
  ASSERT_TRUE(rows.ok());
  for (const SqlRow& row : *rows) {
    for (std::size_t i = 0; i < row.values.size(); ++i) EXPECT_EQ(row.text(i).find(created->key), std::string::npos);
  }
  auto who = keys.authenticate(created->key);
  ASSERT_TRUE(who.ok());
  EXPECT_EQ(who->name, "ci pipeline");
  EXPECT_EQ(who->role, AccessRole::kViewer);
  EXPECT_EQ(keys.authenticate(created->key + "x").error().code(), ErrorCode::kUnauthenticated);
  EXPECT_EQ(keys.authenticate("").error().code(), ErrorCode::kUnauthenticated);

  // Revoke by the prefix a listing shows.
  auto revoked = keys.revoke(created->record.key_prefix);
  ASSERT_TRUE(revoked.ok()) << revoked.error().message();
  EXPECT_EQ(keys.authenticate(created->key).error().code(), ErrorCode::kUnauthenticated);
  auto twice = keys.revoke(created->record.id);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message().find("already revoked"), std::string::npos);
  EXPECT_EQ(keys.revoke("ak_nope").error().code(), ErrorCode::kNotFound);
  EXPECT_FALSE(keys.create("", AccessRole::kAdmin).ok());
  EXPECT_FALSE(keys.any_valid().value());
}

TEST(ModelRegistry, CrudNamesKeysAndSeedingOnce) {
  TempDirectory dir;
  auto db = open_manager_database(dir.path()).value();
  ModelRegistry models(*db);
  ASSERT_EQ(models.seed_defaults(default_models("airlock:1")).value(), 7);
  EXPECT_EQ(models.seed_defaults(default_models("airlock:1")).value(), 0);
  auto all = models.list().value();
  ASSERT_EQ(all.size(), 7u);
  ModelFilter llm;
  llm.kind = ModelKind::kLlm;
  ASSERT_EQ(models.list(llm).value().size(), 1u);
  EXPECT_EQ(models.list(llm).value()[0].image_url, "nvcr.io/nim/nvidia/llama-3.3-nemotron-super-49b-v1:1.8.5");

  // A deleted default stays deleted when the manager starts again.
  ASSERT_TRUE(models.remove(all[0].id).ok());
  EXPECT_EQ(models.seed_defaults(default_models("airlock:1")).value(), 0);
  EXPECT_EQ(models.list().value().size(), 6u);

  AiModel model;
  model.name = "bge.small";
  model.image_url = "airlock:1";
  model.model_profiles_path = "file:///srv/x";
  auto created = models.create(model);
  ASSERT_TRUE(created.ok()) << created.error().message();
  EXPECT_EQ(created->model.status, ModelStatus::kPending);
  EXPECT_EQ(models.model_for_key(created->key).value().value(), created->model.id);
  EXPECT_FALSE(models.model_for_key("amk_wrong").value().has_value());
  EXPECT_EQ(models.find("bge.small").value()->id, created->model.id);

  auto duplicate = models.create(model);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error().code(), ErrorCode::kAlreadyExists);
  model.name = "bge-small";  // the same Kubernetes name
  duplicate = models.create(model);
  ASSERT_FALSE(duplicate.ok());
  EXPECT_NE(duplicate.error().message().find("Kubernetes name"), std::string::npos);

  auto second = models.add_api_key(created->model.id);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(models.api_keys(created->model.id).value().size(), 2u);
  ASSERT_TRUE(models.revoke_api_key(created->model.id, created->api_key.id).ok());
  EXPECT_FALSE(models.model_for_key(created->key).value().has_value());
  EXPECT_TRUE(models.model_for_key(second->key).value().has_value());

  AiModel changed = models.find(created->model.id).value().value();
  changed.replicas = 0;
  auto updated = models.update(changed, true);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->generation, 2);
  EXPECT_EQ(updated->status, ModelStatus::kUnknown);
  CacheState cache;
  cache.files = 3;
  EXPECT_TRUE(models.set_status(created->model.id, ModelStatus::kReady, "ok", cache).value());
  EXPECT_FALSE(models.set_status(created->model.id, ModelStatus::kReady, "ok", cache).value());
  EXPECT_EQ(models.find(created->model.id).value()->cache.files, 3u);

  ASSERT_TRUE(models.remove(created->model.id).ok());
  EXPECT_EQ(models.remove(created->model.id).error().code(), ErrorCode::kNotFound);
  // Its keys went with it.
  EXPECT_FALSE(models.model_for_key(second->key).value().has_value());
}

TEST(ModelRegistry, ConcurrentWritersFromTwoConnectionsLoseNothing) {
  TempDirectory dir;
  auto first = open_manager_database(dir.path()).value();
  auto second = open_manager_database(dir.path()).value();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      ModelRegistry models(t % 2 == 0 ? *first : *second);
      for (int i = 0; i < 10; ++i) {
        AiModel model;
        model.name = "m-" + std::to_string(t) + "-" + std::to_string(i);
        model.image_url = "airlock:1";
        EXPECT_TRUE(models.create(model).ok());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ModelRegistry(*first).list().value().size(), 40u);
}

}  // namespace
}  // namespace airlock::manager
