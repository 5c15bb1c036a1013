// Database: the manager's state in one SQLite file under --data-dir, in WAL mode so that readers
// never wait for a writer and a committed change survives `kill -9`. The schema moves forward by
// numbered migrations (PRAGMA user_version), each applied in its own transaction, so a manager
// started on an older data directory upgrades it and a newer one is refused with a clear error.
//
// One connection per Database, serialised by a mutex: the manager's writes are small and rare,
// and SQLite itself serialises writers anyway. Other processes (the `manager access-key` CLI)
// open the same file at the same time; busy_timeout makes them wait for each other's locks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace airlock::manager {

// A bound parameter or a column value.
using SqlValue = std::variant<std::monostate, std::int64_t, double, std::string>;

// One result row; columns by index, in the SELECT's order.
struct SqlRow {
  std::vector<SqlValue> values;

  bool is_null(std::size_t i) const { return std::holds_alternative<std::monostate>(values.at(i)); }
  std::int64_t integer(std::size_t i) const;
  double real(std::size_t i) const;
  // "" for NULL.
  std::string text(std::size_t i) const;
};

class Database;

// What a transaction body sees: statements on the locked connection.
class SqlSession {
 public:
  Status exec(std::string_view sql, const std::vector<SqlValue>& params = {});
  Result<std::vector<SqlRow>> query(std::string_view sql, const std::vector<SqlValue>& params = {});
  // The first row, or nullopt.
  Result<std::optional<SqlRow>> query_one(std::string_view sql, const std::vector<SqlValue>& params = {});
  // Rows changed by the last exec().
  std::int64_t changes() const;

 private:
  friend class Database;
  explicit SqlSession(sqlite3* db) : db_(db) {}
  sqlite3* db_;
};

// One schema step: SQL run once, in order, inside a transaction.
struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

class Database {
 public:
  // Opens (creating) `path`, turns on WAL, foreign keys and a busy timeout, and applies the
  // migrations not yet applied. Errors: the file is not a database, it was written by a newer
  // airlock (schema version above the last migration), a migration failed (rolled back).
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path,
                                                const std::vector<Migration>& migrations);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs `body` in a transaction (BEGIN IMMEDIATE: the write lock is taken up front, so two
  // writers never deadlock upgrading); commits when it returns ok, rolls back otherwise.
  Status transaction(const std::function<Status(SqlSession&)>& body);
  // A statement outside an explicit transaction (reads, single writes).
  Status exec(std::string_view sql, const std::vector<SqlValue>& params = {});
  Result<std::vector<SqlRow>> query(std::string_view sql, const std::vector<SqlValue>& params = {});
  Result<std::optional<SqlRow>> query_one(std::string_view sql, const std::vector<SqlValue>& params = {});

  int schema_version() const { return schema_version_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  Database(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  Status migrate(const std::vector<Migration>& migrations);

  sqlite3* db_;
  std::filesystem::path path_;
  int schema_version_ = 0;
  std::mutex mutex_;
};

// The manager's schema, oldest first.
const std::vector<Migration>& manager_migrations();

// Opens <data_dir>/manager.db with the manager's migrations (creating data_dir, mode 0700).
Result<std::unique_ptr<Database>> open_manager_database(const std::filesystem::path& data_dir);

// "2025-01-31T12:00:00.123Z" for now (UTC, milliseconds): how every timestamp is stored.
std::string now_timestamp();

}  // namespace airlock::manager
