#include "manager/database.h"

#include <fmt/format.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <ctime>

#include "core/file_io.h"

namespace airlock::manager {
namespace {

Error sqlite_error(sqlite3* db, std::string_view what) {
  const int code = sqlite3_extended_errcode(db);
  std::string message = fmt::format("{}: {}", what, sqlite3_errmsg(db));
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) {
    return Error(ErrorCode::kUnavailable, message + " (another process holds the database lock; try again)");
  }
  if ((code & 0xff) == SQLITE_CONSTRAINT) return Error(ErrorCode::kAlreadyExists, message);
  if ((code & 0xff) == SQLITE_FULL) return Error(ErrorCode::kResourceExhausted, message);
  if ((code & 0xff) == SQLITE_NOTADB || (code & 0xff) == SQLITE_CORRUPT) return Error(ErrorCode::kCorrupt, message);
  return Error(ErrorCode::kIo, message);
}

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, std::string_view sql) : db_(db) {
    status_ = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Status bind(const std::vector<SqlValue>& params) {
    if (status_ != SQLITE_OK) return sqlite_error(db_, "preparing a statement");
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int index = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(params[i])) {
        rc = sqlite3_bind_null(stmt_, index);
      } else if (const auto* n = std::get_if<std::int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(stmt_, index, *n);
      } else if (const auto* d = std::get_if<double>(&params[i])) {
        rc = sqlite3_bind_double(stmt_, index, *d);
      } else {
        const auto& s = std::get<std::string>(params[i]);
        rc = sqlite3_bind_text(stmt_, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) return sqlite_error(db_, "binding a parameter");
    }
    return ok_status();
  }

  Result<std::vector<SqlRow>> run() {
    std::vector<SqlRow> rows;
    while (true) {
      const int rc = sqlite3_step(stmt_);
      if (rc == SQLITE_DONE) return rows;
      if (rc != SQLITE_ROW) return sqlite_error(db_, "running a statement");
      SqlRow row;
      const int columns = sqlite3_column_count(stmt_);
      row.values.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        switch (sqlite3_column_type(stmt_, c)) {
          case SQLITE_NULL:
            row.values.emplace_back(std::monostate{});
            break;
          case SQLITE_INTEGER:
            row.values.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(stmt_, c)));
            break;
          case SQLITE_FLOAT:
            row.values.emplace_back(sqlite3_column_double(stmt_, c));
            break;
          default: {
            const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
            const int size = sqlite3_column_bytes(stmt_, c);
            row.values.emplace_back(std::string(text ? text : "", static_cast<std::size_t>(size)));
          }
        }
      }
      rows.push_back(std::move(row));
    }
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int status_ = SQLITE_OK;
};

Result<std::vector<SqlRow>> run_statement(sqlite3* db, std::string_view sql, const std::vector<SqlValue>& params) {
  Statement statement(db, sql);
  AIRLOCK_TRY(statement.bind(params));
  return statement.run();
}

// Several statements without parameters (migrations).
Status exec_script(sqlite3* db, std::string_view sql) {
  const std::string text(sql);
  char* message = nullptr;
  if (sqlite3_exec(db, text.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string detail = message ? message : "unknown error";
    sqlite3_free(message);
    return Error(ErrorCode::kIo, detail);
  }
  return ok_status();
}

}  // namespace

std::int64_t SqlRow::integer(std::size_t i) const {
  const SqlValue& v = values.at(i);
  if (const auto* n = std::get_if<std::int64_t>(&v)) return *n;
  if (const auto* d = std::get_if<double>(&v)) return static_cast<std::int64_t>(*d);
  return 0;
}

double SqlRow::real(std::size_t i) const {
  const SqlValue& v = values.at(i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return static_cast<double>(*n);
  return 0;
}

std::string SqlRow::text(std::size_t i) const {
  const SqlValue& v = values.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* n = std::get_if<std::int64_t>(&v)) return std::to_string(*n);
  return "";
}

Status SqlSession::exec(std::string_view sql, const std::vector<SqlValue>& params) {
  AIRLOCK_TRY(run_statement(db_, sql, params));
  return ok_status();
}

Result<std::vector<SqlRow>> SqlSession::query(std::string_view sql, const std::vector<SqlValue>& params) {
  return run_statement(db_, sql, params);
}

Result<std::optional<SqlRow>> SqlSession::query_one(std::string_view sql, const std::vector<SqlValue>& params) {
  AIRLOCK_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, run_statement(db_, sql, params));
  if (rows.empty()) return std::optional<SqlRow>();
  return std::optional<SqlRow>(std::move(rows.front()));
}

std::int64_t SqlSession::changes() const { return sqlite3_changes64(db_); }

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path,
                                                 const std::vector<Migration>& migrations) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string message = fmt::format("opening the manager database {}: {}", path.string(),
                                      db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return io_error(message);
  }
  std::unique_ptr<Database> database(new Database(db, path));
  sqlite3_busy_timeout(db, 10'000);
  // WAL: readers do not block the writer; synchronous=FULL: a commit is on disk when it returns,
  // so neither kill -9 nor a power cut loses an acknowledged change.
  Status pragmas = exec_script(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
  if (!pragmas.ok()) {
    return Error(ErrorCode::kCorrupt, fmt::format("{} is not a usable SQLite database ({}); move it away or use "
                                                  "another --data-dir",
                                                  path.string(), pragmas.error().message()));
  }
  AIRLOCK_TRY(database->migrate(migrations));
  return database;
}

Database::~Database() { sqlite3_close(db_); }

Status Database::migrate(const std::vector<Migration>& migrations) {
  std::lock_guard<std::mutex> lock(mutex_);
  AIRLOCK_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, run_statement(db_, "PRAGMA user_version", {}));
  int version = rows.empty() ? 0 : static_cast<int>(rows.front().integer(0));
  const int latest = migrations.empty() ? 0 : migrations.back().version;
  if (version > latest) {
    return Error(ErrorCode::kUnsupported,
                 fmt::format("{} has schema version {}, newer than this airlock knows ({}): run a newer airlock, "
                             "or use another --data-dir",
                             path_.string(), version, latest));
  }
  for (const Migration& migration : migrations) {
    if (migration.version <= version) continue;
    AIRLOCK_TRY(exec_script(db_, "BEGIN IMMEDIATE"));
    Status step = exec_script(db_, migration.sql);
    if (step.ok()) step = exec_script(db_, fmt::format("PRAGMA user_version = {}", migration.version));
    if (step.ok()) step = exec_script(db_, "COMMIT");
    if (!step.ok()) {
      (void)exec_script(db_, "ROLLBACK");
      return Error(ErrorCode::kIo, fmt::format("migrating {} to schema {} ({}): {}", path_.string(), migration.version,
                                               migration.description, step.error().message()));
    }
    version = migration.version;
  }
  schema_version_ = version;
  return ok_status();
}

Status Database::transaction(const std::function<Status(SqlSession&)>& body) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) {
    return sqlite_error(db_, "starting a transaction");
  }
  SqlSession session(db_);
  Status status = body(session);
  if (!status.ok()) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Error error = sqlite_error(db_, "committing a transaction");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return error;
  }
  return ok_status();
}

Status Database::exec(std::string_view sql, const std::vector<SqlValue>& params) {
  std::lock_guard<std::mutex> lock(mutex_);
  AIRLOCK_TRY(run_statement(db_, sql, params));
  return ok_status();
}

Result<std::vector<SqlRow>> Database::query(std::string_view sql, const std::vector<SqlValue>& params) {
  std::lock_guard<std::mutex> lock(mutex_);
  return run_statement(db_, sql, params);
}

Result<std::optional<SqlRow>> Database::query_one(std::string_view sql, const std::vector<SqlValue>& params) {
  std::lock_guard<std::mutex> lock(mutex_);
  AIRLOCK_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, run_statement(db_, sql, params));
  if (rows.empty()) return std::optional<SqlRow>();
  return std::optional<SqlRow>(std::move(rows.front()));
}

const std::vector<Migration>& manager_migrations() {
  static const std::vector<Migration> migrations = {
      {1, "access keys, models, model keys, local instances", R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE access_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
  key_hash TEXT NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at TEXT
);
CREATE TABLE ai_models (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  image_url TEXT NOT NULL,
  model_profiles_path TEXT NOT NULL DEFAULT '',
  profile TEXT NOT NULL DEFAULT '',
  gpu_type TEXT NOT NULL DEFAULT '',
  gpu_count INTEGER NOT NULL DEFAULT 0,
  cpu TEXT NOT NULL,
  memory TEXT NOT NULL,
  replicas INTEGER NOT NULL DEFAULT 1,
  is_default INTEGER NOT NULL DEFAULT 0,
  status TEXT NOT NULL DEFAULT 'Unknown',
  status_message TEXT NOT NULL DEFAULT '',
  cache_json TEXT NOT NULL DEFAULT '{}',
  generation INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE model_api_keys (
  id TEXT PRIMARY KEY,
  model_id TEXT NOT NULL REFERENCES ai_models(id) ON DELETE CASCADE,
  key_hash TEXT NOT NULL UNIQUE,
  key_prefix TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX model_api_keys_by_model ON model_api_keys(model_id);
CREATE TABLE model_secrets (
  model_id TEXT PRIMARY KEY REFERENCES ai_models(id) ON DELETE CASCADE,
  upstream_key TEXT NOT NULL
);
CREATE TABLE local_instances (
  model_id TEXT NOT NULL,
  replica INTEGER NOT NULL,
  pid INTEGER NOT NULL,
  start_ticks INTEGER NOT NULL,
  port INTEGER NOT NULL,
  config_hash TEXT NOT NULL,
  started_at TEXT NOT NULL,
  PRIMARY KEY (model_id, replica)
);
)sql"},
  };
  return migrations;
}

Result<std::unique_ptr<Database>> open_manager_database(const std::filesystem::path& data_dir) {
  AIRLOCK_TRY(make_directories(data_dir));
  // State holds key hashes and the keys the manager hands its model processes: keep it private.
  ::chmod(data_dir.c_str(), 0700);
  return Database::open(data_dir / "manager.db", manager_migrations());
}

std::string now_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

}  // namespace airlock::manager
